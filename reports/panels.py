"""The delivered report's panel on the case page (``cases.panels``), registered by
``ReportsConfig.ready``."""

from typing import Any

from django.urls import reverse

from cases.models import Case
from cases.panels import Panel, PanelRequest, Shown

from . import services
from .models import Report


def case_report_panel(case: Case) -> dict[str, Any] | None:
    """The current delivered report of a case the page has already let the user see
    (cases.access), its addenda, and the link to read it; None before delivery."""
    readable = services.readable_reports(case)
    reports = [r for r in readable if r.kind == Report.Kind.REPORT]
    if not reports:
        return None
    return {
        "report": reports[-1],
        "url": reverse("report_read", args=[case.reference]),
        "addenda": [r for r in readable if r.kind == Report.Kind.ADDENDUM],
        "versions": len(reports),
    }


def _report(panel: PanelRequest) -> Shown | None:
    report = case_report_panel(panel.case)
    if report is None:
        return None
    return Shown(
        {"report_panel": report, "panel_ready": True}, [("report-panel", "The specialist's report")]
    )


PANELS = (Panel("report", 100, "reports/_case_report_panel.html", _report),)
