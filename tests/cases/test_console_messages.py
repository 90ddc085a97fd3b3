"""The coordinator reads and answers a case's messages in the console: audited as the
portal's messages page, replies through the messages service (emails as usual)."""

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from cases.messaging import message_post, unread_count
from cases.models import AccessEvent, Case, CaseMessage, Status
from core.models import OutboundEmail
from tests.conftest import login
from tests.factories import CaseFactory

COORD = CaseMessage.Thread.COORDINATOR
SECRET = "The lesion on the left ventricle"


@pytest.fixture
def case(family: Any, physician: Any) -> Case:
    return CaseFactory(family=family, status=Status.IN_TRIAGE, physician_email=physician.email)


def _url(case: Case) -> str:
    return reverse("admin:cases_case_messages", args=[case.pk])


def test_the_coordinator_reads_the_familys_message_and_it_is_audited(
    case: Case, family: Any, coordinator: Any
) -> None:
    message_post(case=case, by=family, body=SECRET, thread=COORD)
    assert unread_count(case, coordinator) == 1
    staff = login(Client(), coordinator)
    page = staff.get(reverse("admin:cases_case_change", args=[case.pk])).content.decode()
    assert "Messages (1 unread)" in page
    before = AccessEvent.objects.count()
    response = staff.get(_url(case))
    assert response.status_code == 200
    assert SECRET in response.content.decode()
    assert "With the family and their physician" in response.content.decode()
    event = AccessEvent.objects.order_by("-pk").first()
    assert AccessEvent.objects.count() == before + 1
    assert (event.action, event.object_type, event.case_id, event.user_id) == (
        "messages_view",
        "case",
        case.pk,
        coordinator.pk,
    )
    assert unread_count(case, coordinator) == 0


def test_a_reply_goes_through_the_service_and_emails_the_family_and_physician(
    case: Case,
    family: Any,
    physician: Any,
    coordinator: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    staff = login(Client(), coordinator)
    before = AccessEvent.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(_url(case), {"thread": COORD, "body": "  We have your records.  "})
    assert response.status_code == 302
    assert response["Location"] == _url(case)
    reply = CaseMessage.objects.get(case=case)
    assert (reply.author, reply.thread, reply.body) == (coordinator, COORD, "We have your records.")
    assert [(e.action, e.case_id) for e in AccessEvent.objects.order_by("pk")[before:]] == [
        ("message_post", case.pk)
    ]
    emails = OutboundEmail.objects.filter(dedupe_key__startswith=f"message:{reply.pk}:")
    assert set(emails.values_list("to", flat=True)) == {family.email, physician.email}
    sent = {tuple(m.to) for m in mail.outbox}
    assert sent == {(family.email,), (physician.email,)}
    for m in mail.outbox:
        assert "We have your records" not in m.body
    assert "Reply sent." in staff.get(_url(case)).content.decode()


def test_an_empty_reply_is_refused_next_to_the_field(case: Case, coordinator: Any) -> None:
    staff = login(Client(), coordinator)
    response = staff.post(_url(case), {"thread": COORD, "body": "   "})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not CaseMessage.objects.exists()
    assert not OutboundEmail.objects.exists()


def test_the_physician_to_physician_thread_is_not_offered_until_opened(
    case: Case, coordinator: Any
) -> None:
    staff = login(Client(), coordinator)
    response = staff.post(
        _url(case), {"thread": CaseMessage.Thread.PHYSICIAN_SPECIALIST, "body": "Hello"}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not CaseMessage.objects.exists()


@pytest.mark.parametrize("who", ["family", "physician", "specialist"])
def test_only_staff_reach_the_console_messages(
    case: Case, who: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(who)
    response = login(Client(), user).get(_url(case))
    assert response.status_code == 302
    assert "/login/" in response["Location"]
    assert not AccessEvent.objects.filter(action="messages_view").exists()


def test_an_unknown_case_is_404(coordinator: Any) -> None:
    response = login(Client(), coordinator).get(reverse("admin:cases_case_messages", args=[999999]))
    assert response.status_code == 404
