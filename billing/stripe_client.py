"""The one module that talks to Stripe. Nothing else in the project imports ``stripe``.

The same calls go to Stripe in production and to localstripe (a fake Stripe on loopback)
in development, CI and tests: only ``STRIPE_API_BASE`` differs. Every function returns
plain dicts (never SDK objects) and turns the SDK's errors into the few exceptions below,
so the services decide what a failure means without knowing the SDK.

Card numbers never pass through here: the browser gives them to Stripe.js, and our server
only ever sees Stripe ids, the brand and the last 4 digits.
"""

import json
from collections.abc import Callable
from typing import Any

import stripe
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# The SDK retries a request that timed out or failed to connect (and 409/5xx answers),
# reusing the request's Idempotency-Key, so a retried charge is the same charge.
MAX_NETWORK_RETRIES = 2
# (connect, read) seconds: a charge normally answers in 1-3 s; a stuck one must not hold
# the case row locked for the SDK's default 80 s.
TIMEOUT = (5.0, 30.0)

# Tests swap in an HTTP client here to give the SDK Stripe-shaped answers localstripe cannot
# produce (idempotent replays, 402 authentication_required, timeouts).
HTTP_CLIENT: stripe.HTTPClient | None = None

_cache: dict[tuple[str, str, int], stripe.StripeClient] = {}


class StripeFailure(Exception):
    """A Stripe call that did not do what was asked. ``message`` is safe to show."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class CardError(StripeFailure):
    """The card was declined or needs authentication (HTTP 402). Stripe includes the
    PaymentIntent or SetupIntent it was about, when there is one."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        decline_code: str = "",
        payment_intent: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.decline_code = decline_code
        self.payment_intent = payment_intent


class StripeUnavailable(StripeFailure):
    """No answer (timeout, connection refused), rate limited or a Stripe server error: the
    outcome is unknown, so a retry must reuse the same idempotency key."""


class StripeNotFound(StripeFailure):
    pass


class StripeRejected(StripeFailure):
    """Stripe refused the request itself (a bad parameter, a bad key): our bug or setup."""


class BadSignature(Exception):
    """A webhook whose Stripe-Signature does not verify, or is too old."""


def configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def _client() -> stripe.StripeClient:
    key = settings.STRIPE_SECRET_KEY
    if not key:
        raise ImproperlyConfigured("STRIPE_SECRET_KEY is not set: card payments are off.")
    base = settings.STRIPE_API_BASE
    cache_key = (key, base, id(HTTP_CLIENT))
    client = _cache.get(cache_key)
    if client is None:
        client = stripe.StripeClient(
            key,
            base_addresses={"api": base} if base else None,
            max_network_retries=MAX_NETWORK_RETRIES,
            http_client=HTTP_CLIENT or stripe.RequestsClient(timeout=TIMEOUT),
        )
        _cache.clear()  # settings changed (tests): drop clients built from the old ones
        _cache[cache_key] = client
    return client


def _plain(value: Any) -> dict[str, Any]:
    return value.to_dict() if value is not None else {}


def _call(call: Callable[[], Any]) -> dict[str, Any]:
    try:
        return _plain(call())
    except stripe.CardError as error:
        details = error.error
        intent = getattr(details, "payment_intent", None) if details else None
        raise CardError(
            error.user_message or "Your card was declined.",
            code=error.code or "",
            decline_code=(getattr(details, "decline_code", None) or "") if details else "",
            payment_intent=_plain(intent) if intent is not None else None,
        ) from error
    except (stripe.APIConnectionError, stripe.RateLimitError) as error:
        raise StripeUnavailable(
            "We could not reach our card processor. Nothing was charged twice: please try "
            "again in a few minutes.",
            code="unavailable",
        ) from error
    except stripe.InvalidRequestError as error:
        if error.http_status == 404:
            raise StripeNotFound(error.user_message or "Not found.", code="not_found") from error
        raise StripeRejected(error.user_message or "Request refused.", code=error.code or "") from (
            error
        )
    except stripe.APIError as error:
        raise StripeUnavailable(
            "Our card processor had a problem. Please try again in a few minutes.",
            code="stripe_error",
        ) from error
    except stripe.StripeError as error:
        raise StripeRejected(error.user_message or "Request refused.", code=error.code or "") from (
            error
        )


def _options(idempotency_key: str | None) -> dict[str, Any]:
    return {"idempotency_key": idempotency_key} if idempotency_key else {}


# --- customers and cards -------------------------------------------------------------------


def customer_create(*, email: str, user_id: int, idempotency_key: str) -> dict[str, Any]:
    # Only what Stripe needs to show us the account: the email and our user id.
    params = {"email": email, "metadata": {"user_id": str(user_id)}}
    return _call(
        lambda: _client().v1.customers.create(
            params=params,  # type: ignore[arg-type]
            options=_options(idempotency_key),  # type: ignore[arg-type]
        )
    )


def setup_intent_create(*, customer: str, metadata: dict[str, str]) -> dict[str, Any]:
    """A SetupIntent that saves a card for charging later, without the family present."""
    params = {
        "customer": customer,
        "usage": "off_session",
        "payment_method_types": ["card"],
        "metadata": metadata,
    }
    return _call(lambda: _client().v1.setup_intents.create(params=params))  # type: ignore[arg-type]


def setup_intent_retrieve(setup_intent_id: str) -> dict[str, Any]:
    return _call(lambda: _client().v1.setup_intents.retrieve(setup_intent_id))


def setup_intent_confirm(setup_intent_id: str, *, payment_method: str) -> dict[str, Any]:
    """Confirm with a payment method Stripe already holds (demo data: Stripe's test card
    ``pm_card_visa``). Families' cards are confirmed by Stripe.js in their browser."""
    return _call(
        lambda: _client().v1.setup_intents.confirm(
            setup_intent_id, params={"payment_method": payment_method}
        )
    )


def payment_method_retrieve(payment_method_id: str) -> dict[str, Any]:
    return _call(lambda: _client().v1.payment_methods.retrieve(payment_method_id))


def payment_method_attach(payment_method_id: str, *, customer: str) -> dict[str, Any]:
    return _call(
        lambda: _client().v1.payment_methods.attach(
            payment_method_id,
            params={"customer": customer},
        )
    )


def payment_method_detach(payment_method_id: str) -> dict[str, Any]:
    return _call(lambda: _client().v1.payment_methods.detach(payment_method_id))


# --- payments and refunds ------------------------------------------------------------------


def payment_intent_create(
    *,
    amount_cents: int,
    customer: str,
    payment_method: str,
    off_session: bool,
    metadata: dict[str, str],
    idempotency_key: str,
) -> dict[str, Any]:
    """Create and confirm at once. Off session: the saved card, the family not present (a
    decline or a bank asking for authentication is a 402 CardError). On session: the
    family is on the page and can pass 3-D Secure (``requires_action``)."""
    params: dict[str, Any] = {
        "amount": amount_cents,
        "currency": "usd",
        "customer": customer,
        "payment_method": payment_method,
        # Cards only: no redirect-based methods, so no return_url is needed.
        "payment_method_types": ["card"],
        "confirm": True,
        "metadata": metadata,
    }
    if off_session:
        params["off_session"] = True
    return _call(
        lambda: _client().v1.payment_intents.create(
            params=params,  # type: ignore[arg-type]
            options=_options(idempotency_key),  # type: ignore[arg-type]
        )
    )


def payment_intent_retrieve(payment_intent_id: str) -> dict[str, Any]:
    return _call(lambda: _client().v1.payment_intents.retrieve(payment_intent_id))


def refund_create(
    *, payment_intent: str, amount_cents: int, metadata: dict[str, str], idempotency_key: str
) -> dict[str, Any]:
    # No ``reason``: ours is free text kept in our own records, not Stripe's short list.
    params = {"payment_intent": payment_intent, "amount": amount_cents, "metadata": metadata}
    return _call(
        lambda: _client().v1.refunds.create(
            params=params,  # type: ignore[arg-type]
            options=_options(idempotency_key),  # type: ignore[arg-type]
        )
    )


def charge_retrieve(charge_id: str) -> dict[str, Any]:
    """The charge with its refunds listed (newer API versions leave them out by default)."""
    return _call(lambda: _client().v1.charges.retrieve(charge_id, params={"expand": ["refunds"]}))


# --- webhooks ------------------------------------------------------------------------------


def event_verify(payload: bytes, signature_header: str | None) -> dict[str, Any]:
    """The event in a webhook body, once its Stripe-Signature verifies against our secret
    and its timestamp is recent (STRIPE_WEBHOOK_TOLERANCE seconds); else BadSignature."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise BadSignature("STRIPE_WEBHOOK_SECRET is not set.")
    try:
        stripe.WebhookSignature.verify_header(
            payload, signature_header, secret, tolerance=settings.STRIPE_WEBHOOK_TOLERANCE
        )
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as error:
        raise BadSignature(str(error)) from error
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise BadSignature("Not a Stripe event.")
    return event
