"""Who may ask a follow-up question and close a case, and when, is the table of actions'
("ask_follow_up", "close"), asked by the services on the locked row; their refusals are
``core.refusals.Refused`` and not-yours is the access module's ``NotYours``."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from cases.access import NotYours
from cases.actions import ACTIONS, LifecycleRefused
from cases.models import AccessEvent, Case, Status, TimelineEvent
from core.refusals import Refused
from reports import services
from reports.models import FollowUpQuestion
from tests.conftest import login
from tests.reports.helpers import case_in_review
from tests.reports.matrix_reports import delivered_report

S = Status


def _delivered(family: User, specialist: User, status: Status = S.DELIVERED) -> Case:
    case = case_in_review(family, specialist)
    Case.objects.filter(pk=case.pk).update(status=status)
    case.refresh_from_db()
    delivered_report(case)
    return case


@pytest.mark.parametrize("who", ["coordinator", "specialist", "other_family"])
def test_only_the_family_and_physician_ask_a_follow_up(
    who: str, family: User, specialist: User, request: pytest.FixtureRequest
) -> None:
    case = _delivered(family, specialist)
    with pytest.raises(NotYours, match=r"Only the family or the physician can do this\."):
        services.follow_up_ask(case=case, by=request.getfixturevalue(who), text="Sport?")
    assert not FollowUpQuestion.objects.exists()


def test_a_follow_up_without_text_is_a_refusal_next_to_the_field(
    family: User, specialist: User
) -> None:
    case = _delivered(family, specialist)
    with pytest.raises(Refused) as refused:
        services.follow_up_ask(case=case, by=family, text="   ")
    assert refused.value.message_dict == {"text": ["Write your question."]}
    assert not FollowUpQuestion.objects.exists()


def test_a_closed_case_takes_no_follow_up_and_says_so_on_the_page(
    family: User, specialist: User
) -> None:
    case = _delivered(family, specialist, status=S.CLOSED)
    response = login(Client(), family).post(
        reverse("follow_up_ask", args=[case.reference]), {"text": "And for sport?"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert ACTIONS["ask_follow_up"].refusal(S.CLOSED) in html
    assert "And for sport?" in html  # what was typed is kept
    assert not FollowUpQuestion.objects.exists()
    assert not TimelineEvent.objects.filter(case=case, note__contains="follow-up").exists()


def test_the_coordinator_posting_a_follow_up_gets_the_gates_audited_404(
    family: User, specialist: User, coordinator: User
) -> None:
    case = _delivered(family, specialist)
    response = login(Client(), coordinator).post(
        reverse("follow_up_ask", args=[case.reference]), {"text": "Relayed?"}
    )
    assert response.status_code == 404
    event = AccessEvent.objects.filter(case=case, user=coordinator).latest("pk")
    assert (event.object_type, event.action, event.outcome) == (
        "follow_up",
        "create",
        AccessEvent.Outcome.DENIED,
    )
    assert not FollowUpQuestion.objects.exists()


def test_closing_is_the_coordinators_on_a_delivered_case(
    family: User, specialist: User, coordinator: User
) -> None:
    case = _delivered(family, specialist, status=S.IN_REVIEW)
    with pytest.raises(NotYours, match=r"Only a coordinator can do this\."):
        services.case_close(case=case, by=family)
    with pytest.raises(LifecycleRefused) as refused:
        services.case_close(case=case, by=coordinator)
    assert refused.value.code == "wrong_state"
    assert refused.value.messages == [ACTIONS["close"].refusal(S.IN_REVIEW)]
    assert Case.objects.get(pk=case.pk).status == S.IN_REVIEW
