"""The specialist workspace over HTTP: My cases, the case page, accept, decline, ask."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from cases.clock import BusinessCalendar
from cases.clock_alerts import acceptance_deadline
from cases.models import AccessEvent, Case, CaseHold, Status, TimelineEvent
from core.models import OutboundEmail
from intake.models import Record
from reports.models import FollowUpQuestion, Report
from tests.conftest import login
from tests.factories import CaseFactory
from tests.reports.helpers import QUESTIONS, case_in_review
from tests.reports.matrix_reports import delivered_report
from tests.reports.matrix_viewer import stored_record

# Monday March 2, 2026, 10:00 Pacific (PST): no holiday that week or the one before.
NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
# 17:00 Pacific on these days, as every due moment is.
DUE_FRIDAY = datetime(2026, 3, 7, 1, 0, tzinfo=UTC)  # Fri Mar 6: Mon (part) .. Fri = 5 days
DUE_TUESDAY = datetime(2026, 3, 4, 1, 0, tzinfo=UTC)  # Tue Mar 3: Mon (part), Tue = 2 days
DUE_LAST_FRIDAY = datetime(2026, 2, 28, 1, 0, tzinfo=UTC)  # Fri Feb 27: 1 business hour ago


def _case(specialist: User, family: User, status: Status, **kwargs: Any) -> Case:
    case: Case = CaseFactory(family=family, assigned_specialist=specialist, status=status, **kwargs)
    return case


def _order(html: str, references: list[str]) -> list[str]:
    return sorted(references, key=html.index)


def test_my_cases_groups_sorts_and_says_days_left(
    client: Client, family: User, specialist: User, other_specialist: User
) -> None:
    with time_machine.travel(NOW, tick=False):
        new = _case(
            specialist,
            family,
            Status.ASSIGNED,
            assigned_at=datetime(2026, 3, 2, 17, 30, tzinfo=UTC),  # 9:30 Pacific
            due_at=DUE_FRIDAY,
        )
        on_track = _case(specialist, family, Status.IN_REVIEW, due_at=DUE_FRIDAY)
        at_risk = _case(specialist, family, Status.IN_REVIEW, due_at=DUE_TUESDAY)
        overdue = _case(specialist, family, Status.IN_REVIEW, due_at=DUE_LAST_FRIDAY)
        held = _case(
            specialist,
            family,
            Status.ON_HOLD,
            status_before_hold=Status.IN_REVIEW,
            due_at=DUE_FRIDAY,
        )
        delivered = _case(specialist, family, Status.DELIVERED)
        not_mine = _case(other_specialist, family, Status.IN_REVIEW, due_at=DUE_TUESDAY)
        triage = _case(specialist, family, Status.IN_TRIAGE)

        response = login(client, specialist).get(reverse("workspace"))

    assert response.status_code == 200
    html = response.content.decode()
    to_accept, rest = html.split('id="in-review"')
    in_review, done = rest.split('id="done"')
    assert new.reference in to_accept and new.reference not in rest
    # The acceptance deadline: one business day after 9:30 Monday is 9:30 Tuesday.
    assert "Tue Mar 3, 9:30 AM" in to_accept
    for case in (on_track, at_risk, overdue, held):
        assert case.reference in in_review
    assert _order(in_review, [on_track.reference, at_risk.reference, overdue.reference]) == [
        overdue.reference,
        at_risk.reference,
        on_track.reference,
    ]
    assert delivered.reference in done
    assert not_mine.reference not in html and triage.reference not in html

    def row(case: Case) -> str:
        start = html.index(case.reference)
        return html[start : html.index("</tr>", start)]

    assert "5 business days left" in row(on_track) and "On track" in row(on_track)
    assert "2 business days left" in row(at_risk) and "At risk" in row(at_risk)
    assert "Overdue by 1 business day" in row(overdue)
    assert "On hold: the clock is paused" in row(held)


def test_my_cases_costs_the_same_queries_for_3_and_30_cases(
    client: Client, family: User, specialist: User
) -> None:
    login(client, specialist)
    url = reverse("workspace")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    statuses = (Status.ASSIGNED, Status.IN_REVIEW, Status.DELIVERED)
    queries()  # the session's first request writes its own rows; count from the second
    for status in statuses:
        _case(specialist, family, status, due_at=DUE_FRIDAY, assigned_at=NOW)
    with_three = queries()
    for i in range(27):
        _case(specialist, family, statuses[i % 3], due_at=DUE_FRIDAY, assigned_at=NOW)
    assert Case.objects.filter(assigned_specialist=specialist).count() == 30
    assert queries() == with_three


@pytest.mark.parametrize("who", ["family", "physician", "coordinator"])
def test_my_cases_is_for_specialists(who: str, client: Client, request: Any) -> None:
    person = request.getfixturevalue(who)
    assert login(client, person).get(reverse("workspace")).status_code == 404


def test_the_dashboard_sends_specialists_to_their_cases(client: Client, specialist: User) -> None:
    response = login(client, specialist).get(reverse("dashboard"))
    assert response.status_code == 302 and response["Location"] == reverse("workspace")
    page = client.get(reverse("workspace")).content.decode()
    assert f'href="{reverse("workspace")}">My cases</a>' in page


# --- the case page --------------------------------------------------------------------------


def test_case_page_shows_intake_questions_and_only_clean_records(
    client: Client, family: User, specialist: User
) -> None:
    case = case_in_review(family, specialist)
    stored_record(case, b"%PDF-1.4\n", name="waiting.pdf", scan=Record.Scan.PENDING)
    stored_record(case, b"%PDF-1.4\n", name="bad.pdf", scan=Record.Scan.INFECTED)
    stored_record(case, b"%PDF-1.4\n", name="failed.pdf", scan=Record.Scan.ERROR)
    clean = Record.objects.get(case=case, original_name="labs.pdf")
    before = AccessEvent.objects.count()

    response = login(client, specialist).get(reverse("workspace_case", args=[case.reference]))

    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Sofia Lopez", "Dr. Priya Shah", "Kawasaki disease", "A second dose of IVIG"):
        assert text in html
    for question in QUESTIONS:
        assert question in html
    assert reverse("viewer_record", args=[case.reference, clean.uid]) in html
    assert reverse("record_download", args=[case.reference, clean.uid]) in html
    for name in ("waiting.pdf", "bad.pdf", "failed.pdf"):
        assert name not in html
    event = AccessEvent.objects.order_by("pk")[before:].get()
    assert (event.user, event.case, event.object_type, event.action, event.outcome) == (
        specialist,
        case,
        "case",
        "view",
        AccessEvent.Outcome.ALLOWED,
    )
    assert reverse("report_edit", args=[case.reference]) in html


def test_case_page_is_404_for_others(
    client: Client, family: User, specialist: User, other_specialist: User, physician: User
) -> None:
    case = case_in_review(family, specialist)
    url = reverse("workspace_case", args=[case.reference])
    for person in (other_specialist, family, physician):
        before = AccessEvent.objects.count()
        assert login(Client(), person).get(url).status_code == 404
        refusals = AccessEvent.objects.order_by("pk")[before:]
        assert AccessEvent.Outcome.DENIED in {e.outcome for e in refusals}


def test_coordinator_reads_the_case_page_without_the_buttons(
    client: Client, family: User, specialist: User, coordinator: User
) -> None:
    case = _case(specialist, family, Status.ASSIGNED)
    response = login(client, coordinator).get(reverse("workspace_case", args=[case.reference]))
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("workspace_accept", args=[case.reference]) not in html
    assert reverse("report_edit", args=[case.reference]) not in html


# --- accept, decline, ask ---------------------------------------------------------------------


def _status_rows(case: Case) -> list[tuple[str, str, Any]]:
    return list(
        TimelineEvent.objects.filter(case=case, kind=TimelineEvent.Kind.STATUS)
        .order_by("pk")
        .values_list("from_status", "to_status", "actor")
    )


def test_accept(client: Client, family: User, specialist: User) -> None:
    case = _case(specialist, family, Status.ASSIGNED)
    page = login(client, specialist).get(reverse("workspace_case", args=[case.reference]))
    assert "Accept the case" in page.content.decode()

    response = client.post(reverse("workspace_accept", args=[case.reference]))

    assert response.status_code == 302
    assert response["Location"] == reverse("workspace_case", args=[case.reference])
    case.refresh_from_db()
    assert case.status == Status.IN_REVIEW
    assert _status_rows(case)[-1] == (Status.ASSIGNED, Status.IN_REVIEW, specialist.pk)
    page = client.get(response["Location"]).content.decode()
    assert f"You accepted {case.reference}" in page


def test_accept_refused_when_not_assigned(client: Client, family: User, specialist: User) -> None:
    case = _case(specialist, family, Status.IN_REVIEW)
    response = login(client, specialist).post(
        reverse("workspace_accept", args=[case.reference]), follow=True
    )
    assert "cannot be accepted now" in response.content.decode()
    case.refresh_from_db()
    assert case.status == Status.IN_REVIEW and _status_rows(case) == []


def test_accept_needs_post(client: Client, family: User, specialist: User) -> None:
    case = _case(specialist, family, Status.ASSIGNED)
    url = reverse("workspace_accept", args=[case.reference])
    assert login(client, specialist).get(url).status_code == 405
    case.refresh_from_db()
    assert case.status == Status.ASSIGNED


def test_decline_needs_a_reason_and_keeps_nothing_half_done(
    client: Client, family: User, specialist: User
) -> None:
    case = _case(specialist, family, Status.ASSIGNED)
    response = login(client, specialist).post(
        reverse("workspace_decline", args=[case.reference]), {"decline-reason": "   "}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_decline-reason_error"' in html
    assert "Give the reason for the coordinator." in html
    assert re.search(r'aria-describedby="[^"]*id_decline-reason_error', html)
    case.refresh_from_db()
    assert case.status == Status.ASSIGNED and case.assigned_specialist == specialist


def test_decline_returns_the_case_and_tells_coordinator_and_family(
    client: Client,
    family: User,
    specialist: User,
    coordinator: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    case = _case(specialist, family, Status.ASSIGNED)
    login(client, specialist)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("workspace_decline", args=[case.reference]),
            {"decline-reason": "I am away for three weeks."},
        )
    assert response.status_code == 302 and response["Location"] == reverse("workspace")
    case.refresh_from_db()
    assert case.status == Status.IN_TRIAGE and case.assigned_specialist is None
    row = TimelineEvent.objects.filter(case=case, kind=TimelineEvent.Kind.STATUS).latest("pk")
    assert (row.from_status, row.to_status, row.actor) == (
        Status.ASSIGNED,
        Status.IN_TRIAGE,
        specialist,
    )
    assert "I am away for three weeks." in row.note
    kinds = set(OutboundEmail.objects.filter(case=case).values_list("kind", "to"))
    assert ("coordinator_alert", coordinator.email) in kinds
    assert ("specialist_changed", family.email) in kinds
    sent_to = {address for message in mail.outbox for address in message.to}
    assert {coordinator.email, family.email} <= sent_to
    # The family's email has no medical detail and not the specialist's reason.
    family_mail = [m for m in mail.outbox if m.to == [family.email]]
    assert family_mail and all("three weeks" not in m.body for m in family_mail)
    # The case is no longer theirs.
    page = client.get(reverse("workspace_case", args=[case.reference]))
    assert page.status_code == 404


def test_ask_puts_the_case_on_hold_and_alerts_the_coordinator(
    client: Client,
    family: User,
    specialist: User,
    coordinator: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    case = case_in_review(family, specialist)
    login(client, specialist)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("workspace_ask", args=[case.reference]),
            {"ask-reason": "The echocardiogram images from March."},
        )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.ON_HOLD and case.status_before_hold == Status.IN_REVIEW
    hold = CaseHold.objects.get(case=case)
    assert hold.reason == "The echocardiogram images from March." and hold.ended_at is None
    assert _status_rows(case)[-1] == (Status.IN_REVIEW, Status.ON_HOLD, specialist.pk)
    kinds = set(OutboundEmail.objects.filter(case=case).values_list("kind", "to"))
    assert ("coordinator_alert", coordinator.email) in kinds
    assert any(m.to == [coordinator.email] for m in mail.outbox)
    page = client.get(response["Location"]).content.decode()
    assert "On hold" in page and "The echocardiogram images from March." in page
    # On hold: no second request until the coordinator resumes the case.
    again = client.post(
        reverse("workspace_ask", args=[case.reference]), {"ask-reason": "Also the labs."}
    )
    assert again.status_code == 302
    assert CaseHold.objects.filter(case=case).count() == 1


def test_ask_needs_a_reason(client: Client, family: User, specialist: User) -> None:
    case = case_in_review(family, specialist)
    response = login(client, specialist).post(
        reverse("workspace_ask", args=[case.reference]), {"ask-reason": ""}
    )
    assert response.status_code == 400
    assert "Say what information you need." in response.content.decode()
    case.refresh_from_db()
    assert case.status == Status.IN_REVIEW


@pytest.mark.parametrize("action", ["workspace_accept", "workspace_decline", "workspace_ask"])
def test_actions_are_the_assigned_specialists(
    action: str, client: Client, family: User, specialist: User, coordinator: User
) -> None:
    case = _case(specialist, family, Status.ASSIGNED)
    url = reverse(action, args=[case.reference])
    data = {"decline-reason": "x", "ask-reason": "x"}
    assert login(client, coordinator).post(url, data).status_code == 404
    case.refresh_from_db()
    assert case.status == Status.ASSIGNED


def test_the_workspace_needs_a_session_that_passed_mfa(specialist: User, family: User) -> None:
    case = case_in_review(family, specialist)
    client = Client()
    client.force_login(specialist)  # a password sign-in only: no MFA in this session
    for url in (
        reverse("workspace"),
        reverse("workspace_case", args=[case.reference]),
        reverse("report_edit", args=[case.reference]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("mfa_reauthenticate"))
    assert not case.reports.exists()  # the editor never ran
    assert login(Client(), specialist).get(reverse("workspace")).status_code == 200


# --- work waiting on finished cases ----------------------------------------------------------


def _old_delivered(specialist: User, family: User) -> Case:
    case = _case(specialist, family, Status.DELIVERED)
    delivered_report(case)
    Case.objects.filter(pk=case.pk).update(updated_at=timezone.now() - timedelta(days=100))
    return case


def _reopened(case: Case, specialist: User) -> Report:
    signed = Report.objects.get(case=case, kind=Report.Kind.REPORT)
    return Report.objects.create(
        case=case, kind=Report.Kind.REPORT, version=2, supersedes=signed, author=specialist
    )


def _follow_up(case: Case, family: User) -> FollowUpQuestion:
    return FollowUpQuestion.objects.create(
        case=case, position=1, text="Can she swim again?", asked_by=family
    )


def test_my_cases_lists_work_waiting_on_old_delivered_cases(
    client: Client, family: User, specialist: User
) -> None:
    reopened = _old_delivered(specialist, family)
    _reopened(reopened, specialist)
    asked = _old_delivered(specialist, family)
    _follow_up(asked, family)
    quiet = _old_delivered(specialist, family)
    recent = _case(specialist, family, Status.DELIVERED)

    html = login(client, specialist).get(reverse("workspace")).content.decode()
    needs, rest = html.split('id="in-review"')
    assert "Needs your action (2)" in needs
    assert reopened.reference in needs and asked.reference in needs
    assert reverse("report_edit", args=[reopened.reference]) in needs
    assert "a new version of the report is open" in needs
    assert reverse("addendum_edit", args=[asked.reference]) in needs
    assert "Follow-up questions are waiting for your answer" in needs
    assert quiet.reference not in html  # old, and nothing waits: not listed
    assert recent.reference in rest.split('id="done"')[1]


def test_my_cases_shows_the_newest_finished_cases_and_reads_only_a_page_of_them(
    client: Client, family: User, specialist: User
) -> None:
    """Years of finished cases: the page lists the 20 newest, each once, and asks the database
    for a page of them, not for every case of the last 90 days."""
    finished = []
    for days in range(30):
        case = _case(specialist, family, Status.CLOSED)
        Case.objects.filter(pk=case.pk).update(updated_at=timezone.now() - timedelta(days=days))
        finished.append(case)
    # The newest one also has a follow-up waiting: listed under "needs action", not twice.
    _follow_up(finished[0], family)

    with CaptureQueriesContext(connection) as captured:
        html = login(client, specialist).get(reverse("workspace")).content.decode()
    needs, rest = html.split('id="in-review"')
    done = rest.split('id="done"')[1]
    assert finished[0].reference in needs and finished[0].reference not in done
    shown = [c for c in finished if c.reference in done]
    assert shown == finished[1:21]  # the 20 newest of the rest, newest first
    assert _order(done, [c.reference for c in shown]) == [c.reference for c in shown]
    # The finished cases are read a page at a time (LIMIT), whatever their number.
    recent = [q["sql"] for q in captured.captured_queries if '"updated_at" >=' in q["sql"]]
    assert len(recent) == 1 and "LIMIT 30" in recent[0], recent


def test_my_cases_has_no_action_group_when_nothing_waits(
    client: Client, family: User, specialist: User
) -> None:
    _case(specialist, family, Status.DELIVERED)
    html = login(client, specialist).get(reverse("workspace")).content.decode()
    assert "Needs your action" not in html


def test_my_cases_with_waiting_work_costs_the_same_queries(
    client: Client, family: User, specialist: User
) -> None:
    login(client, specialist)
    url = reverse("workspace")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    queries()
    _reopened(_old_delivered(specialist, family), specialist)
    _follow_up(_old_delivered(specialist, family), family)
    _case(specialist, family, Status.ASSIGNED, due_at=DUE_FRIDAY, assigned_at=NOW)
    with_three = queries()
    for _ in range(5):
        _reopened(_old_delivered(specialist, family), specialist)
        _follow_up(_old_delivered(specialist, family), family)
        _case(specialist, family, Status.ASSIGNED, due_at=DUE_FRIDAY, assigned_at=NOW)
    html = client.get(url).content.decode()
    assert "Needs your action (12)" in html
    assert queries() == with_three


def test_acceptance_deadline_restarts_with_the_resume_as_the_alert_does(
    client: Client, family: User, specialist: User
) -> None:
    thursday = datetime(2026, 2, 26, 18, 0, tzinfo=UTC)  # Thu Feb 26, 10:00 Pacific
    resumed = datetime(2026, 3, 2, 17, 30, tzinfo=UTC)  # Mon Mar 2, 9:30 Pacific
    case = _case(specialist, family, Status.ASSIGNED, assigned_at=thursday, due_at=DUE_FRIDAY)
    with time_machine.travel(resumed, tick=False):
        # Put on hold in "assigned" and resumed this morning: a new acceptance window.
        TimelineEvent.objects.create(
            case=case,
            kind=TimelineEvent.Kind.STATUS,
            from_status=Status.ON_HOLD,
            to_status=Status.ASSIGNED,
        )
    with time_machine.travel(NOW, tick=False):
        html = login(client, specialist).get(reverse("workspace")).content.decode()
        calendar = BusinessCalendar.from_db()
        assert acceptance_deadline(resumed, calendar) > timezone.now()
    start = html.index(case.reference)
    row = html[start : html.index("</tr>", start)]
    assert "Tue Mar 3, 9:30 AM" in row
    assert "Past the deadline" not in row


def test_a_delivered_case_shows_no_deadline_or_days_left(specialist: User, family: User) -> None:
    delivered = CaseFactory(
        family=family,
        status=Status.DELIVERED,
        assigned_specialist=specialist,
        due_at=timezone.now() + timedelta(days=20),
    )
    client = login(Client(), specialist)
    for url in (reverse("workspace"), reverse("workspace_case", args=[delivered.reference])):
        response = client.get(url)
        assert response.status_code == 200
        text = re.sub(r"<[^>]+>", " ", response.content.decode())
        assert "days left" not in text and "On track" not in text, url
