"""The family's page to pay when the charge after their confirmation failed: the saved card
again, 3-D Secure when the bank asks, or another card."""

import re
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from billing import services
from billing.models import CaseBilling, PaymentAttempt
from billing.webhooks import webhook_handle
from cases.access import NotYours
from cases.actions import LifecycleRefused
from cases.models import AccessEvent, Case, Status
from tests.billing.conftest import (
    DECLINED_AT_CHARGE,
    NEEDS_3DS,
    browser_authenticates,
    browser_confirms_setup,
    case_to_charge,
    ls_count,
)
from tests.conftest import login

pytestmark = pytest.mark.usefixtures("stripe_on")

S = CaseBilling.State
A = PaymentAttempt.Status


def waiting(base: str, family: Any, number: str = DECLINED_AT_CHARGE) -> Case:
    case = case_to_charge(base, family, number=number)
    services.payment_charge(case=case, by=None)
    case.refresh_from_db()
    assert case.status == Status.PAYMENT_NEEDED
    return case


def pay_url(case: Case) -> str:
    return reverse("billing:pay", args=[case.reference])


def attr(page: str, name: str) -> str:
    found = re.search(rf'{name}="([^"]+)"', page)
    assert found, f"no {name} on the page"
    return found.group(1)


def test_the_page_says_what_is_due_and_offers_both_ways(stripe_on: str, family: Any) -> None:
    case = waiting(stripe_on, family)
    response = login(Client(), family).get(pay_url(case))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Amount due: <strong>$875.00</strong>" in page
    assert "Your card was declined." in page
    assert "Pay $875.00 with Visa ending in 0341" in page
    assert "Or pay with another card" in page
    assert attr(page, "data-client-secret").startswith("seti_")


def test_paying_with_another_card(stripe_on: str, family: Any) -> None:
    case = waiting(stripe_on, family)
    client = login(Client(), family)
    secret = attr(client.get(pay_url(case)).content.decode(), "data-client-secret")
    confirmed = browser_confirms_setup(stripe_on, secret)  # Stripe.js, in the browser
    response = client.post(pay_url(case), {"action": "new_card", "setup_intent": confirmed["id"]})
    assert response.status_code == 302
    assert response["Location"] == reverse("case_detail", args=[case.reference])
    billing = CaseBilling.objects.get(case=case)
    assert (billing.state, billing.paid_cents, billing.card_last4) == (S.PAID, 87500, "4242")
    assigned = Case.objects.get(pk=case.pk)
    assert assigned.status == Status.ASSIGNED
    # Paying on the page finishes the assignment like a confirm does: the clock starts.
    assert assigned.assigned_at is not None
    second = PaymentAttempt.objects.get(case=case, number=2)
    assert (second.on_session, second.status) == (True, A.SUCCEEDED)
    assert second.idempotency_key == f"case-{case.pk}-attempt-2"
    # Paid: the page now has nothing to pay.
    again = client.get(pay_url(case))
    assert again.status_code == 302


def test_the_saved_card_declined_again_shows_why_and_keeps_the_page(
    stripe_on: str, family: Any
) -> None:
    case = waiting(stripe_on, family)
    response = login(Client(), family).post(pay_url(case), {"action": "saved_card"})
    assert response.status_code == 400
    assert "Your card was declined. Nothing was charged. Try again or use another card." in (
        response.content.decode()
    )
    assert Case.objects.get(pk=case.pk).status == Status.PAYMENT_NEEDED
    # On the page: no new email for this attempt (the family sees it there).
    assert PaymentAttempt.objects.get(case=case, number=2).status == A.FAILED
    assert case.emails.filter(kind="payment_needed").count() == 1


@pytest.mark.parametrize(("passes", "paid"), [(True, True), (False, False)])
def test_3d_secure_on_the_page(stripe_on: str, family: Any, passes: bool, paid: bool) -> None:
    case = waiting(stripe_on, family, number=NEEDS_3DS)
    client = login(Client(), family)
    response = client.post(pay_url(case), {"action": "saved_card"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Confirm the payment with your bank" in page
    secret = attr(page, "data-client-secret")
    intent = attr(page, 'name="payment_intent" value')
    assert secret.startswith(f"{intent}_secret_")
    browser_authenticates(stripe_on, secret, success=passes)  # Stripe.js's 3-D Secure
    response = client.post(pay_url(case), {"action": "complete", "payment_intent": intent})
    billing = CaseBilling.objects.get(case=case)
    if paid:
        assert response.status_code == 302
        assert billing.state == S.PAID
        assert Case.objects.get(pk=case.pk).status == Status.ASSIGNED
    else:
        assert response.status_code == 400
        assert "Your bank did not confirm the payment. Nothing was charged." in (
            response.content.decode()
        )
        assert billing.state == S.PAYMENT_NEEDED
        assert Case.objects.get(pk=case.pk).status == Status.PAYMENT_NEEDED


def test_3d_secure_completed_after_the_webhook_paid_is_thanked(stripe_on: str, family: Any) -> None:
    # The usual race: Stripe's webhook applies the PaymentIntent (the case moves to the
    # specialist) before the browser comes back from the bank and posts "complete".
    case = waiting(stripe_on, family, number=NEEDS_3DS)
    client = login(Client(), family)
    page = client.post(pay_url(case), {"action": "saved_card"}).content.decode()
    intent = attr(page, 'name="payment_intent" value')
    browser_authenticates(stripe_on, attr(page, "data-client-secret"), success=True)
    assert webhook_handle(
        {
            "id": "evt_paid_first",
            "type": "payment_intent.succeeded",
            "data": {"object": {"id": intent}},
        }
    )
    assert Case.objects.get(pk=case.pk).status == Status.ASSIGNED
    response = client.post(
        pay_url(case), {"action": "complete", "payment_intent": intent}, follow=True
    )
    assert response.redirect_chain == [(reverse("case_detail", args=[case.reference]), 302)]
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(m.startswith("Thank you: your payment of") for m in shown), shown
    assert CaseBilling.objects.get(case=case).state == S.PAID
    assert PaymentAttempt.objects.filter(case=case, status=A.SUCCEEDED).count() == 1
    assert not AccessEvent.objects.filter(case=case, outcome=AccessEvent.Outcome.DENIED).exists()


def test_a_forged_payment_intent_id_is_refused(stripe_on: str, family: Any) -> None:
    case = waiting(stripe_on, family)
    response = login(Client(), family).post(
        pay_url(case), {"action": "complete", "payment_intent": "pi_someone_elses"}
    )
    assert response.status_code == 400
    assert "This payment form has expired" in response.content.decode()
    assert CaseBilling.objects.get(case=case).state == S.PAYMENT_NEEDED


def _refused(case: Case, user: Any) -> list[tuple[Any, str, str]]:
    return list(
        AccessEvent.objects.filter(
            case=case, user=user, outcome=AccessEvent.Outcome.DENIED
        ).values_list("user", "action", "object_type")
    )


@pytest.mark.parametrize("method", ["get", "post"])
def test_only_the_family_pays(
    stripe_on: str,
    family: Any,
    physician: Any,
    coordinator: Any,
    other_family: Any,
    method: str,
) -> None:
    case = waiting(stripe_on, family)
    data = {"action": "saved"} if method == "post" else {}
    # The physician and the coordinator see the case but may not pay (the table's "pay"),
    # someone else's family does not see it: the gate's 404 for all three, audited.
    for user in (physician, coordinator, other_family):
        response = getattr(login(Client(), user), method)(pay_url(case), data)
        assert response.status_code == 404, user
        assert _refused(case, user) == [(user.pk, "pay", "payment")], user
    assert Client().get(pay_url(case)).status_code == 302  # to sign in
    assert PaymentAttempt.objects.filter(case=case).count() == 1
    assert ls_count(stripe_on, "payment_intents") == 1


def test_nothing_to_pay_goes_to_the_case_page(stripe_on: str, family: Any) -> None:
    case = case_to_charge(stripe_on, family)
    response = login(Client(), family).get(pay_url(case), follow=True)
    assert response.redirect_chain == [(reverse("case_detail", args=[case.reference]), 302)]
    assert "There is nothing to pay on this request." in [
        str(m) for m in get_messages(response.wsgi_request)
    ]
    assert ls_count(stripe_on, "payment_intents") == 0
    assert not AccessEvent.objects.filter(outcome=AccessEvent.Outcome.DENIED).exists()


def test_paying_once_the_case_has_moved_on_is_a_message(stripe_on: str, family: Any) -> None:
    # The page was open while the case moved on (a webhook paid it, the team put it on hold):
    # the table's refusal on the case page, and nothing is charged.
    case = waiting(stripe_on, family)
    Case.objects.filter(pk=case.pk).update(status=Status.ON_HOLD)
    response = login(Client(), family).post(pay_url(case), {"action": "saved"}, follow=True)
    assert response.redirect_chain == [(reverse("case_detail", args=[case.reference]), 302)]
    assert "There is nothing to pay on this request." in [
        str(m) for m in get_messages(response.wsgi_request)
    ]
    assert PaymentAttempt.objects.filter(case=case).count() == 1


def test_the_pay_service_asks_the_table_who_and_when(
    stripe_on: str, family: Any, physician: Any
) -> None:
    case = waiting(stripe_on, family)
    with pytest.raises(NotYours, match="Only the child's parent or guardian"):
        services.payment_on_session_start(case=case, by=physician)
    with pytest.raises(NotYours):
        services.payment_on_session_complete(case=case, by=physician, payment_intent_id="pi_x")
    Case.objects.filter(pk=case.pk).update(status=Status.ASSIGNED)
    with pytest.raises(LifecycleRefused) as refused:
        services.payment_on_session_start(case=case, by=family)
    assert refused.value.code == "wrong_state"
    assert PaymentAttempt.objects.filter(case=case).count() == 1


def test_an_empty_new_card_form_never_charges_the_saved_card(stripe_on: str, family: Any) -> None:
    case = waiting(stripe_on, family)
    response = login(Client(), family).post(pay_url(case), {"action": "new_card"})
    assert response.status_code == 400
    assert "Enter the card details" in response.content.decode()
    assert PaymentAttempt.objects.filter(case=case).count() == 1
