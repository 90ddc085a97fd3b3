"""The outbox's one send helper: a dedupe key is required, and an event mails each address once.

These run against core alone where they can (no case): core must work for any subject.
"""

from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import TimelineEvent
from cases.notifications import case_email
from core.models import OutboundEmail
from core.outbox import enqueue, send_template
from core.signals import email_sent
from intake.models import Record
from intake.notifications import notify_coordinators_quarantine, notify_record_refused
from tests.conftest import login
from tests.factories import CaseFactory

PING = {
    "emails/ping_subject.txt": "Ping",
    "emails/ping.txt": "Sign in at {{ SITE_URL }} & see.",
    "emails/ping.html": "<p>Sign in at {{ SITE_URL }} &amp; see.</p>",
}


@pytest.fixture
def ping_template(settings: Any) -> None:
    """A template that needs no case: core's outbox must not assume one."""
    settings.TEMPLATES = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {"loaders": [("django.template.loaders.locmem.Loader", PING)]},
        }
    ]


def test_send_template_cannot_be_called_without_a_dedupe_key() -> None:
    with pytest.raises(TypeError, match="key"):
        send_template(template="case_update", to=["a@example.com"])  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="dedupe_key"):
        enqueue(to="a@example.com", subject="s", text="t", kind="k")  # type: ignore[call-arg]
    assert not OutboundEmail.objects.exists()


@pytest.mark.usefixtures("ping_template")
def test_one_event_mails_each_address_once_and_skips_blanks(
    django_capture_on_commit_callbacks: Any,
) -> None:
    to = ["a@example.com", "", "b@example.com", "a@example.com"]
    with django_capture_on_commit_callbacks(execute=True):
        first = send_template(template="ping", to=to, key="event:1")
        again = send_template(template="ping", to=to, key="event:1")
    assert [e.dedupe_key for e in first] == ["event:1:a@example.com", "event:1:b@example.com"]
    assert again == []
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.com", "b@example.com"]
    # The text part is not HTML-escaped; the HTML part is the HTML template.
    assert mail.outbox[0].body.endswith(" & see.")
    assert mail.outbox[0].subject.endswith("] Ping")
    assert set(OutboundEmail.objects.values_list("state", "about_id")) == {("sent", None)}


@pytest.mark.usefixtures("ping_template")
def test_a_sent_email_is_announced_and_one_about_nothing_touches_no_timeline(
    django_capture_on_commit_callbacks: Any,
) -> None:
    heard: list[OutboundEmail] = []

    def listen(sender: Any, *, email: OutboundEmail, **_: Any) -> None:
        heard.append(email)

    email_sent.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            [email] = send_template(template="ping", to=["a@example.com"], key="x")
    finally:
        email_sent.disconnect(listen)
    assert [e.pk for e in heard] == [email.pk]
    assert not TimelineEvent.objects.filter(kind=TimelineEvent.Kind.EMAIL).exists()


def test_an_email_about_a_case_is_found_from_the_case_and_marked_on_its_timeline(
    family: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = CaseFactory(family=family)
    with django_capture_on_commit_callbacks(execute=True):
        [email] = case_email(case, "case_update", [family.email], "y")
    assert list(case.emails.all()) == [email]
    assert OutboundEmail.objects.get(case=case, case__reference=case.reference) == email
    note = TimelineEvent.objects.get(case=case, kind=TimelineEvent.Kind.EMAIL).note
    assert note == f"Email “case_update” sent to {family.email}"


def _record(case: Any, by: Any) -> Record:
    return Record.objects.create(
        case=case,
        kind=Record.Kind.LAB_RESULTS,
        original_name="labs.pdf",
        size=2048,
        state=Record.State.AVAILABLE,
        uploaded_by=by,
    )


def test_the_two_intake_emails_are_queued_once_per_record(
    family: Any, coordinator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = CaseFactory(family=family)
    first, second = _record(case, family), _record(case, family)
    with django_capture_on_commit_callbacks(execute=True):
        for record in (first, first, second):  # a replayed refusal, then another record's
            notify_record_refused(record_id=record.pk)
            notify_coordinators_quarantine(record_id=record.pk)
    refused = OutboundEmail.objects.filter(case=case, kind="case_update")
    assert sorted(refused.values_list("dedupe_key", flat=True)) == [
        f"record-refused:{first.pk}:{family.email}",
        f"record-refused:{second.pk}:{family.email}",
    ]
    alerts = OutboundEmail.objects.filter(case=case, kind="coordinator_alert")
    assert sorted(alerts.values_list("dedupe_key", flat=True)) == [
        f"quarantine:{first.pk}:{coordinator.email}",
        f"quarantine:{second.pk}:{coordinator.email}",
    ]
    assert len(mail.outbox) == 4


def test_the_console_lists_emails_with_their_case_in_a_fixed_number_of_queries(
    coordinator: Any, family: Any
) -> None:
    """The email admin, now core's model: coordinators keep their view permission (it moved
    with the model) and each row names its case without a query per row."""
    staff = login(Client(), coordinator)
    url = reverse("admin:core_outboundemail_changelist")

    def page() -> tuple[int, str, int]:
        with CaptureQueriesContext(connection) as queries:
            response = staff.get(url)
        return response.status_code, response.content.decode(), len(queries)

    page()  # the first request fills the session's and the permissions' caches
    for n in range(2):
        case = CaseFactory(family=family)
        case_email(case, "case_update", [family.email], f"list:{n}")
    status, html, few = page()
    assert status == 200 and case.reference in html
    for n in range(2, 6):
        case_email(CaseFactory(family=family), "case_update", [family.email], f"list:{n}")
    status, html, more = page()
    assert status == 200 and html.count("OSO-") >= 6
    assert more == few
