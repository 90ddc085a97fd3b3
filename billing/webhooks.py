"""Stripe webhooks: each event once, the object re-fetched from Stripe, the same state
changes as the API answers make.

The view has already verified the signature (``stripe_client.event_verify``). An event id
is stored in the same transaction as its effects, under a unique constraint: a replay
finds it and changes nothing, and a failure (Stripe not answering the re-fetch) rolls both
back, so Stripe's next delivery tries again. The payload is used only for the event's
id, type and object id; what the object says is fetched from Stripe, so an old or reordered
event can only bring the current truth.
"""

import logging
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from cases.lifecycle import timeline_note
from cases.models import Case

from . import stripe_client
from .cards import card_keep
from .charges import payment_intent_apply
from .common import PAID_STATES, CardNotSaved, billing_lock, stripe_id
from .fees import format_cents
from .models import CaseBilling, PaymentAttempt, Refund, StripeCustomer, WebhookEvent

logger = logging.getLogger(__name__)

S = CaseBilling.State


def _attempt_for(intent: dict[str, Any]) -> PaymentAttempt | None:
    attempt = PaymentAttempt.objects.filter(payment_intent_id=intent.get("id")).first()
    if attempt is not None:
        return attempt
    # A PaymentIntent whose API answer never reached us (a timeout): match it by the case
    # reference and attempt number we put in its metadata.
    metadata = intent.get("metadata") or {}
    reference, number = metadata.get("case_reference"), metadata.get("attempt")
    if not reference or not str(number or "").isdigit():
        return None
    return PaymentAttempt.objects.filter(
        case__reference=reference, number=int(str(number)), payment_intent_id__isnull=True
    ).first()


def _on_payment_intent(object_id: str) -> None:
    intent = stripe_client.payment_intent_retrieve(object_id)
    attempt = _attempt_for(intent)
    if attempt is None:
        return
    case, billing = billing_lock(Case(pk=attempt.case_id))
    attempt = PaymentAttempt.objects.get(pk=attempt.pk)
    payment_intent_apply(case, billing, attempt, intent, None)


def _on_setup_intent(object_id: str) -> None:
    intent = stripe_client.setup_intent_retrieve(object_id)
    found = CaseBilling.objects.filter(setup_intent_id=intent.get("id")).first()
    if found is None:
        return
    case, billing = billing_lock(Case(pk=found.case_id))
    # Only fills in a card the page did not record (the family closed the tab after
    # Stripe.js saved it); never replaces or revives one. A failed setup was shown on the
    # page and changes nothing here.
    if (
        intent.get("status") != "succeeded"
        or billing.payment_method_id
        or billing.setup_intent_id != intent.get("id")
        or billing.state != S.NO_CARD
    ):
        return
    customer = StripeCustomer.objects.filter(customer_id=stripe_id(intent.get("customer")))
    owner = customer.first()
    if owner is None:
        return
    try:
        card_keep(case, billing, intent, owner, None)
    except CardNotSaved as refused:
        logger.info("setup_intent %s not kept: %s", object_id, refused.messages)


def _on_charge_refunded(object_id: str) -> None:
    charge = stripe_client.charge_retrieve(object_id)
    found = PaymentAttempt.objects.filter(
        payment_intent_id=stripe_id(charge.get("payment_intent")) or None
    ).first()
    if found is None:
        return
    case, billing = billing_lock(Case(pk=found.case_id))
    listed = (charge.get("refunds") or {}).get("data") or []
    ours = {r.refund_id: r for r in Refund.objects.filter(case=case, refund_id__isnull=False)}
    unknown = 0
    for item in listed:
        refund = ours.get(item.get("id"))
        if refund is None:
            unknown += int(item.get("amount") or 0)
        elif item.get("status") and refund.status != item["status"]:
            refund.status = str(item["status"])
            refund.save(update_fields=["status"])
    total = int(charge.get("amount_refunded") or 0)
    if total == billing.refunded_cents:
        return
    billing.refunded_cents = total
    if billing.state in PAID_STATES:
        if total <= 0:
            billing.state = S.PAID
        elif total >= billing.paid_cents:
            billing.state = S.REFUNDED
        else:
            billing.state = S.PARTIALLY_REFUNDED
    billing.save()
    timeline_note(
        case,
        None,
        f"Stripe reports {format_cents(total)} refunded in total"
        + (f", including {format_cents(unknown)} refunded outside the portal." if unknown else "."),
    )


HANDLERS: dict[str, Callable[[str], None]] = {
    "payment_intent.succeeded": _on_payment_intent,
    "payment_intent.payment_failed": _on_payment_intent,
    "setup_intent.succeeded": _on_setup_intent,
    "setup_intent.setup_failed": _on_setup_intent,
    "charge.refunded": _on_charge_refunded,
}


@transaction.atomic
def webhook_handle(event: dict[str, Any]) -> bool:
    """Apply a verified event once. Returns False for an event already handled (a replay)."""
    kind = str(event.get("type") or "")[:100]
    data = event.get("data") or {}
    obj = data.get("object") if isinstance(data, dict) else None
    object_id = str(obj.get("id") or "")[:255] if isinstance(obj, dict) else ""
    try:
        with transaction.atomic():
            row = WebhookEvent.objects.create(
                event_id=str(event["id"])[:255], type=kind, object_id=object_id
            )
    except IntegrityError:
        return False
    handler = HANDLERS.get(kind)
    if handler is not None and object_id:
        try:
            handler(object_id)
        except stripe_client.StripeNotFound:
            # Not (or no longer) at Stripe: nothing of ours to update.
            logger.warning("webhook %s: %s %s not found at Stripe", row.event_id, kind, object_id)
    row.processed_at = timezone.now()
    row.save(update_fields=["processed_at"])
    return True
