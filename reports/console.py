"""Reports' parts of the coordinator console, registered from ``ReportsConfig.ready``: the
case page's "Report" panel and its two buttons, reopening a delivered report for correction
and closing the case."""

from typing import Any

from django import forms
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef

from accounts.models import User
from cases.actions import allowed
from cases.admin import hooks
from cases.models import Case

from . import services
from .admin import follow_up_rows, report_panel
from .models import Report


class ReopenForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        label="What needs correcting",
        help_text="The specialist reads it; the family and the physician do not.",
    )


def _report_reopenable(case: Case) -> bool:
    """A delivered report and no correction already being written."""
    known = getattr(case, "console_report_reopenable", None)  # read with the case page's case
    if known is not None:
        return bool(known)
    reports = Report.objects.filter(case=case, kind=Report.Kind.REPORT)
    return (
        reports.filter(delivered_at__isnull=False).exists()
        and not reports.filter(delivered_at__isnull=True).exists()
    )


def _reopenable() -> dict[str, Any]:
    # ``_report_reopenable`` as a column of the case page's one query of the case.
    reports = Report.objects.filter(case=OuterRef("pk"), kind=Report.Kind.REPORT)
    delivered = Exists(reports.filter(delivered_at__isnull=False))
    drafting = Exists(reports.filter(delivered_at__isnull=True))
    return {
        "console_report_reopenable": ExpressionWrapper(
            delivered & ~drafting, output_field=BooleanField()
        )
    }


def _reopen_available(case: Case) -> bool:
    return allowed(case, "reopen_report") and _report_reopenable(case)


def _reopen(case: Case, by: User, data: dict[str, Any]) -> str:
    report = services.current_report(case)
    if report is None:
        raise services.ReportRefused("There is no delivered report to reopen.")
    draft = services.report_reopen(report=report, by=by, note=data["note"])
    return f"Reopened: the specialist is asked to write version {draft.version}."


def _close_available(case: Case) -> bool:
    return allowed(case, "close")


def _close(case: Case, by: User, data: dict[str, Any]) -> str:
    services.case_close(case=case, by=by)
    return "Case closed."


def register() -> None:
    hooks.case_panel(
        hooks.CasePanel(
            key="report",
            order=50,
            template="admin/reports/_console_report.html",
            context=lambda request, case: report_panel(case),
            annotations=follow_up_rows,
        )
    )
    hooks.case_move(
        hooks.Move(
            action="reopen_report",
            label="Reopen for correction…",
            available=_reopen_available,
            run=_reopen,
            form=ReopenForm,
            annotations=_reopenable,
        )
    )
    hooks.case_move(
        hooks.Move(action="close", label="Close case", available=_close_available, run=_close)
    )
