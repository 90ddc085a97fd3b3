"""The clock sweep emails coordinators once per threshold per case, even with two beats."""

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.utils import timezone

from cases.clock_alerts import clock_alerts_send
from cases.models import Case, Status
from core.models import OutboundEmail
from tests.factories import CaseFactory
from tests.services import need_postgres


def _case(due_in: timedelta, status: Status = Status.IN_REVIEW) -> Case:
    return CaseFactory(status=status, due_at=timezone.now() + due_in)


def test_at_risk_then_overdue_each_alerted_once(
    coordinator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # Wednesday 2026-12-02 10:00 Pacific; due Thursday 17:00: Wednesday and Thursday left,
    # 2 business days, which is at risk (Friday 17:00 would be 3 days: on track).
    start = timezone.datetime(2026, 12, 2, 18, 0, tzinfo=timezone.UTC)
    with time_machine.travel(start, tick=False) as clock:
        case = CaseFactory(
            status=Status.IN_REVIEW,
            due_at=timezone.datetime(2026, 12, 4, 1, 0, tzinfo=timezone.UTC),
        )
        on_track = CaseFactory(
            status=Status.IN_REVIEW,
            due_at=timezone.datetime(2026, 12, 5, 1, 0, tzinfo=timezone.UTC),
        )
        quiet = CaseFactory(
            status=Status.IN_REVIEW,
            due_at=timezone.datetime(2026, 12, 31, 1, 0, tzinfo=timezone.UTC),
        )
        with django_capture_on_commit_callbacks(execute=True):
            assert clock_alerts_send() == 1
            assert clock_alerts_send() == 0  # the same threshold never twice
        case.refresh_from_db()
        assert case.clock_alerted == "at_risk"
        assert [m.to for m in mail.outbox] == [[coordinator.email]]
        assert "at risk" in mail.outbox[0].body and case.reference in mail.outbox[0].subject
        clock.shift(timedelta(days=3))  # Saturday: past the due moment
        with django_capture_on_commit_callbacks(execute=True):
            assert clock_alerts_send() == 2  # both are overdue by Saturday
            assert clock_alerts_send() == 0
        case.refresh_from_db()
        assert case.clock_alerted == "overdue"
        assert "overdue" in mail.outbox[-1].body
        assert len(mail.outbox) == 3
        quiet.refresh_from_db()
        assert quiet.clock_alerted == ""
        on_track.refresh_from_db()
        assert on_track.clock_alerted == "overdue"  # it was on track on Wednesday


@pytest.mark.parametrize("status", [Status.ON_HOLD, Status.DELIVERED, Status.IN_TRIAGE])
def test_cases_whose_clock_is_not_running_are_left_alone(status: Status, coordinator: Any) -> None:
    _case(timedelta(hours=-1), status=status)
    assert clock_alerts_send() == 0


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_alert_once(coordinator: Any) -> None:
    need_postgres()
    cases = [_case(timedelta(hours=-2)) for _ in range(5)]
    results: list[int] = []
    barrier = threading.Barrier(2)

    def sweep() -> None:
        try:
            barrier.wait()
            results.append(clock_alerts_send())
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(results) == len(cases)
    assert OutboundEmail.objects.filter(kind="coordinator_alert").count() == len(cases)


@pytest.mark.django_db(transaction=True)
def test_the_beat_task_runs_on_a_real_worker(celery_worker: Any, coordinator: Any) -> None:
    from cases.tasks import clock_sweep

    case = _case(timedelta(hours=-1))
    clock_sweep.delay()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if OutboundEmail.objects.filter(case=case, state="sent").exists():
            break
        time.sleep(0.1)
    case.refresh_from_db()
    assert case.clock_alerted == "overdue"
    assert OutboundEmail.objects.filter(case=case, state="sent").count() == 1


def test_a_specialist_who_has_not_accepted_in_1_business_day_is_chased_once(
    coordinator: Any,
    specialist: Any,
    other_specialist: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from cases.clock_alerts import acceptance_alerts_send
    from cases.lifecycle import case_transition
    from cases.models import TimelineEvent

    # Assigned Wednesday 2026-11-25 at 15:00 Pacific, the day before Thanksgiving: one
    # business day later is Friday 2026-11-27 at 15:00 (Thursday is a holiday).
    assigned = timezone.datetime(2026, 11, 25, 23, 0, tzinfo=timezone.UTC)
    with time_machine.travel(assigned, tick=False) as clock:
        case = CaseFactory(
            status=Status.AWAITING_FAMILY_CONFIRMATION, assigned_specialist=specialist
        )
        case_transition(case=case, to=Status.ASSIGNED, by=coordinator)
        accepted = CaseFactory(status=Status.IN_REVIEW, assigned_specialist=other_specialist)
        clock.move_to(timezone.datetime(2026, 11, 27, 22, 59, tzinfo=timezone.UTC))
        with django_capture_on_commit_callbacks(execute=True):
            assert acceptance_alerts_send() == 0  # Friday 14:59 Pacific: still in time
        clock.move_to(timezone.datetime(2026, 11, 27, 23, 1, tzinfo=timezone.UTC))
        with django_capture_on_commit_callbacks(execute=True):
            assert acceptance_alerts_send() == 1
            assert acceptance_alerts_send() == 0  # once per assignment
        assert [m.to for m in mail.outbox] == [[coordinator.email]]
        assert "has not accepted" in mail.outbox[0].body
        assert case.reference in mail.outbox[0].subject
        assert OutboundEmail.objects.filter(case=accepted).count() == 0
        # Declined and assigned again: a new deadline, a new alert when it passes.
        case_transition(case=case, to=Status.IN_TRIAGE, by=specialist)
        case_transition(case=case, to=Status.AWAITING_FAMILY_CONFIRMATION, by=coordinator)
        case_transition(case=case, to=Status.ASSIGNED, by=coordinator)
        with django_capture_on_commit_callbacks(execute=True):
            assert acceptance_alerts_send() == 0
        clock.shift(timedelta(days=3, hours=1))  # Monday 2026-11-30 16:01 Pacific
        with django_capture_on_commit_callbacks(execute=True):
            assert acceptance_alerts_send() == 1
        assert len(mail.outbox) == 2
        assert (
            TimelineEvent.objects.filter(case=case, kind="status", to_status="assigned").count()
            == 2
        )
