"""Refunds: part or all of what was paid, once per request to Stripe (the idempotency key
is derived from the case and the refund's number)."""

from django.db import transaction

from accounts.models import User
from cases.access import require_may_act
from cases.lifecycle import timeline_note
from cases.models import Case

from . import stripe_client
from .common import A, BillingError, S, billing_lock, email_family
from .fees import format_cents
from .models import PaymentAttempt, Refund


@transaction.atomic
def refund_create(*, case: Case, amount_cents: int, reason: str, by: User) -> Refund:
    """Refund part or all of what was paid. The reason stays in our records (Stripe gets the
    amount and the case reference only); the timeline shows it and the family is emailed."""
    locked, billing = billing_lock(case)
    # The service checks who asks itself (the table of actions: a coordinator), not only
    # the console's permission in front of it.
    require_may_act(by, locked, "refund")
    reason = reason.strip()
    if not reason:
        raise BillingError("Give the reason for the refund (kept in our records).")
    if billing.state not in (S.PAID, S.PARTIALLY_REFUNDED):
        raise BillingError("Only a paid request can be refunded.")
    attempt = (
        PaymentAttempt.objects.filter(
            case=locked, status=A.SUCCEEDED, payment_intent_id__isnull=False
        )
        .order_by("-number")
        .first()
    )
    refundable = billing.paid_cents - billing.refunded_cents
    if attempt is None or refundable <= 0:
        raise BillingError("Nothing is left to refund on this request.")
    if not 0 < amount_cents <= refundable:
        raise BillingError(
            f"The refund must be between $0.01 and {format_cents(refundable)} "
            "(what is left of the payment)."
        )
    number = Refund.objects.filter(case=locked).count() + 1
    try:
        data = stripe_client.refund_create(
            payment_intent=str(attempt.payment_intent_id),
            amount_cents=amount_cents,
            metadata={"case_reference": locked.reference},
            # Derived from the case and the refund's number: a retry after a timeout is the
            # same refund at Stripe, never a second one.
            idempotency_key=f"case-{locked.pk}-refund-{number}",
        )
    except stripe_client.StripeFailure as failure:
        raise BillingError(f"Stripe did not make the refund: {failure.message}") from failure
    refund = Refund.objects.create(
        case=locked,
        attempt=attempt,
        amount_cents=amount_cents,
        reason=reason,
        refund_id=data.get("id"),
        status=str(data.get("status") or "pending"),
        created_by=by,
    )
    if refund.status != "failed":
        billing.refunded_cents += amount_cents
        billing.state = (
            S.REFUNDED if billing.refunded_cents >= billing.paid_cents else S.PARTIALLY_REFUNDED
        )
        billing.save()
    timeline_note(
        locked,
        by,
        f"Refund of {format_cents(amount_cents)} issued ({refund.status}). Reason: {reason}",
    )
    email_family(locked, "refund_issued", f"refund:{refund.pk}", amount=format_cents(amount_cents))
    return refund
