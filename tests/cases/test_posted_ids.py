"""Objects named in a POST body: a malformed or unknown id is the gate's 404, never a 500.

The walk posts malformed values to every case-scoped URL (the access matrix, which is kept
equal to the URLconf) as every persona that gets past the gate, with every field name and
every ``action`` value that a template posts. A new hidden field or button in a template is
walked without anyone adding it here.
"""

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import User
from cases.models import AccessEvent, Case, CaseMember, Status
from intake.models import Intake, Question
from tests.cases.access_matrix import MATRIX
from tests.conftest import login
from tests.factories import CaseFactory
from tests.matrix import close_file

MALFORMED = [
    "abc",
    "",
    "1.5",
    "-1",
    "0",
    "9" * 30,
    "²",  # a digit to str.isdigit(), not to int()
    "1 OR 1=1",
    "\x00",
    "00000000-0000-0000-0000-00000000000g",
    "[]",
]

_NAME = re.compile(r'<(?:input|button|select|textarea)\b[^>]*\bname="([^"{]+)"')
_ACTION = re.compile(r'name="action"[^>]*\bvalue="([^"{]+)"|value="([^"{]+)"[^>]*name="action"')


def _posted_fields_and_actions() -> tuple[set[str], set[str]]:
    """Every field name and ``action`` value written into the project's templates."""
    names: set[str] = set()
    actions: set[str] = set()
    for template in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        text = template.read_text()
        names.update(_NAME.findall(text))
        actions.update(a or b for a, b in _ACTION.findall(text))
    for entry in MATRIX.values():
        names.update(entry.data)
    names.discard("csrfmiddlewaretoken")
    return names, actions


FIELDS, ACTIONS = _posted_fields_and_actions()


def test_the_walk_knows_the_object_fields() -> None:
    # Guards the template scan itself: if it found nothing, the walk would prove nothing.
    assert {"question", "member", "report_uid", "setup_intent", "payment_intent"} <= FIELDS
    assert {"remove", "up", "down", "edit", "revoke", "complete"} <= ACTIONS


@pytest.fixture
def people(family: User, physician: User, coordinator: User, specialist: User) -> dict[str, User]:
    return {
        "family": family,
        "physician": physician,
        "coordinator": coordinator,
        "specialist": specialist,
    }


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_malformed_ids_in_post_bodies_never_answer_500(
    name: str, people: dict[str, User], request: pytest.FixtureRequest
) -> None:
    if name.startswith("uploads:"):
        request.getfixturevalue("s3_storage")
    entry = MATRIX[name]
    case = CaseFactory(
        status=entry.status,
        family=people["family"],
        physician_email=people["physician"].email,
        assigned_specialist=people["specialist"],
    )
    Intake.objects.create(case=case)
    url = reverse(name, kwargs={"reference": case.reference, **entry.kwargs(case)})
    inside = [who for who, status in entry.expect.items() if status != 404]
    for who in inside:
        client = login(Client(raise_request_exception=False), people[who])
        for i, action in enumerate([None, *sorted(ACTIONS)]):
            value = MALFORMED[i % len(MALFORMED)]
            data = {**entry.data, **dict.fromkeys(FIELDS, value)}
            if action is None:
                data.pop("action", None)
            else:
                data["action"] = action
            response = client.post(url, data)
            close_file(response)
            assert response.status_code < 500, (who, action, value, response.content[:300])


def _submitted(family: User) -> Case:
    case = CaseFactory(family=family, status=Status.SUBMITTED)
    Intake.objects.create(case=case)
    return case


@pytest.mark.parametrize("value", [*MALFORMED, "unknown", "theirs"])
@pytest.mark.parametrize("action", ["remove", "edit", "up", "down"])
def test_a_question_id_not_of_this_case_is_the_same_audited_404(
    client: Client, family: User, other_family: User, action: str, value: str
) -> None:
    case = _submitted(family)
    mine = Question.objects.create(case=case, position=1, text="Mine?", asked_by=family)
    theirs = Question.objects.create(
        case=_submitted(other_family), position=1, text="Theirs?", asked_by=other_family
    )
    value = {"unknown": str(theirs.pk + 1000), "theirs": str(theirs.pk)}.get(value, value)
    login(client, family)
    response = client.post(
        reverse("questions_action", args=[case.reference]),
        {"action": action, "question": value, "text": "Changed?"},
    )
    assert response.status_code == 404
    event = AccessEvent.objects.latest("pk")
    assert (event.case, event.object_type, event.outcome) == (
        case,
        "question",
        AccessEvent.Outcome.DENIED,
    )
    assert "\x00" not in event.object_id
    assert Question.objects.get(pk=mine.pk).text == "Mine?"
    assert Question.objects.get(pk=theirs.pk).text == "Theirs?"


@pytest.mark.parametrize("value", [*MALFORMED, "theirs", "a_physician"])
def test_a_guardian_id_not_of_this_case_is_the_same_audited_404(
    client: Client, family: User, other_family: User, value: str
) -> None:
    case = _submitted(family)
    other = _submitted(other_family)
    theirs = CaseMember.objects.create(
        case=other, role=CaseMember.Role.GUARDIAN, email="g@example.com", invited_by=other_family
    )
    physician_row = CaseMember.objects.create(
        case=case, role=CaseMember.Role.PHYSICIAN, email="doc@example.com", invited_by=family
    )
    value = {"theirs": str(theirs.pk), "a_physician": str(physician_row.pk)}.get(value, value)
    login(client, family)
    response = client.post(
        reverse("guardians_action", args=[case.reference]), {"action": "revoke", "member": value}
    )
    assert response.status_code == 404
    event = AccessEvent.objects.latest("pk")
    assert (event.case, event.object_type, event.action, event.outcome) == (
        case,
        "guardian",
        "revoke",
        AccessEvent.Outcome.DENIED,
    )
    theirs.refresh_from_db()
    physician_row.refresh_from_db()
    assert theirs.revoked_at is None and physician_row.revoked_at is None


def test_a_guardian_of_this_case_is_still_revoked(
    client: Client, family: User, mailoutbox: Any
) -> None:
    case = _submitted(family)
    member = CaseMember.objects.create(
        case=case, role=CaseMember.Role.GUARDIAN, email="g@example.com", invited_by=family
    )
    login(client, family)
    response = client.post(
        reverse("guardians_action", args=[case.reference]),
        {"action": "revoke", "member": f" {member.pk} "},
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.revoked_at is not None
