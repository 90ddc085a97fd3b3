"""The report's life as views, the console, the template tags and tests call it: one import
for the report services, whose code lives by concept in ``drafting`` (drafts, autosave,
reopening for a correction), ``signing``, ``delivery`` (the PDF, the emails, who opened it,
the physician's reminder) and ``followups`` (follow-up questions, closing the case). Kept
because those callers use them together; code inside ``reports`` imports the concept
modules themselves.

Emails carry no medical detail (``templates/emails``); task arguments are ids.
"""

from .common import ReportRefused
from .delivery import (
    current_report,
    physician_reminders_send,
    readable_reports,
    render_report_pdf,
    report_context,
    report_deliver,
    report_opened,
)
from .drafting import (
    DraftConflict,
    DraftPartlySaved,
    addendum_draft_for,
    draft_save,
    open_draft,
    records_reviewed_default,
    report_draft_for,
    report_problem_fields,
    report_problems,
    report_reopen,
)
from .followups import case_close, follow_up_ask, follow_up_deadline, follow_up_open
from .signing import ReauthFailed, content_digest, report_sign, signer_details

__all__ = [
    "DraftConflict",
    "DraftPartlySaved",
    "ReauthFailed",
    "ReportRefused",
    "addendum_draft_for",
    "case_close",
    "content_digest",
    "current_report",
    "draft_save",
    "follow_up_ask",
    "follow_up_deadline",
    "follow_up_open",
    "open_draft",
    "physician_reminders_send",
    "readable_reports",
    "records_reviewed_default",
    "render_report_pdf",
    "report_context",
    "report_deliver",
    "report_draft_for",
    "report_opened",
    "report_problem_fields",
    "report_problems",
    "report_reopen",
    "report_sign",
    "signer_details",
]
