"""Stripe's webhooks: signature and age checked, each event once, the object re-fetched
from Stripe (the payload's shape is not trusted), the right end state in any order.

localstripe signs and sends payment_intent.succeeded/payment_failed (one test lets it send
them to a live server); it never sends setup_intent.* or charge.refunded, so those events
are built here in Stripe's shape and signed as Stripe signs, while the objects they name
are real ones in localstripe that the handler re-fetches.
"""

import time
from typing import Any

import pytest
import requests
from django.test import Client

from billing import charges, common, services
from billing.models import CaseBilling, PaymentAttempt, WebhookEvent
from cases.models import Case, Status, TimelineEvent
from core.models import OutboundEmail
from intake.models import Intake
from tests.billing.conftest import (
    DECLINED_AT_CHARGE,
    SECRET_KEY,
    browser_confirms_setup,
    case_to_charge,
    event,
    ls_get,
    post_event,
    signed,
    webhook_register,
)
from tests.factories import CaseFactory, specialty

pytestmark = pytest.mark.usefixtures("stripe_on")

S = CaseBilling.State
A = PaymentAttempt.Status


def paid_case(base: str, family: Any) -> tuple[Case, PaymentAttempt]:
    case = case_to_charge(base, family)
    attempt = services.payment_charge(case=case, by=None)
    assert attempt is not None and attempt.status == A.SUCCEEDED
    return case, attempt


def snapshot(case: Case) -> tuple[Any, ...]:
    billing = CaseBilling.objects.get(case=case)
    return (
        Case.objects.get(pk=case.pk).status,
        billing.state,
        billing.paid_cents,
        billing.refunded_cents,
        TimelineEvent.objects.filter(case=case).count(),
        OutboundEmail.objects.filter(case=case).count(),
        WebhookEvent.objects.count(),
    )


@pytest.mark.parametrize(
    "header",
    [
        "t={now},v1=0123456789abcdef",  # wrong signature
        "garbage",
        "",  # missing
        "signed-with-another-secret",
        "signed-310-seconds-ago",
    ],
)
def test_bad_or_old_signature_is_400_and_changes_nothing(
    stripe_on: str, family: Any, client: Client, header: str
) -> None:
    case = case_to_charge(stripe_on, family, number=DECLINED_AT_CHARGE)
    services.payment_charge(case=case, by=None)
    attempt = PaymentAttempt.objects.get(case=case)
    # An event that would change things if it were believed.
    body = event("payment_intent.succeeded", {"id": "pi_forged", "object": "payment_intent"})
    if header == "signed-with-another-secret":
        header = signed(body, secret="whsec_someone_else")
    elif header == "signed-310-seconds-ago":
        header = signed(body, at=int(time.time()) - 310)
    else:
        header = header.format(now=int(time.time()))
    before = snapshot(case)
    response = post_event(client, body, header)
    assert response.status_code == 400
    assert snapshot(case) == before
    assert not WebhookEvent.objects.exists()
    attempt.refresh_from_db()
    assert attempt.status == A.FAILED


def test_within_the_tolerance_is_accepted(stripe_on: str, client: Client) -> None:
    body = event("customer.created", {"id": "cus_x", "object": "customer"})
    assert post_event(client, body, signed(body, at=int(time.time()) - 290)).status_code == 200


def test_the_same_event_five_times_has_one_effect(
    stripe_on: str, family: Any, client: Client
) -> None:
    """A payment_intent.succeeded whose API answer we never recorded (the attempt is still
    "sent"): the first delivery pays the case, the four replays answer 200 and do nothing."""
    case = case_to_charge(stripe_on, family)
    _, billing = common.billing_lock(case)
    attempt = charges._attempt_new(case, billing, on_session=False)
    # The charge happened at Stripe, but its answer was lost before we saw it.
    intent = requests.post(
        f"{stripe_on}/v1/payment_intents",
        data={
            "amount": 87500,
            "currency": "usd",
            "customer": billing.customer.customer_id,
            "payment_method": billing.payment_method_id,
            "confirm": "true",
            "off_session": "true",
            "metadata[case_reference]": case.reference,
            "metadata[attempt]": "1",
        },
        headers={"Authorization": f"Bearer {SECRET_KEY}"},
        timeout=10,
    ).json()
    body = event("payment_intent.succeeded", intent, event_id="evt_once")
    answers = [post_event(client, body).status_code for _ in range(5)]
    assert answers == [200] * 5
    assert WebhookEvent.objects.filter(event_id="evt_once").count() == 1
    attempt.refresh_from_db()
    assert (attempt.status, attempt.payment_intent_id) == (A.SUCCEEDED, intent["id"])
    billing.refresh_from_db()
    assert (billing.state, billing.paid_cents) == (S.PAID, 87500)
    assert Case.objects.get(pk=case.pk).status == Status.ASSIGNED
    assert TimelineEvent.objects.filter(case=case, to_status=Status.ASSIGNED).count() == 1
    assert OutboundEmail.objects.filter(case=case, kind="payment_received").count() == 1


def test_the_payload_is_not_trusted(stripe_on: str, family: Any, client: Client) -> None:
    """An event whose payload says "succeeded" for a PaymentIntent that Stripe says was
    declined: the handler re-fetches it and the case stays waiting for payment."""
    case = case_to_charge(stripe_on, family, number=DECLINED_AT_CHARGE)
    attempt = services.payment_charge(case=case, by=None)
    assert attempt is not None and attempt.payment_intent_id is None  # localstripe's 402
    failed = next(
        pi
        for pi in ls_get(stripe_on, "/v1/payment_intents")["data"]
        if pi["metadata"].get("case_reference") == case.reference
    )
    lie = {**failed, "status": "succeeded", "amount_received": 87500}
    assert post_event(client, event("payment_intent.succeeded", lie)).status_code == 200
    attempt.refresh_from_db()
    assert (attempt.status, attempt.payment_intent_id) == (A.FAILED, failed["id"])
    assert CaseBilling.objects.get(case=case).state == S.PAYMENT_NEEDED
    assert Case.objects.get(pk=case.pk).status == Status.PAYMENT_NEEDED


def test_out_of_order_events_end_in_the_right_state(
    stripe_on: str, family: Any, client: Client
) -> None:
    """Declined off session, then paid on the page with another card. The events arrive
    newest first and the old failure last, twice: the case stays paid and assigned."""
    case = case_to_charge(stripe_on, family, number=DECLINED_AT_CHARGE)
    first = services.payment_charge(case=case, by=None)
    assert first is not None and first.status == A.FAILED
    secret = services.card_setup_start(case=case, by=family)
    new_card = browser_confirms_setup(stripe_on, secret)
    paid = services.payment_on_session_start(case=case, by=family, setup_intent_id=new_card["id"])
    assert paid.attempt.status == A.SUCCEEDED
    intents = {
        pi["metadata"]["attempt"]: pi for pi in ls_get(stripe_on, "/v1/payment_intents")["data"]
    }
    before = snapshot(case)
    for kind, number in [
        ("payment_intent.succeeded", "2"),
        ("payment_intent.payment_failed", "1"),
        ("payment_intent.succeeded", "2"),
        ("payment_intent.payment_failed", "1"),
    ]:
        assert post_event(client, event(kind, intents[number])).status_code == 200
    after = snapshot(case)
    assert after[:6] == before[:6]  # nothing changed but the stored events
    assert after[6] == before[6] + 4
    assert CaseBilling.objects.get(case=case).state == S.PAID
    assert Case.objects.get(pk=case.pk).status == Status.ASSIGNED
    assert list(
        PaymentAttempt.objects.filter(case=case).order_by("number").values_list("status")
    ) == [(A.FAILED,), (A.SUCCEEDED,)]


def test_success_event_before_the_api_answer_is_recorded(
    stripe_on: str, family: Any, client: Client
) -> None:
    """The webhook may be handled before the charge's own answer is: then the answer finds
    the attempt already paid and changes nothing more."""
    case = case_to_charge(stripe_on, family)
    _, billing = common.billing_lock(case)
    attempt = charges._attempt_new(case, billing, on_session=False)
    intent = requests.post(
        f"{stripe_on}/v1/payment_intents",
        data={
            "amount": 87500,
            "currency": "usd",
            "customer": billing.customer.customer_id,
            "payment_method": billing.payment_method_id,
            "confirm": "true",
            "metadata[case_reference]": case.reference,
            "metadata[attempt]": "1",
        },
        headers={"Authorization": f"Bearer {SECRET_KEY}"},
        timeout=10,
    ).json()
    assert post_event(client, event("payment_intent.succeeded", intent)).status_code == 200
    before = snapshot(case)
    locked, billing = common.billing_lock(case)
    attempt.refresh_from_db()
    charges.payment_intent_apply(locked, billing, attempt, intent, None)  # the late answer
    assert snapshot(case) == before


def test_setup_intent_succeeded_fills_in_a_card_the_page_never_posted(
    stripe_on: str, family: Any, client: Client
) -> None:
    """The family's browser confirmed the card with Stripe but the tab closed before it
    posted back. localstripe never sends setup_intent.succeeded: the event is built in
    Stripe's shape; the SetupIntent and card it names are real ones, re-fetched."""
    case = CaseFactory(family=family, status=Status.DRAFT, specialty=specialty("cardiology"))
    Intake.objects.create(case=case)
    secret = services.card_setup_start(case=case, by=family)
    intent = browser_confirms_setup(stripe_on, secret)
    body = event("setup_intent.succeeded", {**intent, "payment_method": "pm_forged"})
    assert post_event(client, body).status_code == 200
    billing = CaseBilling.objects.get(case=case)
    assert (billing.state, billing.payment_method_id) == (S.CARD_SAVED, intent["payment_method"])
    assert billing.card_last4 == "4242"
    # Once removed, a replayed or late copy of the event does not bring the card back.
    services.card_remove(case=case, by=family)
    late = event("setup_intent.succeeded", intent)
    assert post_event(client, late).status_code == 200
    assert CaseBilling.objects.get(case=case).payment_method_id == ""


def test_setup_intent_setup_failed_changes_nothing(
    stripe_on: str, family: Any, client: Client
) -> None:
    """Built in Stripe's shape (localstripe does not send it); the family saw the error on
    the page already."""
    case = CaseFactory(family=family, status=Status.DRAFT, specialty=specialty("cardiology"))
    Intake.objects.create(case=case)
    secret = services.card_setup_start(case=case, by=family)
    intent = browser_confirms_setup(stripe_on, secret, "4000000000000002")
    seti = ls_get(stripe_on, f"/v1/setup_intents/{secret.split('_secret_')[0]}")
    assert "error" in intent
    assert post_event(client, event("setup_intent.setup_failed", seti)).status_code == 200
    assert CaseBilling.objects.get(case=case).state == S.NO_CARD


def test_charge_refunded_outside_the_portal_is_recorded(
    stripe_on: str, family: Any, client: Client
) -> None:
    """A refund made in Stripe's dashboard. localstripe never sends charge.refunded: the
    event is built in Stripe's shape; the charge and refund are real and re-fetched."""
    case, attempt = paid_case(stripe_on, family)
    intent = ls_get(stripe_on, f"/v1/payment_intents/{attempt.payment_intent_id}")
    charge_id = common.stripe_id(intent["latest_charge"])
    requests.post(
        f"{stripe_on}/v1/refunds",
        data={"payment_intent": attempt.payment_intent_id, "amount": 20000},
        headers={"Authorization": f"Bearer {SECRET_KEY}"},
        timeout=10,
    ).raise_for_status()
    charge = ls_get(stripe_on, f"/v1/charges/{charge_id}")
    body = event("charge.refunded", {**charge, "amount_refunded": 87500})  # a lie: re-fetched
    for _ in range(2):
        assert post_event(client, body).status_code == 200
    billing = CaseBilling.objects.get(case=case)
    assert (billing.state, billing.refunded_cents) == (S.PARTIALLY_REFUNDED, 20000)
    notes = TimelineEvent.objects.filter(case=case, note__contains="outside the portal")
    assert notes.count() == 1


def test_events_about_objects_that_are_not_ours_are_stored_and_ignored(
    stripe_on: str, client: Client
) -> None:
    body = event("payment_intent.succeeded", {"id": "pi_not_at_stripe"})
    assert post_event(client, body).status_code == 200
    assert WebhookEvent.objects.get().type == "payment_intent.succeeded"
    assert post_event(client, event("invoice.paid", {"id": "in_1"})).status_code == 200


def test_a_replay_answers_200(stripe_on: str, client: Client) -> None:
    body = event("customer.created", {"id": "cus_x"}, event_id="evt_twice")
    assert post_event(client, body).content == b"ok"
    assert post_event(client, body).content == b"already handled"


def test_get_is_not_allowed(stripe_on: str, client: Client) -> None:
    assert client.get("/billing/stripe/webhook/").status_code == 405


@pytest.mark.django_db(transaction=True)
def test_localstripe_delivers_signed_events_to_our_endpoint(
    stripe_on: str, family: Any, live_server: Any
) -> None:
    """The real path: localstripe signs payment_intent.* events as Stripe does and posts
    them to our endpoint on the live server, which verifies and stores them."""
    webhook_register(stripe_on, f"{live_server.url}/billing/stripe/webhook/")
    case = case_to_charge(stripe_on, family, number=DECLINED_AT_CHARGE)
    services.payment_charge(case=case, by=None)
    attempt = PaymentAttempt.objects.get(case=case)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not attempt.payment_intent_id:
        time.sleep(0.2)
        attempt.refresh_from_db()
    # The webhook filled in the PaymentIntent id that localstripe's 402 answer left out.
    stored = WebhookEvent.objects.get(object_id=attempt.payment_intent_id)
    assert stored.type == "payment_intent.payment_failed"
    assert stored.event_id.startswith("evt_") and stored.processed_at is not None
    assert attempt.status == A.FAILED
