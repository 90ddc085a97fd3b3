"""Secure messages: who posts where, unread counts, emails without medical detail,
attachments through the records pipeline, and the physician-to-physician thread."""

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from accounts.models import User
from cases.access import cases_visible_to
from cases.message_panel import messages_context
from cases.messaging import (
    AttachmentRefused,
    can_post,
    message_post,
    messages_mark_read,
    p2p_open,
    unread_count,
    with_unread_for,
)
from cases.models import (
    Case,
    CaseMember,
    CaseMessage,
    CaseReadMarker,
    Status,
    TimelineEvent,
)
from core.models import OutboundEmail
from intake.models import Intake, Record
from tests.conftest import login
from tests.factories import CaseFactory

COORD = CaseMessage.Thread.COORDINATOR
P2P = CaseMessage.Thread.PHYSICIAN_SPECIALIST
SECRET = "Her MRI shows a 3 cm lesion"
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture
def case(family: User, physician: User, specialist: User) -> Case:
    case = CaseFactory(
        family=family,
        physician_email=physician.email,
        assigned_specialist=specialist,
        status=Status.IN_REVIEW,
    )
    Intake.objects.create(case=case)
    return case


def _url(case: Case, thread: str = COORD) -> str:
    return f"{reverse('case_messages', args=[case.reference])}?thread={thread}"


def _emails(message: CaseMessage) -> set[str]:
    return set(
        OutboundEmail.objects.filter(dedupe_key__startswith=f"message:{message.pk}:").values_list(
            "to", flat=True
        )
    )


# Posting and permissions


def test_family_physician_and_coordinator_post_in_the_coordinator_thread(
    case: Case, family: User, physician: User, coordinator: User
) -> None:
    for who in (family, physician, coordinator):
        message = message_post(case=case, by=who, body=f"Hello from {who.email}", thread=COORD)
        assert (message.thread, message.author) == (COORD, who)
    assert case.messages.count() == 3


def test_specialist_never_posts_in_the_coordinator_thread(case: Case, specialist: User) -> None:
    with pytest.raises(PermissionDenied):
        message_post(case=case, by=specialist, body="Hi", thread=COORD)


def test_people_outside_the_case_cannot_post(
    case: Case,
    other_family: User,
    other_physician: User,
    other_specialist: User,
    coordinator: User,
) -> None:
    for who, thread in [(other_family, COORD), (other_physician, COORD)]:
        with pytest.raises(PermissionDenied):
            message_post(case=case, by=who, body="Hi", thread=thread)
    p2p_open(case=case, by=coordinator)
    for who in (other_physician, other_specialist, other_family):
        with pytest.raises(PermissionDenied):
            message_post(case=case, by=who, body="Hi", thread=P2P)


def test_invited_guardian_may_post(case: Case, other_family: User, coordinator: User) -> None:
    # The invitation is what lets them in: the same person is refused before it.
    assert not can_post(other_family, case, COORD)
    with pytest.raises(PermissionDenied):
        message_post(case=case, by=other_family, body="Too early", thread=COORD)
    assert not case.messages.exists()

    CaseMember.objects.create(
        case=case, role=CaseMember.Role.GUARDIAN, email=other_family.email, invited_by=case.family
    )
    assert can_post(other_family, case, COORD)
    message = message_post(case=case, by=other_family, body="  Second parent here ", thread=COORD)

    saved = CaseMessage.objects.get(pk=message.pk)
    assert (saved.case, saved.author, saved.thread, saved.body) == (
        case,
        other_family,
        COORD,
        "Second parent here",
    )
    assert list(case.messages.all()) == [saved]
    # The coordinators are emailed (not the guardian who wrote it), without the body.
    assert _emails(message) == {coordinator.email}
    email = OutboundEmail.objects.get(dedupe_key=f"message:{message.pk}:{coordinator.email}")
    assert email.kind == "message_received"
    assert not OutboundEmail.objects.filter(to=other_family.email).exists()
    assert "Second parent" not in email.subject + email.text + email.html
    note = TimelineEvent.objects.filter(case=case, kind=TimelineEvent.Kind.NOTE).last()
    assert note is not None
    assert note.note == "Message from James Carter (Family (parent or guardian))"
    # Their own message is read for them, so it does not count as unread.
    assert unread_count(case, other_family) == 0
    assert unread_count(case, coordinator) == 1


def test_p2p_needs_a_coordinator_to_open_it(
    case: Case, family: User, physician: User, specialist: User, coordinator: User
) -> None:
    for who in (physician, specialist, coordinator):
        with pytest.raises(PermissionDenied):
            message_post(case=case, by=who, body="Hi", thread=P2P)
    with pytest.raises(PermissionDenied):
        p2p_open(case=case, by=physician)
    first = p2p_open(case=case, by=coordinator)
    assert p2p_open(case=case, by=coordinator) == first  # opening twice changes nothing
    assert TimelineEvent.objects.filter(
        case=case, note="Physician-to-physician conversation opened"
    ).exists()
    message_post(case=case, by=physician, body="Question for you", thread=P2P)
    message_post(case=case, by=specialist, body="Answer", thread=P2P)
    message_post(case=case, by=coordinator, body="Noted", thread=P2P)
    with pytest.raises(PermissionDenied):
        message_post(case=case, by=family, body="Can I join?", thread=P2P)
    assert case.messages.filter(thread=P2P).count() == 4


def test_empty_body_is_refused(case: Case, family: User) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        message_post(case=case, by=family, body="   ", thread=COORD)


# Emails


def test_family_message_emails_the_coordinators_only_and_never_the_body(
    case: Case, family: User, physician: User, coordinator: User
) -> None:
    message = message_post(case=case, by=family, body=SECRET, thread=COORD)
    assert _emails(message) == {coordinator.email}
    email = OutboundEmail.objects.get(dedupe_key=f"message:{message.pk}:{coordinator.email}")
    assert email.kind == "message_received"
    for part in (email.subject, email.text, email.html):
        assert SECRET not in part and "lesion" not in part
    assert reverse("case_messages", args=[case.reference]) in email.text
    note = TimelineEvent.objects.filter(case=case, kind=TimelineEvent.Kind.NOTE).last()
    assert note is not None and note.note.startswith("Message from Maria Lopez")
    assert SECRET not in note.note


def test_coordinator_message_emails_family_guardians_and_physician(
    case: Case, family: User, physician: User, coordinator: User
) -> None:
    CaseMember.objects.create(
        case=case, role=CaseMember.Role.GUARDIAN, email="dad@example.com", invited_by=family
    )
    message = message_post(case=case, by=coordinator, body=SECRET, thread=COORD)
    assert _emails(message) == {family.email, "dad@example.com", physician.email}


def test_p2p_emails_the_other_physician_not_the_coordinators(
    case: Case, physician: User, specialist: User, coordinator: User
) -> None:
    opened = p2p_open(case=case, by=coordinator)
    assert _emails(opened) == {physician.email, specialist.email}
    from_physician = message_post(case=case, by=physician, body=SECRET, thread=P2P)
    assert _emails(from_physician) == {specialist.email}
    from_specialist = message_post(case=case, by=specialist, body=SECRET, thread=P2P)
    assert _emails(from_specialist) == {physician.email}
    assert not OutboundEmail.objects.filter(to=coordinator.email).exists()
    assert not OutboundEmail.objects.filter(text__contains=SECRET).exists()


def test_the_same_message_never_mails_anyone_twice(
    case: Case, family: User, coordinator: User
) -> None:
    from cases.messaging import _notify

    message = message_post(case=case, by=family, body="Hi", thread=COORD)
    _notify(message)  # a retried notification
    assert OutboundEmail.objects.filter(to=coordinator.email).count() == 1


# Unread counts


def test_unread_counts_and_marking_read(
    case: Case, family: User, physician: User, coordinator: User, specialist: User
) -> None:
    message_post(case=case, by=family, body="One", thread=COORD)
    message_post(case=case, by=family, body="Two", thread=COORD)
    assert unread_count(case, coordinator) == 2
    assert unread_count(case, family) == 0  # one's own messages are read
    assert unread_count(case, physician) == 2
    assert unread_count(case, specialist) == 0  # the coordinator thread is not theirs
    messages_mark_read(case=case, user=coordinator)
    assert unread_count(case, coordinator) == 0
    message_post(case=case, by=coordinator, body="Reply", thread=COORD)
    assert unread_count(case, family) == 1
    assert unread_count(case, coordinator) == 0


def test_p2p_messages_are_unread_for_physician_and_specialist_not_family(
    case: Case, family: User, physician: User, coordinator: User, specialist: User
) -> None:
    p2p_open(case=case, by=coordinator)
    message_post(case=case, by=physician, body="Q", thread=P2P)
    assert unread_count(case, specialist) == 2
    assert unread_count(case, family) == 0
    assert unread_count(case, coordinator) == 1
    assert unread_count(case, specialist, thread=P2P) == 2


def test_a_read_marker_never_goes_back(case: Case, family: User) -> None:
    from datetime import timedelta

    from django.utils import timezone

    messages_mark_read(case=case, user=family)
    later = CaseReadMarker.objects.get(case=case, user=family).last_read_at
    messages_mark_read(case=case, user=family, at=timezone.now() - timedelta(days=1))
    assert CaseReadMarker.objects.get(case=case, user=family).last_read_at == later


def _unread_queries(n: int, family: User, coordinator: User) -> tuple[int, dict[int, int]]:
    cases = [CaseFactory(family=family) for _ in range(n)]
    for c in cases:
        message_post(case=c, by=family, body="Hi", thread=COORD)
    messages_mark_read(case=cases[0], user=coordinator)
    with CaptureQueriesContext(connection) as ctx:
        rows = {
            c.pk: c.unread_messages  # type: ignore[attr-defined]
            for c in with_unread_for(cases_visible_to(coordinator), coordinator)
        }
    return len(ctx.captured_queries), rows


def test_unread_annotation_takes_constant_queries(family: User, coordinator: User) -> None:
    five, rows5 = _unread_queries(5, family, coordinator)
    Case.objects.all().delete()
    fifty, rows50 = _unread_queries(50, family, coordinator)
    assert five == fifty == 1
    assert sorted(rows5.values()) == [0] + [1] * 4
    assert sorted(rows50.values()) == [0] + [1] * 49


def test_unread_annotation_matches_unread_count(
    case: Case, family: User, physician: User, coordinator: User, specialist: User
) -> None:
    p2p_open(case=case, by=coordinator)
    message_post(case=case, by=family, body="A", thread=COORD)
    message_post(case=case, by=physician, body="B", thread=P2P)
    for who in (family, physician, coordinator, specialist):
        annotated = with_unread_for(cases_visible_to(who), who).get(pk=case.pk)
        assert annotated.unread_messages == unread_count(case, who), who  # type: ignore[attr-defined]


# Attachments


def test_an_attachment_becomes_a_record_of_the_case(case: Case, family: User) -> None:
    message = message_post(
        case=case,
        by=family,
        body="The labs",
        thread=COORD,
        attachment=SimpleUploadedFile("labs.pdf", PDF),
        kind="lab_results",
    )
    record = message.records.get()
    assert (record.case, record.kind, record.uploaded_by) == (case, "lab_results", family)
    assert record.state == Record.State.AVAILABLE


def test_a_bad_attachment_keeps_nothing(case: Case, family: User) -> None:
    with pytest.raises(AttachmentRefused):
        message_post(
            case=case,
            by=family,
            body="The labs",
            thread=COORD,
            attachment=SimpleUploadedFile("virus.exe", b"MZ\x90\x00" + b"\x00" * 100),
        )
    assert not case.messages.exists()
    assert not OutboundEmail.objects.exists()


# Views


def test_get_shows_the_thread_and_marks_read(
    client: Client, case: Case, family: User, coordinator: User
) -> None:
    message_post(case=case, by=family, body="Hello coordinator", thread=COORD)
    response = login(client, coordinator).get(_url(case))
    assert response.status_code == 200
    assert response.context["unread"] == 1  # counted before this visit
    assert [m.body for m in response.context["messages_thread"]] == ["Hello coordinator"]
    assert unread_count(case, coordinator) == 0


def test_post_sends_and_redirects(client: Client, case: Case, family: User) -> None:
    response = login(client, family).post(
        reverse("case_messages", args=[case.reference]), {"thread": COORD, "body": "Hi there"}
    )
    assert response.status_code == 302
    assert case.messages.get().body == "Hi there"


def test_post_with_attachment_through_the_view(client: Client, case: Case, physician: User) -> None:
    response = login(client, physician).post(
        reverse("case_messages", args=[case.reference]),
        {
            "thread": COORD,
            "body": "Scan report",
            "kind": "imaging_report",
            "attachment": SimpleUploadedFile("report.pdf", PDF),
        },
    )
    assert response.status_code == 302
    assert case.messages.get().records.get().kind == "imaging_report"


def test_a_bad_file_is_refused_next_to_the_field_and_the_body_kept(
    client: Client, case: Case, family: User
) -> None:
    response = login(client, family).post(
        reverse("case_messages", args=[case.reference]),
        {
            "thread": COORD,
            "body": "Please see attached",
            "kind": "other",
            "attachment": SimpleUploadedFile("virus.exe", b"MZ\x90\x00" + b"\x00" * 100),
        },
    )
    assert response.status_code == 400
    form = response.context["message_form"]
    assert form.errors["attachment"]
    assert form["body"].value() == "Please see attached"
    assert not case.messages.exists()
    html = render_to_string(
        "cases/_messages_panel.html",
        {"case": case, **messages_context(case, family, thread=COORD, form=form)},
        request=_request(family),
    )
    assert "Please see attached" in html
    assert escape(form.errors["attachment"][0]) in html


def test_empty_body_errors_next_to_the_field(client: Client, case: Case, family: User) -> None:
    response = login(client, family).post(
        reverse("case_messages", args=[case.reference]), {"thread": COORD, "body": ""}
    )
    assert response.status_code == 400
    assert response.context["message_form"].errors["body"]


def _request(user: User) -> Any:
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_specialist_gets_404_on_the_coordinator_thread(
    client: Client, case: Case, specialist: User
) -> None:
    login(client, specialist)
    assert client.get(_url(case)).status_code == 404
    post = client.post(_url(case), {"thread": COORD, "body": "Hi"})
    assert post.status_code == 404
    assert not case.messages.exists()


def test_p2p_thread_is_404_for_physician_and_specialist_until_opened(
    client: Client, case: Case, physician: User, specialist: User, coordinator: User
) -> None:
    for who in (physician, specialist):
        assert login(Client(), who).get(_url(case, P2P)).status_code == 404
    coordinator_client = login(Client(), coordinator)
    assert coordinator_client.get(_url(case, P2P)).context["can_open_p2p"] is True
    response = coordinator_client.post(
        reverse("case_messages", args=[case.reference]), {"thread": P2P, "action": "open"}
    )
    assert response.status_code == 302
    specialist_client = login(Client(), specialist)
    assert specialist_client.get(_url(case, P2P)).status_code == 200
    specialist_client.post(_url(case, P2P), {"thread": P2P, "body": "Dear colleague"})
    physician_client = login(Client(), physician)
    response = physician_client.get(_url(case, P2P))
    assert [m.body for m in response.context["messages_thread"]][-1] == "Dear colleague"
    physician_client.post(_url(case, P2P), {"thread": P2P, "body": "Thank you"})
    # The coordinator reads the whole conversation.
    response = coordinator_client.get(_url(case, P2P))
    assert [m.body for m in response.context["messages_thread"]][1:] == [
        "Dear colleague",
        "Thank you",
    ]


def test_family_gets_404_on_the_p2p_thread(
    client: Client, case: Case, family: User, coordinator: User
) -> None:
    p2p_open(case=case, by=coordinator)
    assert login(client, family).get(_url(case, P2P)).status_code == 404


def test_specialist_cannot_attach(
    client: Client, case: Case, specialist: User, coordinator: User
) -> None:
    p2p_open(case=case, by=coordinator)
    context = messages_context(case, specialist, thread=P2P)
    assert "attachment" not in context["message_form"].fields
    with pytest.raises(PermissionDenied):
        message_post(
            case=case,
            by=specialist,
            body="x",
            thread=P2P,
            attachment=SimpleUploadedFile("r.pdf", PDF),
        )


def test_outsiders_get_404(client: Client, case: Case, other_family: User) -> None:
    assert login(client, other_family).get(_url(case)).status_code == 404


@pytest.mark.parametrize(
    ("who", "expected"),
    [("family", 200), ("physician", 200), ("coordinator", 200), ("specialist", 404)],
)
def test_the_messages_page_per_persona(
    who: str, expected: int, case: Case, request: pytest.FixtureRequest
) -> None:
    from cases.models import AccessEvent

    user = request.getfixturevalue(who)
    response = login(Client(), user).get(reverse("case_messages", args=[case.reference]))
    assert response.status_code == expected
    # Through the gate either way; a thread the person may not read is a refusal on top.
    events = AccessEvent.objects.filter(user=user).order_by("pk")
    assert [(e.object_type, e.action, e.outcome) for e in events] == [
        ("message", "messages_view", AccessEvent.Outcome.ALLOWED)
    ] + ([("message", "messages_view", AccessEvent.Outcome.DENIED)] if expected == 404 else [])


def _refusals(user: User) -> list[tuple[Any, str, str]]:
    from cases.models import AccessEvent

    return list(
        AccessEvent.objects.filter(user=user, outcome=AccessEvent.Outcome.DENIED)
        .order_by("pk")
        .values_list("case", "action", "object_type")
    )


def test_a_member_who_may_not_post_or_open_gets_the_gates_audited_404(
    case: Case, specialist: User, physician: User
) -> None:
    post = login(Client(), specialist).post(_url(case), {"thread": COORD, "body": "Hi"})
    assert post.status_code == 404
    assert _refusals(specialist) == [(case.pk, "message_post", "message")]
    # Only a coordinator opens the physician-to-physician thread (cases.messaging.p2p_open).
    opened = login(Client(), physician).post(_url(case), {"thread": COORD, "action": "open"})
    assert opened.status_code == 404
    assert _refusals(physician) == [(case.pk, "message_post", "message")]
    assert not case.messages.exists()


def test_someone_elses_family_gets_the_gates_audited_404(case: Case, other_family: User) -> None:
    client = login(Client(), other_family)
    assert client.get(_url(case)).status_code == 404
    assert client.post(_url(case), {"thread": COORD, "body": "Hello?"}).status_code == 404
    assert _refusals(other_family) == [
        (case.pk, "messages_view", "message"),
        (case.pk, "message_post", "message"),
    ]
    assert not case.messages.exists()
