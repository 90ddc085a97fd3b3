"""``{% pacs_status study %}``: a study's PACS status for the console's case page and the
specialist workspace ("queued", "sent 12/20", "failed: <the PACS's reason>")."""

from django import template

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
