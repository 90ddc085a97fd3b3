"""``{% pacs_status study %}``: a study's PACS status for the console's case page and the
specialist workspace ("queued", "sent 12/20", "failed: <the PACS's reason>")."""

from typing import Any

from django import template

from cases.models import Case
from imaging.studies import case_studies
from pacs.models import PacsTransfer
from pacs.stow import pacs_configured

register = template.Library()


@register.simple_tag
def pacs_status(study: object) -> str:
    if not pacs_configured():
        return ""
    # A prefetched or select_related transfer avoids a query per study.
    try:
        transfer = study.pacs_transfer  # type: ignore[attr-defined]
    except PacsTransfer.DoesNotExist:
        return "not sent"
    return str(transfer.status_label)


@register.inclusion_tag("pacs/case_panel.html")
def pacs_case_panel(case: Case, *, console: bool = False) -> dict[str, Any]:
    """The case's studies and where each stands with the PACS: the console's case page (with
    the Send button) and the specialist's workspace (status only). The studies with their
    transfers, read once with the study links' (imaging.studies), in the order they came."""
    studies = sorted(case_studies(case), key=lambda study: study.pk)
    return {
        "studies": studies,
        "configured": pacs_configured(),
        "console": console,
    }
