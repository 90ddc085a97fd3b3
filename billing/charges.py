"""The fee fixed at submission, the one charge after the family has confirmed, and paying on
the page when that charge fails.

State is updated from the answers of the Stripe API calls themselves; webhooks (see
``billing.webhooks``) re-fetch the object and go through the same ``payment_intent_apply``,
which only ever moves forward, so nothing depends on a webhook arriving, or on the order in
which webhooks and answers arrive.

The services work on the case row they lock (``billing_lock``) and return what they made
(the attempt); the caller's ``Case`` is left as it was, so a caller that needs the status
the charge led to reads the case again.
"""

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from cases.access import require_may_act
from cases.actions import require_allowed
from cases.lifecycle import case_transition, timeline_note
from cases.models import Case, Status
from cases.services import assignment_after_payment

from . import stripe_client
from .cards import card_forget, card_keep
from .common import (
    CHARGEABLE_STATUSES,
    NEVER_CHARGED,
    PAID_STATES,
    A,
    CardNotSaved,
    PaymentRefused,
    S,
    alert_coordinators,
    billing_lock,
    email_family,
    stripe_metadata,
    unavailable_message,
)
from .fees import fee_for, format_cents
from .models import CaseBilling, PaymentAttempt, StripeCustomer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OnSessionPayment:
    """The outcome of paying on the page. ``client_secret`` is set when the bank wants the
    family to authenticate (3-D Secure): the page hands it to Stripe.js."""

    attempt: PaymentAttempt
    client_secret: str = ""


# --- the fee ----------------------------------------------------------------------------


def billing_for(case: Case) -> CaseBilling:
    return CaseBilling.objects.get_or_create(case=case)[0]


def fee_quote(case: Case) -> int:
    """What the case costs, in cents: the fee fixed at submission, else today's fee for its
    specialty (the default fee when no specialty is chosen yet)."""
    billing = CaseBilling.objects.filter(case=case).first()
    if billing is not None and billing.fee_cents is not None:
        return billing.fee_cents
    return fee_for(case.specialty).amount_cents


def card_required(case: Case) -> bool:
    """Whether the request form has a card step: only for specialties with a fee."""
    return fee_quote(case) > 0


@transaction.atomic
def fee_fix_at_submission(*, case: Case) -> CaseBilling:
    """Copy the fee in force today onto the case. Done once: a later change to the schedule
    never changes what a submitted case costs."""
    locked, billing = billing_lock(case)
    if billing.fee_fixed_at is not None:
        return billing
    fee = fee_for(locked.specialty)
    billing.fee = fee
    billing.fee_cents = fee.amount_cents
    billing.fee_fixed_at = timezone.now()
    if fee.amount_cents == 0:
        billing.state = S.NOT_CHARGEABLE
        if billing.payment_method_id:
            # A card saved before the specialty changed to a free one is never needed.
            card_forget(billing)
    billing.save()
    return billing


def billing_missing_for_submit(case: Case) -> str | None:
    """Why a request cannot be submitted yet for billing reasons, or None."""
    if fee_quote(case) == 0:
        return None
    billing = CaseBilling.objects.filter(case=case).first()
    if billing is None or not billing.payment_method_id:
        return (
            "Add the card we will charge once our team has reviewed your request and the "
            "charges with you."
        )
    return None


# --- charging -----------------------------------------------------------------------------


def _attempt_new(case: Case, billing: CaseBilling, *, on_session: bool) -> PaymentAttempt:
    number = PaymentAttempt.objects.filter(case=case).count() + 1
    return PaymentAttempt.objects.create(
        case=case,
        number=number,
        # Derived from the case and the attempt: the same attempt always reaches Stripe with
        # the same key, so a retry (or a rerun after a crash) cannot charge twice.
        idempotency_key=f"case-{case.pk}-attempt-{number}",
        amount_cents=billing.fee_cents or 0,
        on_session=on_session,
    )


def _attempt_unfinished(case: Case) -> PaymentAttempt | None:
    """An attempt whose outcome is unknown (Stripe did not answer): it must be finished, with
    its own key, before any new attempt can be made."""
    return PaymentAttempt.objects.filter(case=case, status=A.PENDING).order_by("number").first()


def _attempt_send(
    case: Case, billing: CaseBilling, attempt: PaymentAttempt, by: User | None
) -> dict[str, Any] | None:
    """Send (or, for an unfinished attempt, send again with the same key) the attempt's
    PaymentIntent and record the outcome. Returns the PaymentIntent when Stripe answered
    with one."""
    if attempt.payment_intent_id:
        # Stripe answered before (processing): ask it how that PaymentIntent is now.
        try:
            intent = stripe_client.payment_intent_retrieve(attempt.payment_intent_id)
        except stripe_client.StripeFailure:
            return None
        payment_intent_apply(case, billing, attempt, intent, by)
        return intent
    if billing.customer is None or not billing.payment_method_id:
        # The card was removed while Stripe's answer was outstanding. Should that request
        # have charged after all, its webhook finds the attempt (by its metadata) and says so.
        _attempt_settle(
            case, billing, attempt, A.FAILED, code="no_card", message="No saved card.", by=by
        )
        return None
    try:
        intent = stripe_client.payment_intent_create(
            amount_cents=attempt.amount_cents,
            customer=billing.customer.customer_id,
            payment_method=billing.payment_method_id,
            off_session=not attempt.on_session,
            metadata=stripe_metadata(case, attempt),
            idempotency_key=attempt.idempotency_key,
        )
    except stripe_client.CardError as declined:
        failed = declined.payment_intent or {}
        if failed.get("id") and not attempt.payment_intent_id:
            attempt.payment_intent_id = failed["id"]
        needs_authentication = "authentication_required" in (declined.code, declined.decline_code)
        _attempt_settle(
            case,
            billing,
            attempt,
            A.REQUIRES_ACTION if needs_authentication else A.FAILED,
            code=declined.decline_code or declined.code or "card_declined",
            message=declined.message,
            by=by,
        )
        return None
    except stripe_client.StripeUnavailable:
        # Outcome unknown: the attempt stays "sent" and the next call repeats it with the
        # same idempotency key, so Stripe answers with what it did the first time.
        timeline_note(case, by, f"Charge attempt {attempt.number}: no answer from Stripe yet.")
        return None
    except stripe_client.StripeFailure as refused:
        logger.error("Stripe refused charge attempt %s: %s", attempt.pk, refused.message)
        _attempt_settle(
            case,
            billing,
            attempt,
            A.FAILED,
            code=refused.code or "refused",
            message=refused.message,
            by=by,
        )
        return None
    payment_intent_apply(case, billing, attempt, intent, by)
    return intent


def payment_intent_apply(
    case: Case,
    billing: CaseBilling,
    attempt: PaymentAttempt,
    intent: dict[str, Any],
    by: User | None,
) -> None:
    """Record what a PaymentIntent (from an API answer or re-fetched for a webhook) says
    about an attempt. Seeing the same state twice changes nothing, and a success is never
    undone by an older answer."""
    if intent.get("id") and not attempt.payment_intent_id:
        attempt.payment_intent_id = intent["id"]
        attempt.save(update_fields=["payment_intent_id", "updated_at"])
    status = intent.get("status")
    error = intent.get("last_payment_error") or {}
    if status == "succeeded":
        _attempt_succeeded(case, billing, attempt, intent, by)
    elif status == "requires_action":
        _attempt_settle(
            case,
            billing,
            attempt,
            A.REQUIRES_ACTION,
            code="authentication_required",
            message="The bank asked for authentication (3-D Secure).",
            by=by,
        )
    elif status in ("requires_payment_method", "canceled"):
        _attempt_settle(
            case,
            billing,
            attempt,
            A.FAILED,
            code=str(error.get("decline_code") or error.get("code") or status),
            message=str(error.get("message") or "The payment did not go through."),
            by=by,
        )
    # "processing" and the like: the attempt stays "sent" until a webhook says more.


def _attempt_settle(
    case: Case,
    billing: CaseBilling,
    attempt: PaymentAttempt,
    status: str,
    *,
    code: str,
    message: str,
    by: User | None,
) -> None:
    """A declined attempt, or one the bank wants authenticated: the case waits in "payment
    needed" for the family to pay on the page."""
    if attempt.status in (A.SUCCEEDED, status):
        return
    attempt.status = status
    attempt.failure_code = code[:100]
    attempt.failure_message = message[:300]
    attempt.save()
    what = "needs the family to authenticate" if status == A.REQUIRES_ACTION else "was declined"
    timeline_note(case, by, f"Charge attempt {attempt.number} {what} ({attempt.failure_code}).")
    if attempt.on_session:
        return  # the family is on the pay page and sees the outcome there
    _payment_needed(case, billing, by, key=f"attempt-{attempt.pk}", reason=what)


def _payment_needed(
    case: Case, billing: CaseBilling, by: User | None, *, key: str, reason: str
) -> None:
    if billing.state in PAID_STATES:
        return
    if billing.state != S.PAYMENT_NEEDED:
        billing.state = S.PAYMENT_NEEDED
        billing.save(update_fields=["state", "updated_at"])
    if case.status == Status.AWAITING_FAMILY_CONFIRMATION:
        case_transition(case=case, to=Status.PAYMENT_NEEDED, by=by, note=f"The charge {reason}.")
    pay_url = settings.SITE_URL + reverse("billing:pay", args=[case.reference])
    email_family(
        case,
        "payment_needed",
        f"payment-needed:{case.pk}:{key}",
        pay_url=pay_url,
        amount=format_cents(billing.fee_cents or 0),
    )
    alert_coordinators(
        case,
        f"Payment needed on {case.reference}: the charge {reason}. The family has been "
        "asked to pay on the portal.",
        f"coordinator-payment-needed:{case.pk}:{key}",
    )


def _attempt_succeeded(
    case: Case,
    billing: CaseBilling,
    attempt: PaymentAttempt,
    intent: dict[str, Any],
    by: User | None,
) -> None:
    if attempt.status == A.SUCCEEDED:
        return
    attempt.status = A.SUCCEEDED
    attempt.failure_code = ""
    attempt.failure_message = ""
    attempt.save()
    already_paid = billing.state in PAID_STATES
    amount = int(intent.get("amount_received") or intent.get("amount") or attempt.amount_cents)
    billing.paid_cents += amount
    billing.paid_at = billing.paid_at or timezone.now()
    if not already_paid:
        billing.state = S.PAID
    billing.save()
    timeline_note(
        case, by, f"Payment of {format_cents(amount)} received (attempt {attempt.number})."
    )
    if already_paid:
        # Never expected: two attempts both charged. The coordinator refunds one.
        alert_coordinators(
            case,
            f"{case.reference} was paid twice: refund one of the payments.",
            f"coordinator-paid-twice:{attempt.pk}",
        )
    if case.status in CHARGEABLE_STATUSES:
        case_transition(case=case, to=Status.ASSIGNED, by=by, note="Payment received.")
        # The clock starts and the specialist is told, however the payment arrived
        # (confirm, the pay page, or a webhook).
        assignment_after_payment(case=case, by=by)
    elif case.status != Status.ASSIGNED and not already_paid:
        alert_coordinators(
            case,
            f"A payment arrived on {case.reference} while it is "
            f"“{Status(case.status).label}”: check it.",
            f"coordinator-paid-late:{attempt.pk}",
        )
    email_family(
        case,
        "payment_received",
        f"payment-received:{attempt.pk}",
        amount=format_cents(amount),
    )


@transaction.atomic
def payment_charge(*, case: Case, by: User | None) -> PaymentAttempt | None:
    """Charge the case's fixed fee to the saved card, off session, once.

    Called when the family confirms the charges. Returns the attempt (look at its
    ``status``): succeeded → the case is assigned; declined or needing authentication →
    the case waits in "payment needed" and the family is emailed; still "sent" → Stripe did
    not answer, and calling again repeats the same request. Returns None when nothing is
    charged: a free specialty (the case goes straight on), or no saved card (the family
    is asked to pay on the page). A case already paid returns its successful attempt and is
    not charged again. Withdrawn or declined cases are refused.
    """
    locked, billing = billing_lock(case)
    if billing.state in PAID_STATES:
        return (
            PaymentAttempt.objects.filter(case=locked, status=A.SUCCEEDED)
            .order_by("number")
            .first()
        )
    if locked.status in NEVER_CHARGED:
        raise PaymentRefused("A withdrawn or declined request is never charged.")
    if locked.status not in CHARGEABLE_STATUSES:
        raise PaymentRefused(
            "A request is charged only after the family has confirmed the charges "
            f"(this one is “{Status(locked.status).label}”)."
        )
    if billing.fee_cents is None:
        raise PaymentRefused("This request has no fee fixed: it was never submitted.")
    if billing.fee_cents == 0:
        if billing.state != S.NOT_CHARGEABLE:
            billing.state = S.NOT_CHARGEABLE
            billing.save(update_fields=["state", "updated_at"])
        case_transition(case=locked, to=Status.ASSIGNED, by=by, note="No charge.")
        return None
    unfinished = _attempt_unfinished(locked)
    if unfinished is None and (not billing.payment_method_id or billing.customer is None):
        timeline_note(locked, by, "No saved card: the family is asked to pay on the portal.")
        _payment_needed(locked, billing, by, key="no-card", reason="could not be made: no card")
        return None
    attempt = unfinished or _attempt_new(locked, billing, on_session=False)
    if unfinished is not None and not unfinished.on_session:
        timeline_note(locked, by, f"Charge attempt {attempt.number} sent again (same request).")
    _attempt_send(locked, billing, attempt, by)
    return attempt


# --- paying on the page (payment needed) ----------------------------------------------------


@transaction.atomic
def payment_on_session_start(
    *, case: Case, by: User, setup_intent_id: str = ""
) -> OnSessionPayment:
    """The family pays on the page, with the saved card or, when ``setup_intent_id`` is given,
    a card just saved through Stripe.js. If the bank wants 3-D Secure, the result carries
    the client secret for Stripe.js; ``payment_on_session_complete`` finishes.

    Who and when are the table of actions' "pay" (the family; a case waiting for payment),
    asked on the locked row: ``NotYours`` for anyone else, ``LifecycleRefused`` for a case
    in another state."""
    locked, billing = billing_lock(case)
    require_may_act(by, locked, "pay")
    if billing.state in PAID_STATES:
        raise PaymentRefused("There is nothing to pay on this request.")
    require_allowed(locked, "pay")
    if setup_intent_id:
        customer = StripeCustomer.objects.filter(user=by).first()
        if setup_intent_id != billing.setup_intent_id or customer is None:
            raise CardNotSaved("This card form has expired. Please enter the card again.")
        try:
            intent = stripe_client.setup_intent_retrieve(setup_intent_id)
        except stripe_client.StripeFailure as failure:
            raise CardNotSaved(unavailable_message(failure)) from failure
        card_keep(locked, billing, intent, customer, by)
    unfinished = _attempt_unfinished(locked)
    if unfinished is None and (not billing.payment_method_id or billing.customer is None):
        raise PaymentRefused("Enter the card to pay with.")
    attempt = unfinished or _attempt_new(locked, billing, on_session=True)
    intent_now = _attempt_send(locked, billing, attempt, by)
    attempt.refresh_from_db()
    if attempt.status == A.REQUIRES_ACTION and intent_now and intent_now.get("client_secret"):
        return OnSessionPayment(attempt, str(intent_now["client_secret"]))
    return OnSessionPayment(attempt)


@transaction.atomic
def payment_on_session_complete(*, case: Case, by: User, payment_intent_id: str) -> PaymentAttempt:
    """Stripe.js has finished 3-D Secure in the browser: fetch the PaymentIntent from
    Stripe and record what it says (the browser's word is not taken for it). Only the family
    (``NotYours``); not refused for the case's state, which a webhook may have moved on
    already: the PaymentIntent decides."""
    locked, billing = billing_lock(case)
    require_may_act(by, locked, "pay")
    attempt = PaymentAttempt.objects.filter(
        case=locked, payment_intent_id=payment_intent_id, on_session=True
    ).first()
    if not payment_intent_id or attempt is None:
        raise PaymentRefused("This payment form has expired. Please try again.")
    try:
        intent = stripe_client.payment_intent_retrieve(payment_intent_id)
    except stripe_client.StripeFailure as failure:
        raise PaymentRefused(unavailable_message(failure)) from failure
    payment_intent_apply(locked, billing, attempt, intent, by)
    attempt.refresh_from_db()
    return attempt
