"""The card step of the request form, the family's pay page when a charge failed, removing
the saved card, and Stripe's webhook. Case pages get their case from the access gate.

Card numbers never reach these views: Stripe.js sends them to Stripe, and the pages post
back only the id of the SetupIntent or PaymentIntent, which the services re-fetch.
"""

import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.typing import AuthedRequest
from cases.access import case_for_user, may_do_now, refuse_audited, require_may_act
from cases.actions import require_allowed
from cases.models import Case
from cases.web import refusals_shown
from core.refusals import Refused
from intake.services import intake_missing
from intake.steps import BY_SLUG, steps_for

from . import services, stripe_client, webhooks
from .fees import format_cents
from .models import CaseBilling, PaymentAttempt

logger = logging.getLogger(__name__)

CARD_STEP = "card"


def _stripe_context() -> dict[str, str]:
    return {
        "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "stripe_js_url": settings.STRIPE_JS_URL,
    }


def _intake_step_context(case: Case, context: Mapping[str, Any] | None) -> dict[str, Any]:
    """The request form's stepper around the card step, as the intake views build it for
    their own steps; the intake view may pass its own instead."""
    if context is not None:
        return dict(context)
    steps = steps_for(case)
    slugs = [s.slug for s in steps]
    index = slugs.index(CARD_STEP) if CARD_STEP in slugs else len(slugs) - 1
    return {
        "intake": case.intake,
        "steps": steps,
        "step": BY_SLUG[CARD_STEP],
        "step_index": index + 1,
        "previous": slugs[index - 1] if index > 0 else None,
        "missing": intake_missing(case),
    }


def card_step(
    request: AuthedRequest, case: Case, *, context: Mapping[str, Any] | None = None
) -> HttpResponse:
    """The "card" step of the request form, called by the intake step router for a draft the
    user may edit. GET shows the price, the notice and the card field; POST takes the
    SetupIntent id that Stripe.js confirmed and keeps the card. Who may save one is the
    table's "save_card" (the family): the physician who started the request sees the price
    and goes on, and a card posted by anyone else gets the gate's audited 404."""
    review = reverse("intake_step", args=[case.reference, "review"])
    fee_cents = services.fee_quote(case)
    if fee_cents == 0:
        return redirect(review)  # free specialties have no card step and no Stripe objects
    billing = services.billing_for(case)
    error = ""
    status = 200
    is_family = may_do_now(request.user, case, "save_card")
    if request.method == "POST" and not is_family:
        refuse_audited(request, case.reference, action="save", object_type="card", object_id="")
    if request.method == "POST":
        if request.POST.get("action") == "continue" and billing.payment_method_id:
            return redirect(review)
        try:
            billing = services.card_setup_complete(
                case=case, setup_intent_id=request.POST.get("setup_intent", ""), by=request.user
            )
        except Refused as refused:
            error = refused.messages[0]
            status = 400
        else:
            messages.success(
                request,
                f"Card saved: {services.card_label(billing.card_brand, billing.card_last4)}. "
                "Nothing has been charged.",
            )
            return redirect(review)
    client_secret = ""
    if is_family and not billing.payment_method_id:
        try:
            client_secret = services.card_setup_start(case=case, by=request.user)
        except Refused as refused:
            error = error or refused.messages[0]
    return render(
        request,
        "billing/card_step.html",
        {
            **_intake_step_context(case, context),
            **_stripe_context(),
            "case": case,
            "billing": billing,
            "is_family": is_family,
            "fee": format_cents(fee_cents),
            "card": services.card_label(billing.card_brand, billing.card_last4),
            "client_secret": client_secret,
            "card_error": error,
        },
        status=status,
    )


def _pay_context(
    case: Case, billing: CaseBilling, request: AuthedRequest, **extra: Any
) -> dict[str, Any]:
    last = PaymentAttempt.objects.filter(case=case).order_by("-number").first()
    client_secret = extra.pop("client_secret", "")
    new_card_secret = ""
    if not client_secret:
        try:
            new_card_secret = services.card_setup_start(case=case, by=request.user)
        except Refused as refused:
            extra.setdefault("card_error", refused.messages[0])
    return {
        **_stripe_context(),
        "case": case,
        "billing": billing,
        "amount": format_cents(billing.fee_cents or 0),
        "card": services.card_label(billing.card_brand, billing.card_last4)
        if billing.payment_method_id
        else "",
        "last_attempt": last,
        "client_secret": new_card_secret,
        "action_secret": client_secret,
        **extra,
    }


@login_required
@require_http_methods(["GET", "POST"])
@refusals_shown(action="pay", object_type="payment", back="case_detail")
def pay(request: AuthedRequest, reference: str) -> HttpResponse:
    """The family pays on the page when the charge after their confirmation failed: the
    saved card again (3-D Secure if the bank asks) or another card. Anyone but the family
    gets the gate's audited 404; a refusal of the case's state, a message on the case page."""
    case = case_for_user(request, reference, action="pay", object_type="payment")
    require_may_act(request.user, case, "pay")
    action = request.POST.get("action", "") if request.method == "POST" else ""
    # Coming back from 3-D Secure is not refused for the case's state: Stripe's webhook
    # usually applies the payment first and moves the case on, and the family who has just
    # paid is thanked (payment_on_session_complete reads the PaymentIntent itself).
    completing = action == "complete"
    if not completing:
        require_allowed(case, "pay")
    billing = CaseBilling.objects.filter(case=case).first()
    if billing is None or (billing.state in services.PAID_STATES and not completing):
        messages.info(request, "There is nothing to pay on this request.")
        return redirect("case_detail", case.reference)
    if request.method == "GET":
        return render(request, "billing/pay.html", _pay_context(case, billing, request))
    new_card = request.POST.get("setup_intent", "") if action == "new_card" else ""
    try:
        if action == "new_card" and not new_card:
            raise services.CardNotSaved("Enter the card details, then press the button.")
        if action == "complete":
            attempt = services.payment_on_session_complete(
                case=case, by=request.user, payment_intent_id=request.POST.get("payment_intent", "")
            )
            outcome = services.OnSessionPayment(attempt)
        else:
            outcome = services.payment_on_session_start(
                case=case,
                by=request.user,
                setup_intent_id=new_card,
            )
    except services.BillingError as refused:
        billing.refresh_from_db()
        return render(
            request,
            "billing/pay.html",
            _pay_context(case, billing, request, card_error=refused.messages[0]),
            status=400,
        )
    attempt = outcome.attempt
    if attempt.status == PaymentAttempt.Status.SUCCEEDED:
        messages.success(
            request,
            f"Thank you: your payment of {format_cents(attempt.amount_cents)} went through. "
            "Your request is now with the specialist.",
        )
        return redirect("case_detail", case.reference)
    billing.refresh_from_db()
    if outcome.client_secret:
        return render(
            request,
            "billing/pay.html",
            _pay_context(
                case,
                billing,
                request,
                client_secret=outcome.client_secret,
                payment_intent_id=attempt.payment_intent_id,
            ),
        )
    if attempt.status == PaymentAttempt.Status.PENDING:
        problem = "We could not reach our card processor. Please try again in a few minutes."
    elif attempt.failure_code == "payment_intent_authentication_failure":
        problem = "Your bank did not confirm the payment. Nothing was charged."
    else:
        problem = f"{attempt.failure_message or 'The payment did not go through.'} "
        problem += "Nothing was charged."
    return render(
        request,
        "billing/pay.html",
        _pay_context(case, billing, request, pay_error=f"{problem} Try again or use another card."),
        status=400,
    )


@login_required
@require_POST
@refusals_shown(action="remove", object_type="card")
def card_remove(request: AuthedRequest, reference: str) -> HttpResponse:
    case = case_for_user(request, reference, action="remove", object_type="card")
    # The table's "remove_card" (the family); anyone else, the gate's audited 404.
    require_may_act(request.user, case, "remove_card")
    try:
        services.card_remove(case=case, by=request.user)
    except services.BillingError as refused:
        messages.error(request, refused.messages[0])
    else:
        messages.success(request, "Your saved card was removed. Nothing was charged.")
    back = request.POST.get("next", "")
    # Only a path: redirect() would take a bare word for a URL name (NoReverseMatch, a 500).
    if back.startswith("/") and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)
    return redirect("case_detail", case.reference)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's events. A bad or stale signature is a 400 and changes nothing; an event
    already seen is a 200 and changes nothing."""
    try:
        event = stripe_client.event_verify(request.body, request.headers.get("Stripe-Signature"))
    except stripe_client.BadSignature as refused:
        logger.warning("Stripe webhook refused: %s", refused)
        return HttpResponseBadRequest("Invalid signature.", content_type="text/plain")
    fresh = webhooks.webhook_handle(event)
    return HttpResponse("ok" if fresh else "already handled", content_type="text/plain")
