"""What the card, charge and refund services share: the states that count as paid, the
refusals shown to the family or the team, the row lock, the emails, and how a Stripe failure
is worded.

Every service that changes a case locks the case row and then its CaseBilling row (always in
that order, like ``cases.lifecycle``), so two calls at once act one after the other.
"""

import logging
from typing import Any

from django.conf import settings

from cases.models import Case, Status
from cases.notifications import case_email, coordinator_addresses, family_addresses
from core.refusals import Refused

from . import stripe_client
from .models import CaseBilling, PaymentAttempt

logger = logging.getLogger(__name__)

S = CaseBilling.State
A = PaymentAttempt.Status
PAID_STATES = frozenset({S.PAID, S.PARTIALLY_REFUNDED, S.REFUNDED})
# The coordinator charges a case once the family has confirmed; a failed charge waits in
# "payment needed" for the family to pay on the page.
CHARGEABLE_STATUSES = frozenset({Status.AWAITING_FAMILY_CONFIRMATION, Status.PAYMENT_NEEDED})
NEVER_CHARGED = frozenset({Status.WITHDRAWN, Status.DECLINED})

CARD_BRANDS = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "amex": "American Express",
    "discover": "Discover",
    "diners": "Diners Club",
    "jcb": "JCB",
    "unionpay": "UnionPay",
}


class BillingError(Refused):
    """A refusal with a message that can be shown as it is."""

    def __init__(self, message: str, code: str = "billing") -> None:
        super().__init__(message, code=code)


class CardNotSaved(BillingError):
    pass


class PaymentRefused(BillingError):
    pass


def card_label(brand: str, last4: str) -> str:
    if not last4:
        return ""
    return f"{CARD_BRANDS.get(brand.lower(), brand.title() or 'Card')} ending in {last4}"


def stripe_id(value: Any) -> str:
    """Stripe returns a related object as its id, or as the object when expanded."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def email_family(case: Case, template: str, key: str, **context: Any) -> None:
    case_email(case, template, family_addresses(case), key, **context)


def alert_coordinators(case: Case, what: str, key: str) -> None:
    case_email(case, "coordinator_alert", coordinator_addresses(), key, what=what)


def billing_lock(case: Case) -> tuple[Case, CaseBilling]:
    """Lock the case, then its billing row (created on first use)."""
    locked = Case.objects.lock(case)
    CaseBilling.objects.get_or_create(case=locked)
    billing = (
        CaseBilling.objects.select_for_update(of=("self",))
        .select_related("customer")
        .get(case=locked)
    )
    return locked, billing


def stripe_metadata(case: Case, attempt: PaymentAttempt | None = None) -> dict[str, str]:
    # The case reference only (never medical detail), and the attempt number so a
    # PaymentIntent whose answer was lost can still be matched from its webhook.
    data = {"case_reference": case.reference}
    if attempt is not None:
        data["attempt"] = str(attempt.number)
    return data


def unavailable_message(failure: stripe_client.StripeFailure) -> str:
    if isinstance(failure, stripe_client.StripeUnavailable):
        return failure.message
    logger.error("Stripe refused a card request: %s (%s)", failure.message, failure.code)
    return (
        "The card form is not available just now. Your request is saved: please try again "
        f"later, or email {settings.SUPPORT_EMAIL}."
    )
