"""What the portal's case page shows about the report, without widening cases.views."""

from typing import Any

from django import template
from django.urls import reverse

from cases.models import Case

register = template.Library()


@register.simple_tag
def case_report_panel(case: Case) -> dict[str, Any] | None:
    """The current delivered report of a case the page has already let the user see
    (cases.access), its addenda, and the link to read it; None before delivery."""
    from reports import services
    from reports.models import Report

    readable = services.readable_reports(case)
    reports = [r for r in readable if r.kind == Report.Kind.REPORT]
    if not reports:
        return None
    current = reports[-1]
    return {
        "report": current,
        "url": reverse("report_read", args=[case.reference]),
        "addenda": [r for r in readable if r.kind == Report.Kind.ADDENDUM],
        "versions": len(reports),
    }
