"""Billing's parts of the coordinator console, registered from ``BillingConfig.ready``: the
case page's payment panel, and the queue's payment column and filter."""

from datetime import date
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from cases.admin import hooks
from cases.models import Case

from .admin import dollars
from .models import CaseBilling

PAYMENT_LABELS: dict[str, str] = {value: str(label) for value, label in CaseBilling.State.choices}


def _payment_panel(request: HttpRequest, case: Case) -> dict[str, Any]:
    billing = getattr(case, "billing", None)  # joined to the case (select_related below)
    if billing is None:
        return {"billing": None, "money": {}}
    fee = "not fixed yet" if billing.fee_cents is None else dollars(billing.fee_cents)
    return {
        "billing": billing,
        "money": {
            "fee": "no charge" if billing.fee_cents == 0 else fee,
            "paid": dollars(billing.paid_cents),
            "refunded": dollars(billing.refunded_cents),
        },
    }


def payment_text(case: Case, today: date | None = None) -> str:
    billing = getattr(case, "billing", None)
    return PAYMENT_LABELS.get(billing.state, billing.state) if billing is not None else "—"


class PaymentFilter(admin.SimpleListFilter):
    title = "payment status"
    parameter_name = "payment"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*CaseBilling.State.choices, ("none", "No billing yet")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        value = self.value()
        if value == "none":
            return queryset.filter(billing__isnull=True)
        if value:
            return queryset.filter(billing__state=value)
        return queryset


def register() -> None:
    hooks.case_panel(
        hooks.CasePanel(
            key="payment",
            order=40,
            template="admin/billing/_console_payment.html",
            context=_payment_panel,
            select_related=("billing",),
        )
    )
    hooks.queue_column(
        hooks.QueueColumn(
            key="payment",
            label="Payment",
            after="records_complete",
            cell=payment_text,
            select_related=("billing",),
            only=("billing__state",),
        )
    )
    hooks.queue_filter(hooks.QueueFilter(key="payment", after="clock", filter=PaymentFilter))
