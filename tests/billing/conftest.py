"""localstripe for the billing tests, and helpers that act as Stripe.js and Stripe would.

``localstripe_url`` is the localstripe .ci/run started (STRIPE_API_BASE) when set, else (and
in each pytest-xdist worker) one started here on a free loopback port by
``billing.localstripe_server``. ``stripe_on``
points the settings at it and empties its store first, so every test starts with no
customers, cards or payments. ``boundary`` puts ``StripeAtTheBoundary`` between the Stripe
SDK and localstripe, for what localstripe cannot show (idempotent replays, lost answers,
Stripe's own error answers). These tests import the SDK for that; the app never does outside
billing/stripe_client.py.
"""

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import stripe
from django.test import Client

from billing import services, stripe_client
from billing.models import CaseBilling
from cases.models import Case, Status
from tests.conftest import csp_for
from tests.factories import CaseFactory, specialty
from tests.services import free_port, wait_for_port

SECRET_KEY = "sk_test_localstripe"
PUBLISHABLE_KEY = "pk_test_localstripe"
WEBHOOK_SECRET = "whsec_test_portal"
VISA = "4242424242424242"
DECLINED_AT_CHARGE = "4000000000000341"  # saves fine, declined when charged off session
DECLINED_AT_SAVE = "4000000000000002"
NEEDS_3DS = "4000002500003155"  # localstripe asks for 3-D Secure on every use


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    existing = os.environ.get("STRIPE_API_BASE", "").rstrip("/")
    # stripe_on empties localstripe before every test: pytest-xdist's workers run tests at
    # the same time, so each starts its own rather than share the one .ci/run started.
    if existing and not os.environ.get("PYTEST_XDIST_WORKER"):
        yield existing
        return
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "billing.localstripe_server", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def stripe_on(localstripe_url: str, settings: Any) -> Iterator[str]:
    """Settings pointing at an empty localstripe, with its origin allowed by the CSP (base.py
    builds the policy from the environment at import time)."""
    requests.delete(f"{localstripe_url}/_config/data", timeout=10).raise_for_status()
    # No webhook from an earlier test may reach this one's server.
    webhook_register(localstripe_url, "http://127.0.0.1:9/unused", events=["none.none"])
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = PUBLISHABLE_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_JS_URL = f"{localstripe_url}/js.stripe.com/v3/"
    settings.SECURE_CSP = csp_for(settings)
    stripe_client.HTTP_CLIENT = None
    yield localstripe_url
    stripe_client.HTTP_CLIENT = None


def webhook_register(base: str, url: str, *, events: list[str] | None = None) -> None:
    """Tell localstripe where to send its (signed) webhooks."""
    body: dict[str, Any] = {"url": url, "secret": WEBHOOK_SECRET}
    if events is not None:
        body["events"] = events
    requests.post(f"{base}/_config/webhooks/portal", json=body, timeout=10).raise_for_status()


def ls_get(base: str, path: str) -> dict[str, Any]:
    response = requests.get(
        f"{base}{path}", headers={"Authorization": f"Bearer {SECRET_KEY}"}, timeout=10
    )
    response.raise_for_status()
    return dict(response.json())


def ls_count(base: str, kind: str) -> int:
    """How many objects of a kind (``payment_intents``, ``customers``…) localstripe holds."""
    return len(ls_get(base, f"/v1/{kind}?limit=100")["data"])


def browser_confirms_setup(
    base: str, client_secret: str, number: str = VISA, *, authenticate: bool = True
) -> dict[str, Any]:
    """What Stripe.js does in the browser: send the card to Stripe (never to us) to confirm
    the SetupIntent, with the publishable key."""
    setup_intent = client_secret.split("_secret_")[0]
    response = requests.post(
        f"{base}/v1/setup_intents/{setup_intent}/confirm",
        json={
            "key": PUBLISHABLE_KEY,
            "client_secret": client_secret,
            "payment_method_data": {
                "type": "card",
                "card": {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"},
            },
        },
        timeout=10,
    )
    result = dict(response.json())
    if result.get("status") == "requires_action" and authenticate:
        # The family passes 3-D Secure in Stripe.js's dialog: it confirms again.
        response = requests.post(
            f"{base}/v1/setup_intents/{setup_intent}/confirm",
            json={"key": PUBLISHABLE_KEY, "client_secret": client_secret},
            timeout=10,
        )
        result = dict(response.json())
    return result


def browser_authenticates(base: str, client_secret: str, *, success: bool) -> dict[str, Any]:
    """What Stripe.js does when the family passes (or fails) 3-D Secure on a payment."""
    payment_intent = client_secret.split("_secret_")[0]
    response = requests.post(
        f"{base}/v1/payment_intents/{payment_intent}/_authenticate?success={str(success).lower()}",
        json={"key": PUBLISHABLE_KEY, "client_secret": client_secret},
        timeout=10,
    )
    return dict(response.json())


def card_saved(base: str, case: Case, number: str = VISA) -> CaseBilling:
    """Save a card on ``case`` through the real path: SetupIntent, Stripe.js, re-fetch."""
    family = case.family
    assert family is not None
    secret = services.card_setup_start(case=case, by=family)
    confirmed = browser_confirms_setup(base, secret, number)
    assert confirmed.get("status") == "succeeded", confirmed
    return services.card_setup_complete(case=case, setup_intent_id=confirmed["id"], by=family)


def case_to_charge(
    base: str,
    family: Any,
    *,
    number: str | None = VISA,
    slug: str = "cardiology",
    status: Status = Status.AWAITING_FAMILY_CONFIRMATION,
) -> Case:
    """A submitted case (card saved, fee fixed) that the family has just confirmed."""
    case = CaseFactory(family=family, status=Status.DRAFT, specialty=specialty(slug))
    if number is not None:
        card_saved(base, case, number)
    services.fee_fix_at_submission(case=case)
    # Fixtures set the status directly; the code under test moves it through the lifecycle.
    Case.objects.filter(pk=case.pk).update(status=status)
    case.refresh_from_db()
    return case


def signed(payload: bytes, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """A Stripe-Signature header, computed as Stripe does."""
    timestamp = int(time.time()) if at is None else at
    digest = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


def event(kind: str, obj: dict[str, Any], *, event_id: str | None = None) -> bytes:
    """A Stripe-shaped event body."""
    return json.dumps(
        {
            "id": event_id or f"evt_test_{time.monotonic_ns()}",
            "object": "event",
            "type": kind,
            "created": int(time.time()),
            "data": {"object": obj},
            "livemode": False,
            "api_version": "2025-01-01",
        }
    ).encode()


def post_event(client: Client, body: bytes, header: str | None = None) -> Any:
    return client.post(
        "/billing/stripe/webhook/",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": header if header is not None else signed(body)},
    )


@pytest.fixture
def _billing_urls() -> None:
    """Nothing left to do: config/urls.py routes billing. Kept only because
    tests/browser/test_billing.py still imports it by name; drop both together."""


def card_step_url(case: Case) -> str:
    """The request form's card step (the intake step router calls billing.views.card_step)."""
    from django.urls import reverse

    return reverse("intake_step", args=[case.reference, "card"])


class _BoundaryHTTP(stripe.HTTPClient):
    name = "boundary"

    def __init__(self, owner: "StripeAtTheBoundary") -> None:
        super().__init__()
        self.owner = owner

    def request(self, method, url, headers, post_data=None):  # type: ignore[no-untyped-def]
        return self.owner.answer(method, url, dict(headers or {}), post_data)

    def _sleep_time_seconds(self, num_retries: int) -> float:
        return 0.0  # the SDK backs off between retries; the tests need not wait

    def close(self) -> None:
        pass


class StripeAtTheBoundary:
    """An HTTP client for the Stripe SDK (``billing.stripe_client.HTTP_CLIENT``) that sits
    where the network is: it forwards requests to localstripe and can, like Stripe and
    unlike localstripe, replay a request sent again with the same Idempotency-Key; lose an
    answer after the request reached Stripe (a timeout); or answer a request with a canned,
    Stripe-shaped response. Every request is recorded.
    """

    def __init__(self, base: str) -> None:
        self.base = base
        self.client = _BoundaryHTTP(self)
        self.sent: list[dict[str, Any]] = []
        self.replayed: list[str] = []
        self.idempotent = True
        self.lose_answers: dict[str, int] = {}  # path -> answers to lose after forwarding
        self.canned: dict[str, tuple[int, dict[str, Any]]] = {}  # path -> (status, body)
        self._answers: dict[str, tuple[str, int, dict[str, str]]] = {}

    def answer(
        self, method: str, url: str, headers: dict[str, str], body: Any
    ) -> tuple[str, int, dict[str, str]]:
        path = urlsplit(url).path
        key = headers.get("Idempotency-Key", "")
        self.sent.append({"method": method, "path": path, "key": key, "body": body or ""})
        if self.idempotent and method == "post" and key in self._answers:
            self.replayed.append(key)
            return self._lose_or_give(path, self._answers[key])
        if path in self.canned:
            status, data = self.canned[path]
            result = (json.dumps(data), status, {"Request-Id": "req_canned"})
        else:
            target = urlsplit(self.base)._replace(path=path, query=urlsplit(url).query)
            response = requests.request(
                method,
                target.geturl(),
                data=body,
                headers={k: v for k, v in headers.items() if k.lower() != "content-length"},
                timeout=10,
            )
            result = (response.text, response.status_code, dict(response.headers))
        if method == "post" and key and self.idempotent:
            self._answers[key] = result
        return self._lose_or_give(path, result)

    def _lose_or_give(
        self, path: str, result: tuple[str, int, dict[str, str]]
    ) -> tuple[str, int, dict[str, str]]:
        if self.lose_answers.get(path, 0) > 0:
            self.lose_answers[path] -= 1
            raise stripe.APIConnectionError("Read timed out (answer lost).", should_retry=True)
        return result

    def keys_sent(self, path: str) -> list[str]:
        return [r["key"] for r in self.sent if r["path"] == path and r["method"] == "post"]


@pytest.fixture
def boundary(stripe_on: str) -> Iterator[StripeAtTheBoundary]:
    fake = StripeAtTheBoundary(stripe_on)
    stripe_client.HTTP_CLIENT = fake.client
    yield fake
    stripe_client.HTTP_CLIENT = None
