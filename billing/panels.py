"""The money panels on the case page (``cases.panels``): the family's saved card or payment
due, and the receipts and insurance documents; registered by ``BillingConfig.ready``."""

from cases.access import may_do_now
from cases.panels import Panel, PanelRequest, Shown

from .documents import documents_for_user
from .models import CaseBilling


def _payment(panel: PanelRequest) -> Shown | None:
    billing = getattr(panel.case, "billing", None)
    # The family's: the table's "remove_card", the panel's button (and its pay link).
    if billing is None or not may_do_now(panel.user, panel.case, "remove_card"):
        return None
    if not (billing.payment_method_id or billing.state == CaseBilling.State.PAYMENT_NEEDED):
        return None
    return Shown({}, [("payment-section", "Payment")])


def _documents(panel: PanelRequest) -> Shown | None:
    documents = documents_for_user(panel.user, panel.case)
    if not documents:
        return None
    return Shown(
        {"documents": documents}, [("billing-documents", "Receipts and insurance documents")]
    )


PANELS = (
    Panel("payment", 800, "billing/_case_panel.html", _payment),
    Panel("billing-documents", 900, "billing/_documents_panel.html", _documents),
)
