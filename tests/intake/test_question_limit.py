"""The eleventh question, refused because the tenth arrived meanwhile (another tab, or the
physician), comes back with the page: the message and the typed text, to copy or to put in
place of a question."""

import html

from django.test import Client
from django.urls import reverse

from accounts.models import User
from cases.models import Case, Status, TimelineEvent
from intake.models import Intake, Question
from tests.conftest import login
from tests.factories import CaseFactory

TYPED = 'Can the surgery wait until after the school year, <and> what are "the risks"?'


def _case(family: User, physician: User, status: Status, questions: int) -> Case:
    case = CaseFactory(family=family, physician_email=physician.email, status=status)
    Intake.objects.create(case=case)
    for n in range(1, questions + 1):
        Question.objects.create(
            case=case, position=n, text=f"Question number {n} about the plan?", asked_by=family
        )
    return case


def _add(client: Client, case: Case, text: str = TYPED) -> object:
    return client.post(
        reverse("questions_action", args=[case.reference]), {"action": "add", "text": text}
    )


def test_on_the_draft_the_typed_question_is_kept_and_can_replace_one(
    family: User, physician: User
) -> None:
    case = _case(family, physician, Status.DRAFT, questions=9)
    client = login(Client(), family)
    page = client.get(reverse("intake_step", args=[case.reference, "questions"]))
    assert 'name="text"' in page.content.decode()  # the add form, with room for one more
    # The tenth arrives from another tab before this one is sent.
    Question.objects.create(
        case=case, position=10, text="The tenth, from the other tab?", asked_by=family
    )
    response = _add(client, case)
    assert response.status_code == 400  # type: ignore[attr-defined]
    body = response.content.decode()  # type: ignore[attr-defined]
    assert "at most 10 questions" in body
    assert html.escape(TYPED) in body
    assert 'id="kept-question"' in body and "readonly" in body
    assert "Replace it with the question you typed" in body
    assert Question.objects.filter(case=case).count() == 10

    first = Question.objects.get(case=case, position=1)
    replaced = client.post(
        reverse("questions_action", args=[case.reference]),
        {"action": "edit", "question": first.pk, "text": TYPED},
    )
    assert replaced.status_code == 302
    first.refresh_from_db()
    assert first.text == TYPED
    assert Question.objects.filter(case=case).count() == 10


def test_on_the_case_page_the_physicians_question_is_kept_to_copy(
    family: User, physician: User
) -> None:
    case = _case(family, physician, Status.SUBMITTED, questions=9)
    client = login(Client(), physician)
    # The family adds the tenth while the physician is typing.
    login(Client(), family).post(
        reverse("questions_action", args=[case.reference]),
        {"action": "add", "text": "The family's tenth question?"},
    )
    assert Question.objects.filter(case=case).count() == 10
    notes = TimelineEvent.objects.filter(case=case).count()
    response = _add(client, case)
    assert response.status_code == 400  # type: ignore[attr-defined]
    body = response.content.decode()  # type: ignore[attr-defined]
    assert "at most 10 questions" in body
    assert html.escape(TYPED) in body
    assert Question.objects.filter(case=case).count() == 10
    assert TimelineEvent.objects.filter(case=case).count() == notes


def test_a_too_short_question_at_the_limit_still_says_why_and_keeps_it(
    family: User, physician: User
) -> None:
    case = _case(family, physician, Status.DRAFT, questions=10)
    response = _add(login(Client(), family), case, "Too short")
    assert response.status_code == 400  # type: ignore[attr-defined]
    body = response.content.decode()  # type: ignore[attr-defined]
    assert "at least 10" in body and "Too short" in body
