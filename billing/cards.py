"""The card on file: the family account's Stripe Customer, saving a card on a case through a
SetupIntent (confirmed by Stripe.js in the browser, fetched back from Stripe here), replacing
and removing it. Stripe ids, the card brand and the last 4 digits are all we keep of a card.

Who may save or remove a card, and when, is the table of actions' "save_card" and
"remove_card" (the family), asked on the locked case row: ``NotYours`` for anyone else,
``LifecycleRefused`` for a case whose state takes no card; what was paid is billing's own
refusal.
"""

import contextlib
from typing import Any

from django.db import transaction

from accounts.models import User
from cases.access import require_may_act
from cases.actions import require_allowed
from cases.lifecycle import timeline_note
from cases.models import Case

from . import stripe_client
from .common import (
    PAID_STATES,
    BillingError,
    CardNotSaved,
    S,
    billing_lock,
    stripe_id,
    stripe_metadata,
    unavailable_message,
)
from .models import CaseBilling, StripeCustomer


@transaction.atomic
def customer_for(user: User) -> StripeCustomer:
    """The family account's one Stripe Customer, created the first time a card is saved."""
    existing = StripeCustomer.objects.filter(user=user).first()
    if existing is not None:
        return existing
    User.objects.select_for_update().get(pk=user.pk)  # two first card pages at once
    existing = StripeCustomer.objects.filter(user=user).first()
    if existing is not None:
        return existing
    try:
        data = stripe_client.customer_create(
            email=user.email, user_id=user.pk, idempotency_key=f"customer-user-{user.pk}"
        )
    except stripe_client.StripeFailure as failure:
        raise CardNotSaved(unavailable_message(failure)) from failure
    return StripeCustomer.objects.create(user=user, customer_id=data["id"])


def _may_save_card(case: Case, by: User) -> tuple[Case, CaseBilling]:
    locked, billing = billing_lock(case)
    require_may_act(by, locked, "save_card")
    require_allowed(locked, "save_card")
    if billing.state in PAID_STATES:
        raise CardNotSaved("This request no longer needs a card.")
    return locked, billing


@transaction.atomic
def card_setup_start(*, case: Case, by: User) -> str:
    """A SetupIntent for saving a card on this case (off-session use); returns its client
    secret for Stripe.js. A page reload reuses the one still waiting for a card."""
    locked, billing = _may_save_card(case, by)
    customer = customer_for(by)
    try:
        if billing.setup_intent_id:
            current = stripe_client.setup_intent_retrieve(billing.setup_intent_id)
            if (
                current.get("status") == "requires_payment_method"
                and stripe_id(current.get("customer")) == customer.customer_id
            ):
                return str(current["client_secret"])
        intent = stripe_client.setup_intent_create(
            customer=customer.customer_id, metadata=stripe_metadata(locked)
        )
    except stripe_client.StripeFailure as failure:
        raise CardNotSaved(unavailable_message(failure)) from failure
    billing.setup_intent_id = intent["id"]
    billing.save(update_fields=["setup_intent_id", "updated_at"])
    return str(intent["client_secret"])


@transaction.atomic
def card_setup_complete(*, case: Case, setup_intent_id: str, by: User) -> CaseBilling:
    """Stripe.js has confirmed the SetupIntent in the browser: fetch it and its
    PaymentMethod from Stripe (never trusting what the browser says) and keep the card."""
    locked, billing = _may_save_card(case, by)
    customer = StripeCustomer.objects.filter(user=by).first()
    if not setup_intent_id or setup_intent_id != billing.setup_intent_id or customer is None:
        raise CardNotSaved("This card form has expired. Please enter the card again.")
    try:
        intent = stripe_client.setup_intent_retrieve(setup_intent_id)
    except stripe_client.StripeFailure as failure:
        raise CardNotSaved(unavailable_message(failure)) from failure
    card_keep(locked, billing, intent, customer, by)
    return billing


def card_keep(
    case: Case,
    billing: CaseBilling,
    intent: dict[str, Any],
    customer: StripeCustomer,
    by: User | None,
) -> None:
    if (
        stripe_id(intent.get("customer")) != customer.customer_id
        or (intent.get("metadata") or {}).get("case_reference") != case.reference
    ):
        raise CardNotSaved("This card form has expired. Please enter the card again.")
    status = intent.get("status")
    if status == "requires_action":
        raise CardNotSaved(
            "Your bank asked you to confirm this card and it was not confirmed. Nothing was "
            "charged. Please try again or use another card."
        )
    if status != "succeeded":
        raise CardNotSaved("The card was not saved. Nothing was charged. Please try again.")
    method_id = stripe_id(intent.get("payment_method"))
    try:
        method = stripe_client.payment_method_retrieve(method_id)
        if not method.get("customer"):
            # Stripe attaches the card to the customer when the SetupIntent succeeds;
            # localstripe does not, so attach it ourselves when it is not.
            method = stripe_client.payment_method_attach(method_id, customer=customer.customer_id)
    except stripe_client.CardError as declined:
        raise CardNotSaved(f"{declined.message} Nothing was charged.") from declined
    except stripe_client.StripeFailure as failure:
        raise CardNotSaved(unavailable_message(failure)) from failure
    if method.get("type") != "card" or stripe_id(method.get("customer")) != customer.customer_id:
        raise CardNotSaved("This card form has expired. Please enter the card again.")
    card = method.get("card") or {}
    replacing = bool(billing.payment_method_id) and billing.payment_method_id != method_id
    billing.customer = customer
    billing.payment_method_id = method_id
    billing.card_brand = str(card.get("brand") or "")[:20]
    billing.card_last4 = str(card.get("last4") or "")[:4]
    if billing.state == S.NO_CARD:
        billing.state = S.CARD_SAVED
    billing.save()
    timeline_note(
        case, by, "A new card was saved for this request." if replacing else "Card saved."
    )


def card_forget(billing: CaseBilling) -> None:
    """Detach the card at Stripe and drop it here. Brand and last 4 of a card that paid stay
    (the receipt names the card that was charged)."""
    method_id = billing.payment_method_id
    with contextlib.suppress(stripe_client.StripeNotFound):  # already gone at Stripe
        stripe_client.payment_method_detach(method_id)
    billing.payment_method_id = ""
    billing.setup_intent_id = None  # a late setup_intent.succeeded must not bring it back
    if billing.state not in PAID_STATES:
        billing.card_brand = ""
        billing.card_last4 = ""
    if billing.state == S.CARD_SAVED:
        billing.state = S.NO_CARD


@transaction.atomic
def card_remove(*, case: Case, by: User) -> CaseBilling:
    """The family removes the card saved on a case. A case without a card is never charged
    off session: when the team charges it, the family is asked to pay on the page."""
    locked, billing = billing_lock(case)
    require_may_act(by, locked, "remove_card")
    require_allowed(locked, "remove_card")
    if not billing.payment_method_id:
        raise BillingError("There is no saved card on this request.")
    try:
        card_forget(billing)
    except stripe_client.StripeFailure as failure:
        raise BillingError(unavailable_message(failure)) from failure
    billing.save()
    timeline_note(locked, by, "Saved card removed by the family.")
    return billing


@transaction.atomic
def card_drop(*, case: Case) -> bool:
    """Remove the saved card of a case that will never be charged (withdrawn or declined).
    False when it had none. A Stripe failure propagates, and nothing is changed."""
    _locked, billing = billing_lock(case)
    if not billing.payment_method_id:
        return False
    card_forget(billing)
    billing.save()
    return True
