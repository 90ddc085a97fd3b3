"""Money for a case, as views, the console, the demo and tests call it: one import for the
billing services, whose code lives by concept in ``cards`` (the card on file), ``charges``
(the fee fixed at submission, the charge, paying on the page) and ``refunds``, on top of
``common`` (refusals, states, the row lock). Kept because those callers use all three
together; code inside ``billing`` imports the concept modules themselves.
"""

from .cards import card_remove, card_setup_complete, card_setup_start, customer_for
from .charges import (
    OnSessionPayment,
    billing_for,
    billing_missing_for_submit,
    card_required,
    fee_fix_at_submission,
    fee_quote,
    payment_charge,
    payment_on_session_complete,
    payment_on_session_start,
)
from .common import (
    PAID_STATES,
    BillingError,
    CardNotSaved,
    PaymentRefused,
    card_label,
)
from .refunds import refund_create

__all__ = [
    "PAID_STATES",
    "BillingError",
    "CardNotSaved",
    "OnSessionPayment",
    "PaymentRefused",
    "billing_for",
    "billing_missing_for_submit",
    "card_label",
    "card_remove",
    "card_required",
    "card_setup_complete",
    "card_setup_start",
    "customer_for",
    "fee_fix_at_submission",
    "fee_quote",
    "payment_charge",
    "payment_on_session_complete",
    "payment_on_session_start",
    "refund_create",
]
