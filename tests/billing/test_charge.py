"""Charging a case once the family has confirmed: one off-session PaymentIntent, recorded,
never twice; failures wait in "payment needed" for the family.

Against localstripe unless a test says otherwise: where localstripe cannot show what Stripe
does (it ignores Idempotency-Key, and answers an off-session charge that needs 3-D Secure
with 200 ``requires_action`` where Stripe answers 402 ``authentication_required``), the
test works at the SDK's HTTP-client boundary (``boundary``) and says so.
"""

import threading
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.db import connection

from billing import services
from billing.models import CaseBilling, PaymentAttempt
from cases.models import Case, Status, TimelineEvent
from core.models import OutboundEmail
from tests.billing.conftest import (
    DECLINED_AT_CHARGE,
    NEEDS_3DS,
    StripeAtTheBoundary,
    case_to_charge,
    ls_count,
    ls_get,
)
from tests.services import need_postgres

pytestmark = pytest.mark.usefixtures("stripe_on")

S = CaseBilling.State
A = PaymentAttempt.Status


def test_a_confirmed_case_is_charged_once_off_session_and_assigned(
    stripe_on: str, family: Any, coordinator: Any
) -> None:
    case = case_to_charge(stripe_on, family)
    attempt = services.payment_charge(case=case, by=coordinator)
    assert attempt is not None
    assert (attempt.number, attempt.status, attempt.amount_cents, attempt.on_session) == (
        1,
        A.SUCCEEDED,
        87500,
        False,
    )
    assert attempt.idempotency_key == f"case-{case.pk}-attempt-1"
    billing = CaseBilling.objects.get(case=case)
    assert (billing.state, billing.paid_cents) == (S.PAID, 87500)
    assert billing.paid_at is not None
    case.refresh_from_db()
    assert case.status == Status.ASSIGNED
    intent = ls_get(stripe_on, f"/v1/payment_intents/{attempt.payment_intent_id}")
    assert (intent["amount"], intent["currency"], intent["status"]) == (87500, "usd", "succeeded")
    assert intent["customer"] == billing.customer.customer_id
    assert intent["payment_method"] == billing.payment_method_id
    # The case reference and attempt number only: never anything medical.
    assert intent["metadata"] == {"case_reference": case.reference, "attempt": "1"}
    assert OutboundEmail.objects.filter(case=case, kind="payment_received", to=family.email)
    assert TimelineEvent.objects.filter(case=case, to_status=Status.ASSIGNED).exists()


def test_called_twice_charges_once(stripe_on: str, family: Any, coordinator: Any) -> None:
    case = case_to_charge(stripe_on, family)
    first = services.payment_charge(case=case, by=coordinator)
    second = services.payment_charge(case=case, by=coordinator)
    assert first == second
    assert PaymentAttempt.objects.filter(case=case).count() == 1
    assert ls_count(stripe_on, "payment_intents") == 1
    assert CaseBilling.objects.get(case=case).paid_cents == 87500


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_calls_charge_once(stripe_on: str, family: Any, coordinator: Any) -> None:
    """Two coordinators (or a double click) at the same moment: the row lock on the case and
    its billing makes the second wait, then find it paid. Real PostgreSQL only."""
    need_postgres()
    case = case_to_charge(stripe_on, family)
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def charge() -> None:
        try:
            barrier.wait()
            results.append(services.payment_charge(case=Case.objects.get(pk=case.pk), by=None))
        except Exception as error:
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=charge) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(isinstance(r, PaymentAttempt) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert PaymentAttempt.objects.filter(case=case).count() == 1
    assert ls_count(stripe_on, "payment_intents") == 1
    assert Case.objects.get(pk=case.pk).status == Status.ASSIGNED


def test_declined_card_waits_for_payment_and_tells_the_family(
    stripe_on: str, family: Any, coordinator: Any
) -> None:
    case = case_to_charge(stripe_on, family, number=DECLINED_AT_CHARGE)
    attempt = services.payment_charge(case=case, by=coordinator)
    assert attempt is not None
    assert (attempt.status, attempt.failure_code) == (A.FAILED, "card_declined")
    assert CaseBilling.objects.get(case=case).state == S.PAYMENT_NEEDED
    case.refresh_from_db()
    assert case.status == Status.PAYMENT_NEEDED  # no specialist work starts
    email = OutboundEmail.objects.get(case=case, kind="payment_needed")
    assert email.to == family.email
    assert f"/cases/{case.reference}/billing/pay/" in email.text
    assert "4242" not in email.text and "0341" not in email.text
    # The coordinator sees it: an alert, and the timeline says why.
    assert OutboundEmail.objects.filter(case=case, kind="coordinator_alert", to=coordinator.email)
    assert TimelineEvent.objects.filter(case=case, note__contains="declined").exists()


def test_3d_secure_card_off_session_waits_for_the_family(
    stripe_on: str, family: Any, coordinator: Any
) -> None:
    # localstripe answers 200 requires_action here (Stripe: 402, tested further down).
    case = case_to_charge(stripe_on, family, number=NEEDS_3DS)
    attempt = services.payment_charge(case=case, by=coordinator)
    assert attempt is not None and attempt.status == A.REQUIRES_ACTION
    case.refresh_from_db()
    assert case.status == Status.PAYMENT_NEEDED
    assert OutboundEmail.objects.filter(case=case, kind="payment_needed").count() == 1


def test_a_free_specialty_goes_straight_on_without_stripe(
    stripe_on: str, family: Any, coordinator: Any
) -> None:
    case = case_to_charge(stripe_on, family, number=None, slug="cardiac-surgery")
    assert services.payment_charge(case=case, by=coordinator) is None
    case.refresh_from_db()
    assert case.status == Status.ASSIGNED
    assert CaseBilling.objects.get(case=case).state == S.NOT_CHARGEABLE
    assert not PaymentAttempt.objects.filter(case=case).exists()
    assert ls_count(stripe_on, "customers") == 0
    assert ls_count(stripe_on, "payment_intents") == 0


@pytest.mark.parametrize("status", [Status.WITHDRAWN, Status.DECLINED])
def test_withdrawn_or_declined_cases_are_never_charged(
    stripe_on: str, family: Any, coordinator: Any, status: Status
) -> None:
    case = case_to_charge(stripe_on, family, status=status)
    with pytest.raises(services.PaymentRefused, match="never charged"):
        services.payment_charge(case=case, by=coordinator)
    assert ls_count(stripe_on, "payment_intents") == 0
    assert not PaymentAttempt.objects.exists()


def test_a_case_before_confirmation_is_not_charged(
    stripe_on: str, family: Any, coordinator: Any
) -> None:
    case = case_to_charge(stripe_on, family, status=Status.IN_TRIAGE)
    with pytest.raises(services.PaymentRefused, match="confirmed the charges"):
        services.payment_charge(case=case, by=coordinator)
    assert ls_count(stripe_on, "payment_intents") == 0


def test_no_saved_card_asks_the_family_to_pay(
    stripe_on: str, family: Any, coordinator: Any
) -> None:
    case = case_to_charge(stripe_on, family)
    services.card_remove(case=case, by=family)
    assert services.payment_charge(case=case, by=coordinator) is None
    case.refresh_from_db()
    assert case.status == Status.PAYMENT_NEEDED
    assert OutboundEmail.objects.filter(case=case, kind="payment_needed").exists()
    assert ls_count(stripe_on, "payment_intents") == 0


def test_fee_fixed_at_submission_is_what_is_charged(
    stripe_on: str, family: Any, coordinator: Any
) -> None:
    import datetime

    from django.utils import timezone

    from billing.models import Fee

    case = case_to_charge(stripe_on, family)
    Fee.objects.create(specialty=None, amount_cents=99900, effective_from=timezone.localdate())
    assert Fee.objects.filter(effective_from__gt=datetime.date(2026, 1, 1)).exists()
    attempt = services.payment_charge(case=case, by=coordinator)
    assert attempt is not None and attempt.amount_cents == 87500


# --- at the HTTP-client boundary -------------------------------------------------------------


def test_a_lost_answer_is_retried_with_the_same_key_and_charges_once(
    boundary: StripeAtTheBoundary, family: Any, coordinator: Any
) -> None:
    """Tested at the HTTP-client boundary: localstripe ignores Idempotency-Key, so the
    boundary replays a repeated key as Stripe does. The first answer is lost after Stripe
    charged (a read timeout); the SDK retries with the same key and gets the first
    PaymentIntent back instead of a second charge."""
    case = case_to_charge(boundary.base, family)
    boundary.lose_answers["/v1/payment_intents"] = 1
    attempt = services.payment_charge(case=case, by=coordinator)
    assert attempt is not None and attempt.status == A.SUCCEEDED
    keys = boundary.keys_sent("/v1/payment_intents")
    assert keys == [f"case-{case.pk}-attempt-1"] * 2
    assert boundary.replayed == keys[1:]
    assert ls_count(boundary.base, "payment_intents") == 1


def test_no_answer_at_all_leaves_the_attempt_open_and_the_next_call_reuses_its_key(
    boundary: StripeAtTheBoundary, family: Any, coordinator: Any
) -> None:
    """Tested at the HTTP-client boundary (localstripe ignores Idempotency-Key): every try
    of the first call loses its answer; the attempt stays "sent", the case waits; the next
    call repeats the same request with the same key, and Stripe's replay says it was paid."""
    case = case_to_charge(boundary.base, family)
    boundary.lose_answers["/v1/payment_intents"] = 3  # the first try and the SDK's 2 retries
    attempt = services.payment_charge(case=case, by=coordinator)
    assert attempt is not None and attempt.status == A.PENDING
    case.refresh_from_db()
    assert case.status == Status.AWAITING_FAMILY_CONFIRMATION
    again = services.payment_charge(case=case, by=coordinator)
    assert again == attempt
    again.refresh_from_db()
    assert again.status == A.SUCCEEDED
    keys = boundary.keys_sent("/v1/payment_intents")
    assert keys == [f"case-{case.pk}-attempt-1"] * 4
    assert ls_count(boundary.base, "payment_intents") == 1
    assert PaymentAttempt.objects.filter(case=case).count() == 1


def test_authentication_required_off_session(
    boundary: StripeAtTheBoundary, family: Any, coordinator: Any
) -> None:
    """Tested at the HTTP-client boundary with Stripe's answer: a 402 card_error with code
    authentication_required and the PaymentIntent in requires_payment_method (localstripe
    answers 200 requires_action instead)."""
    case = case_to_charge(boundary.base, family)
    boundary.canned["/v1/payment_intents"] = (
        402,
        {
            "error": {
                "type": "card_error",
                "code": "authentication_required",
                "decline_code": "authentication_required",
                "message": "This payment required an authentication action to complete.",
                "payment_intent": {
                    "id": "pi_3Test402",
                    "object": "payment_intent",
                    "status": "requires_payment_method",
                    "amount": 87500,
                    "currency": "usd",
                    "metadata": {"case_reference": case.reference, "attempt": "1"},
                },
            }
        },
    )
    attempt = services.payment_charge(case=case, by=coordinator)
    assert attempt is not None
    assert (attempt.status, attempt.failure_code, attempt.payment_intent_id) == (
        A.REQUIRES_ACTION,
        "authentication_required",
        "pi_3Test402",
    )
    case.refresh_from_db()
    assert case.status == Status.PAYMENT_NEEDED
    assert OutboundEmail.objects.filter(case=case, kind="payment_needed").count() == 1


def test_what_is_sent_to_stripe(
    boundary: StripeAtTheBoundary, family: Any, coordinator: Any
) -> None:
    """The charge request as Stripe receives it (read at the HTTP-client boundary)."""
    case = case_to_charge(boundary.base, family)
    services.payment_charge(case=case, by=coordinator)
    [sent] = [r for r in boundary.sent if r["path"] == "/v1/payment_intents"]
    fields = parse_qs(sent["body"])
    assert fields["amount"] == ["87500"] and fields["currency"] == ["usd"]
    assert fields["off_session"] == ["true"] and fields["confirm"] == ["true"]
    assert fields["metadata[case_reference]"] == [case.reference]
    assert not [
        k
        for k in fields
        if k.startswith("metadata") and "case_reference" not in k and "attempt" not in k
    ]
    assert sent["key"] == f"case-{case.pk}-attempt-1"
