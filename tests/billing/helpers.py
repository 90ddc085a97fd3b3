"""Billing states for a case, made directly in the database (the document tests, the access
matrix and the console use them; the charge flow itself is tested through localstripe)."""

import datetime
from typing import Any
from zoneinfo import ZoneInfo

from billing.models import CaseBilling, PaymentAttempt
from cases.models import Case

LA = ZoneInfo("America/Los_Angeles")
PAID_AT = datetime.datetime(2026, 3, 2, 10, 30, tzinfo=LA)


def make_paid(
    case: Case,
    *,
    state: str = CaseBilling.State.PAID,
    refunded_cents: int = 0,
    cpt: str = "99358",
    icd10: str = "Q21.1, I42.0",
) -> dict[str, Any]:
    """Make ``case`` paid by card ($875, Visa 4242). Returns no URL kwargs, so it can be an
    access-matrix ``kwargs`` callable."""
    CaseBilling.objects.update_or_create(
        case=case,
        defaults={
            "fee_cents": 87500,
            "fee_fixed_at": PAID_AT - datetime.timedelta(days=3),
            "state": state,
            "payment_method_id": "pm_card_visa",
            "card_brand": "visa",
            "card_last4": "4242",
            "paid_cents": 87500,
            "refunded_cents": refunded_cents,
            "paid_at": PAID_AT,
            "cpt_codes": cpt,
            "icd10_codes": icd10,
        },
    )
    PaymentAttempt.objects.create(
        case=case,
        number=1,
        idempotency_key=f"charge-{case.reference}-1",
        payment_intent_id=f"pi_{case.reference}",
        amount_cents=87500,
        status=PaymentAttempt.Status.SUCCEEDED,
    )
    return {}


def make_free(case: Case) -> dict[str, Any]:
    """Make ``case`` a no-charge case (fee fixed at $0 at submission)."""
    CaseBilling.objects.update_or_create(
        case=case, defaults={"fee_cents": 0, "state": CaseBilling.State.NOT_CHARGEABLE}
    )
    return {}
