"""Delivering a signed report: its PDF (made by ``reports.tasks.report_render``, once),
the emails to the family and the physician (a dedupe key per report and address, no
medical detail), who opened it, and the reminder to a physician who has not.
"""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import Role, User
from cases.clock import BusinessCalendar
from cases.lifecycle import case_transition, timeline_note
from cases.models import Case
from cases.notifications import case_email, family_addresses, physician_addresses
from core.pdf.render import render_pdf

from .common import S
from .models import SECTIONS, Report, ReportOpening

PHYSICIAN_REMINDER_BUSINESS_DAYS = 5


def report_context(report: Report, *, draft: bool = False) -> dict[str, Any]:
    """What the PDF template and the portal page show: one place for both."""
    case = report.case
    intake = getattr(case, "intake", None)
    return {
        "report": report,
        "case": case,
        "intake": intake,
        "sections": [
            {"name": name, "heading": heading, "audience": audience, "text": getattr(report, name)}
            for name, heading, audience, _required in SECTIONS
            if report.kind == Report.Kind.REPORT
            and (getattr(report, name).strip() or name != "clinical_trials")
        ],
        "answers": list(report.answers.order_by("position")),
        "hospital": {"name": settings.HOSPITAL_NAME, "address": settings.HOSPITAL_ADDRESS},
        "site_name": settings.SITE_NAME,
        "draft": draft,
        "previous": report.supersedes,
    }


def render_report_pdf(report: Report, *, draft: bool = False) -> bytes:
    context = report_context(report, draft=draft)
    return render_pdf(template="reports/report_pdf.html", context=context)


def _report_email_template(report: Report) -> str:
    if report.kind == Report.Kind.ADDENDUM:
        return "report_addendum"
    return "report_ready" if report.version == 1 else "report_updated"


def report_deliver(report: Report) -> Report:
    """Mark a rendered report delivered, move the case, tell family and physician (once)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("report_deliver runs inside the render's lock (transaction.atomic)")
    if report.delivered_at is not None or not report.pdf:
        return report
    case = Case.objects.lock(report.case)
    report.delivered_at = timezone.now()
    report.save(update_fields=["delivered_at"])
    if report.kind == Report.Kind.REPORT and report.version == 1:
        case_transition(case=case, to=S.DELIVERED, by=None, note="Report delivered.")
    else:
        timeline_note(case, None, f"{report.title} delivered.")
    template = _report_email_template(report)
    case_email(
        case, template, [*family_addresses(case), *physician_addresses(case)], f"report:{report.pk}"
    )
    return report


def readable_reports(case: Case) -> list[Report]:
    """Every delivered report, version and addendum of the case, oldest first."""
    return list(
        Report.objects.filter(case=case, delivered_at__isnull=False)
        .select_related("supersedes")
        .order_by("kind", "version")
    )


def current_report(case: Case) -> Report | None:
    """The latest delivered version of the report."""
    return (
        Report.objects.filter(case=case, kind=Report.Kind.REPORT, delivered_at__isnull=False)
        .order_by("-version")
        .first()
    )


def report_opened(report: Report, user: User) -> bool:
    """Note the first time each family member or physician opens a report. True if first."""
    if user.role not in (Role.FAMILY, Role.PHYSICIAN) or report.delivered_at is None:
        return False
    _opening, created = ReportOpening.objects.get_or_create(
        report=report, user=user, defaults={"role": user.role}
    )
    if created:
        who = "The physician" if user.role == Role.PHYSICIAN else "The family"
        timeline_note(report.case, user, f"{who} ({user.email}) first opened {report.title}.")
    return created


def physician_reminders_send(now: datetime | None = None) -> int:
    """One reminder to the physician(s) of a report nobody on the physician side has opened
    5 business days after delivery. Safe when two sweeps run: the claim is a conditional
    update, and each email has a dedupe key."""
    now = now or timezone.now()
    calendar = BusinessCalendar.from_db()
    opened = ReportOpening.objects.filter(
        report__case=OuterRef("case"), report__kind=Report.Kind.REPORT, role=Role.PHYSICIAN
    )
    candidates = (
        Report.objects.filter(
            kind=Report.Kind.REPORT,
            delivered_at__isnull=False,
            delivered_at__lt=now - timedelta(days=5),  # cheap prefilter; the calendar decides
            physician_reminded_at__isnull=True,
            superseded_by__isnull=True,
            case__status__in=[S.DELIVERED, S.CLOSED],
        )
        .exclude(Exists(opened))
        .select_related("case")
    )
    sent = 0
    for report in candidates.iterator():
        if report.delivered_at is None:  # excluded by the query; says so to the type checker
            continue
        if calendar.business_days_between(report.delivered_at, now) < (
            PHYSICIAN_REMINDER_BUSINESS_DAYS
        ):
            continue
        addresses = physician_addresses(report.case)
        with transaction.atomic():
            claimed = Report.objects.filter(
                pk=report.pk, physician_reminded_at__isnull=True
            ).update(physician_reminded_at=now)
            if claimed != 1 or not addresses:
                continue
            case_email(report.case, "report_reminder", addresses, f"report-reminder:{report.pk}")
            timeline_note(report.case, None, "The physician was reminded to read the report.")
        sent += 1
    return sent
