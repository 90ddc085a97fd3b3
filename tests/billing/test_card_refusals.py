"""Who may save a card, and when, is the table of actions' "save_card" (the family; the
request form's card step and the pay page after a failed charge), asked by the card services
on the locked case row: anyone else is ``NotYours`` (the gate's audited 404 over HTTP), a case
in another state gets the table's refusal and Stripe is not asked."""

from typing import Any

import pytest
from django.test import Client

from billing import services
from billing.models import CaseBilling
from cases.access import NotYours
from cases.actions import ACTIONS, LifecycleRefused
from cases.models import AccessEvent, Case, Status
from intake.models import Intake
from tests.billing.conftest import card_step_url, ls_count
from tests.conftest import login
from tests.factories import CaseFactory, specialty

pytestmark = pytest.mark.usefixtures("stripe_on")


def _draft(family: Any) -> Case:
    case = CaseFactory(family=family, status=Status.DRAFT, specialty=specialty("cardiology"))
    Intake.objects.create(case=case)
    return case


def test_a_card_posted_on_the_card_step_by_the_physician_is_the_gates_audited_404(
    stripe_on: str, physician: Any
) -> None:
    # The physician who started the request fills in its steps, but the card is the family's.
    case = CaseFactory(
        family=None,
        created_by=physician,
        status=Status.DRAFT,
        physician_email=physician.email,
        specialty=specialty("cardiology"),
    )
    Intake.objects.create(case=case, started_by_physician=True)
    response = login(Client(), physician).post(card_step_url(case), {"setup_intent": "seti_x"})
    assert response.status_code == 404
    refused = AccessEvent.objects.get(user=physician, outcome=AccessEvent.Outcome.DENIED)
    assert (refused.case_id, refused.action, refused.object_type) == (case.pk, "save", "card")
    assert not CaseBilling.objects.filter(case=case).exclude(payment_method_id="").exists()
    assert ls_count(stripe_on, "customers") == 0


@pytest.mark.parametrize("who", ["physician", "coordinator", "specialist"])
def test_only_the_family_saves_a_card(
    who: str, stripe_on: str, family: Any, request: pytest.FixtureRequest
) -> None:
    case = _draft(family)
    with pytest.raises(NotYours):
        services.card_setup_start(case=case, by=request.getfixturevalue(who))
    assert ls_count(stripe_on, "setup_intents") == 0


@pytest.mark.parametrize("status", [Status.SUBMITTED, Status.IN_REVIEW, Status.WITHDRAWN])
def test_a_case_past_the_card_step_and_not_waiting_for_payment_takes_no_card(
    status: Status, stripe_on: str, family: Any
) -> None:
    case = _draft(family)
    stale = Case.objects.get(pk=case.pk)  # what a page read before the case moved on
    Case.objects.filter(pk=case.pk).update(status=status)
    with pytest.raises(LifecycleRefused) as refused:
        services.card_setup_start(case=stale, by=family)
    assert refused.value.code == "wrong_state"
    assert refused.value.messages == [ACTIONS["save_card"].refusal(status)]
    assert ls_count(stripe_on, "setup_intents") == 0
    assert ls_count(stripe_on, "customers") == 0


def test_the_family_saves_a_card_on_a_draft_and_when_payment_is_needed(
    stripe_on: str, family: Any
) -> None:
    case = _draft(family)
    assert services.card_setup_start(case=case, by=family)
    Case.objects.filter(pk=case.pk).update(status=Status.PAYMENT_NEEDED)
    assert services.card_setup_start(case=case, by=family)


@pytest.mark.parametrize("who", ["physician", "coordinator"])
def test_only_the_family_removes_the_card(
    who: str, stripe_on: str, family: Any, request: pytest.FixtureRequest
) -> None:
    case = _draft(family)
    with pytest.raises(NotYours):
        services.card_remove(case=case, by=request.getfixturevalue(who))
