"""The case page's question and guardian actions answer refusals the one way
(``cases.web.refusals_shown``): someone who does not see the case, and someone who sees it
but may not take the step (the table of actions' who), get the gate's 404 with a refused
audit row; a step the case's state no longer allows is a message next to the form, with what
was typed kept."""

import html
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from cases.models import Case, CaseMember, Status
from intake.models import Intake, Question
from tests.audit_rows import refusals as _refusals
from tests.conftest import login
from tests.factories import CaseFactory

TYPED = 'Will she be able to play football, and what are "the risks"?'


@pytest.fixture
def case(family: User, physician: User, specialist: User) -> Case:
    case = CaseFactory(
        family=family,
        physician_email=physician.email,
        assigned_specialist=specialist,
        status=Status.IN_TRIAGE,
    )
    Intake.objects.create(case=case)
    Question.objects.create(
        case=case, position=1, text="Is surgery needed within the year?", asked_by=family
    )
    return case


def _ask(client: Client, case: Case) -> Any:
    return client.post(
        reverse("questions_action", args=[case.reference]), {"action": "add", "text": TYPED}
    )


def _invite(client: Client, case: Case) -> Any:
    return client.post(
        reverse("guardians_action", args=[case.reference]),
        {"action": "invite", "email": "grandma@example.com"},
    )


@pytest.mark.parametrize("who", ["other_family", "coordinator", "specialist"])
def test_only_the_family_and_physician_ask_questions(
    who: str, case: Case, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(who)
    assert _ask(login(Client(), user), case).status_code == 404
    assert _refusals(case) == [(user.pk, "edit", "question")]
    assert Question.objects.filter(case=case).count() == 1


def test_a_question_the_state_no_longer_takes_is_a_message_with_the_text_kept(
    case: Case, physician: User
) -> None:
    Case.objects.filter(pk=case.pk).update(status=Status.IN_REVIEW)
    response = _ask(login(Client(), physician), case)
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert "Questions can no longer be changed on this request." in page
    assert TYPED in page
    assert Question.objects.filter(case=case).count() == 1
    assert _refusals(case) == []


@pytest.mark.parametrize("who", ["other_family", "physician", "coordinator", "specialist"])
def test_only_the_owner_invites_a_second_guardian(
    who: str, case: Case, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(who)
    assert _invite(login(Client(), user), case).status_code == 404
    assert _refusals(case) == [(user.pk, "manage", "guardian")]
    assert not CaseMember.objects.filter(case=case, role=CaseMember.Role.GUARDIAN).exists()


def test_the_owner_invites_and_a_refused_address_is_kept(case: Case, family: User) -> None:
    client = login(Client(), family)
    assert _invite(client, case).status_code == 302
    again = _invite(client, case)
    assert again.status_code == 400
    page = html.unescape(again.content.decode())
    assert "That person is already invited." in page
    assert 'value="grandma@example.com"' in page
    assert _refusals(case) == []
