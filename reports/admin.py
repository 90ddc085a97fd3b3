"""Reports in the coordinator console: the "Report" panel of the case page, and read-only
lists of reports and follow-up questions.

Status and content are never edited here: reopening and closing are buttons on the case page
(registered by ``reports.console``) that call ``reports.services``. The report's text is read in the
portal page (``reports.portal_views``), which writes the audit row, so these lists show what
happened to each report, not what it says.
"""

from typing import Any

from django.contrib import admin
from django.db.models import OuterRef
from django.urls import reverse

from accounts.models import Role
from cases.admin.base import AuditedAdmin, ReadOnlyAdmin
from cases.admin.rows import folded, unfold
from cases.models import Case

from .models import FollowUpQuestion, Report, ReportOpening


def report_state(report: Report) -> str:
    if not report.is_signed:
        return "Draft"
    if report.delivered_at is not None:
        return "Delivered"
    if report.pdf:
        return "Rendered, not delivered yet"
    if report.render_error:
        return f"Render error ({report.render_error}, {report.render_attempts} attempt(s))"
    return "Signed, PDF being made"


def report_panel(case: Case) -> dict[str, Any]:
    """Every report, version and addendum of the case with who first opened each, and the
    follow-up questions: what the coordinator needs to chase a reader or close the case.

    One query: the reports, with their openings folded in (``cases.admin.rows``); the
    follow-up questions came with the case (``follow_up_rows``)."""
    openings = folded(
        "console_openings",
        ReportOpening.objects.filter(report=OuterRef("pk")).order_by("first_opened_at", "pk"),
        "id",
        "report_id",
        "user_id",
        "role",
        "first_opened_at",
        "user__id",
        "user__full_name",
        "user__email",
    )
    reports = (
        Report.objects.filter(case=case)
        .select_related("superseded_by", "reopened_by")
        .annotate(**openings)
        .order_by("kind", "version")
    )
    if not openings:
        reports = reports.prefetch_related("openings__user")
    rows = []
    for report in reports:
        opened = unfold(report, "console_openings", ReportOpening, report.openings.all)
        opened_roles = {opening.role for opening in opened}
        delivered = report.delivered_at is not None
        rows.append(
            {
                "report": report,
                "state": report_state(report),
                "replaced_by": getattr(report, "superseded_by", None),
                "openings": opened,
                "family_unopened": delivered and Role.FAMILY not in opened_roles,
                "physician_unopened": delivered and Role.PHYSICIAN not in opened_roles,
                "read_url": reverse("report_version", args=[case.reference, report.uid])
                if delivered
                else "",
                "pdf_url": reverse("report_pdf", args=[case.reference, report.uid])
                if delivered
                else "",
            }
        )
    follow_ups = unfold(
        case,
        "console_follow_ups",
        FollowUpQuestion,
        FollowUpQuestion.objects.filter(case=case).select_related("asked_by", "answered_in").all,
    )
    return {"rows": rows, "follow_ups": follow_ups}


def follow_up_rows() -> dict[str, Any]:
    """The case's follow-up questions, read with the case (``report_panel`` shows them)."""
    return folded(
        "console_follow_ups",
        FollowUpQuestion.objects.filter(case=OuterRef("pk")).order_by("position"),
        "id",
        "case_id",
        "position",
        "text",
        "asked_by_id",
        "asked_at",
        "answered_in_id",
        "asked_by__id",
        "asked_by__full_name",
        "asked_by__email",
        "asked_by__role",
        "answered_in__id",
        "answered_in__kind",
        "answered_in__version",
    )


@admin.register(Report)
class ReportAdmin(AuditedAdmin, ReadOnlyAdmin):
    audit_object_type = "report"
    list_display = [
        "case",
        "kind",
        "version",
        "author",
        "signed_at",
        "rendered_at",
        "delivered_at",
        "physician_reminded_at",
        "render_error",
    ]
    list_filter = ["kind"]
    list_select_related = ["case", "author"]
    search_fields = ["=case__reference"]
    show_full_result_count = False
    # Metadata only: no section text and no file link (the PDF goes through the portal's
    # gated, audited download).
    fields = readonly_fields = (
        "uid",
        "case",
        "kind",
        "version",
        "supersedes",
        "reopened_by",
        "reopen_note",
        "amendment_reason",
        "author",
        "signed_at",
        "signed_name",
        "signed_credentials",
        "signed_method",
        "content_sha256",
        "pdf_sha256",
        "pdf_size",
        "rendered_at",
        "render_attempts",
        "render_error",
        "delivered_at",
        "physician_reminded_at",
    )


@admin.register(FollowUpQuestion)
class FollowUpQuestionAdmin(AuditedAdmin, ReadOnlyAdmin):
    audit_object_type = "follow_up"
    list_display = ["case", "position", "asked_by", "asked_at", "answered_in"]
    list_select_related = ["case", "asked_by", "answered_in"]
    search_fields = ["=case__reference"]
    show_full_result_count = False


@admin.register(ReportOpening)
class ReportOpeningAdmin(AuditedAdmin, ReadOnlyAdmin):
    audit_object_type = "report_opening"
    audit_case_path = "report.case"
    list_display = ["report", "user", "role", "first_opened_at"]
    list_select_related = ["report__case", "user"]
    search_fields = ["=report__case__reference", "=user__email"]
    show_full_result_count = False
