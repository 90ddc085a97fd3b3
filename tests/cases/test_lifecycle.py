"""The state machine: every allowed move, forbidden moves refused, timeline rows written."""

import threading
from typing import Any

import pytest
from django.db import connection

from cases.lifecycle import (
    HOLDABLE,
    TRANSITIONS,
    IllegalTransition,
    allowed_targets,
    case_transition,
    case_transitioned,
)
from cases.models import Case, Status, TimelineEvent
from tests.factories import CaseFactory
from tests.services import need_postgres

ALLOWED = [(src, dst) for src, targets in TRANSITIONS.items() for dst in sorted(targets)]
ALL_STATES = list(Status)
FORBIDDEN = [
    (Status.DRAFT, Status.ASSIGNED),
    (Status.DRAFT, Status.DELIVERED),
    (Status.SUBMITTED, Status.ASSIGNED),
    (Status.IN_TRIAGE, Status.IN_REVIEW),
    (Status.AWAITING_FAMILY_CONFIRMATION, Status.IN_REVIEW),
    (Status.PAYMENT_NEEDED, Status.WITHDRAWN),
    (Status.DECLINED, Status.IN_TRIAGE),
    (Status.WITHDRAWN, Status.ASSIGNED),
    (Status.CLOSED, Status.DELIVERED),
    (Status.DELIVERED, Status.IN_REVIEW),
    (Status.REPORT_FINAL, Status.IN_REVIEW),
    (Status.DRAFT, Status.ON_HOLD),
    (Status.CLOSED, Status.ON_HOLD),
    (Status.IN_REVIEW, Status.IN_REVIEW),
]


def test_the_table_matches_the_design() -> None:
    # Every state is in the table, and the design's lifecycle (DESIGN.md) is what it says.
    assert set(TRANSITIONS) == set(Status)
    assert len(ALLOWED) == 17
    assert TRANSITIONS[Status.ASSIGNED] == {Status.IN_REVIEW, Status.IN_TRIAGE, Status.ASSIGNED}
    assert TRANSITIONS[Status.IN_REVIEW] == {Status.REPORT_FINAL, Status.ASSIGNED}
    assert Status.DRAFT not in HOLDABLE and Status.CLOSED not in HOLDABLE


@pytest.mark.parametrize(("src", "dst"), ALLOWED, ids=[f"{s}->{d}" for s, d in ALLOWED])
def test_every_allowed_move(src: Status, dst: Status, coordinator: Any) -> None:
    case = CaseFactory(status=src)
    moved = case_transition(case=case, to=dst, by=coordinator, note="because")
    case.refresh_from_db()
    assert case.status == dst == moved.status
    event = TimelineEvent.objects.get(case=case)
    assert (event.from_status, event.to_status, event.actor, event.note) == (
        src,
        dst,
        coordinator,
        "because",
    )
    assert event.kind == TimelineEvent.Kind.STATUS


@pytest.mark.parametrize(("src", "dst"), FORBIDDEN, ids=[f"{s}->{d}" for s, d in FORBIDDEN])
def test_forbidden_moves_are_refused_and_change_nothing(
    src: Status, dst: Status, coordinator: Any
) -> None:
    case = CaseFactory(status=src)
    with pytest.raises(IllegalTransition) as excinfo:
        case_transition(case=case, to=dst, by=coordinator)
    assert "cannot move" in excinfo.value.messages[0]
    case.refresh_from_db()
    assert case.status == src
    assert not TimelineEvent.objects.filter(case=case).exists()


@pytest.mark.parametrize("src", sorted(HOLDABLE))
def test_hold_and_resume_return_to_where_the_case_was(src: Status, coordinator: Any) -> None:
    case = CaseFactory(status=src)
    case = case_transition(case=case, to=Status.ON_HOLD, by=coordinator, note="waiting on family")
    assert case.status == Status.ON_HOLD and case.status_before_hold == src
    assert allowed_targets(case) == {src}
    other = next(s for s in ALL_STATES if s not in (src, Status.ON_HOLD))
    with pytest.raises(IllegalTransition):
        case_transition(case=case, to=other, by=coordinator)
    case_transition(case=case, to=src, by=coordinator)
    case.refresh_from_db()
    assert case.status == src and case.status_before_hold == ""
    assert list(TimelineEvent.objects.filter(case=case).values_list("to_status", flat=True)) == [
        Status.ON_HOLD,
        src,
    ]


def test_submitting_stamps_the_submission_time(family: Any) -> None:
    case = CaseFactory(status=Status.DRAFT, family=family)
    assert case.submitted_at is None
    case_transition(case=case, to=Status.SUBMITTED, by=family)
    case.refresh_from_db()
    assert case.submitted_at is not None


def test_a_stale_instance_is_judged_on_the_row_as_it_is_now(coordinator: Any) -> None:
    case = CaseFactory(status=Status.SUBMITTED)
    stale = Case.objects.get(pk=case.pk)
    case_transition(case=case, to=Status.IN_TRIAGE, by=coordinator)
    # ``stale`` still says submitted, but the row is in triage: submitted→in_triage again
    # must be refused rather than written twice.
    with pytest.raises(IllegalTransition):
        case_transition(case=stale, to=Status.IN_TRIAGE, by=coordinator)
    assert TimelineEvent.objects.filter(case=case).count() == 1


def test_side_effects_are_announced_only_after_commit(
    coordinator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    seen: list[tuple] = []

    def receiver(**kwargs: Any) -> None:
        seen.append((kwargs["case_id"], kwargs["from_status"], kwargs["to_status"]))

    case_transitioned.connect(receiver)
    try:
        case = CaseFactory(status=Status.SUBMITTED)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            case_transition(case=case, to=Status.IN_TRIAGE, by=coordinator)
        assert seen == []  # nothing before commit
        for callback in callbacks:
            callback()
        assert seen == [(case.pk, Status.SUBMITTED, Status.IN_TRIAGE)]
    finally:
        case_transitioned.disconnect(receiver)


def test_a_rolled_back_move_announces_nothing(coordinator: Any) -> None:
    from django.db import transaction

    seen: list[Any] = []
    case_transitioned.connect(lambda **kw: seen.append(kw), weak=False, dispatch_uid="rb")
    try:
        case = CaseFactory(status=Status.SUBMITTED)
        with pytest.raises(RuntimeError), transaction.atomic():
            case_transition(case=case, to=Status.IN_TRIAGE, by=coordinator)
            raise RuntimeError("a later step failed")
        case.refresh_from_db()
        assert case.status == Status.SUBMITTED
        assert not TimelineEvent.objects.filter(case=case).exists()
        assert seen == []
    finally:
        case_transitioned.disconnect(dispatch_uid="rb")


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_moves_one_wins(coordinator: Any) -> None:
    """The row lock serialises two coordinators; the second sees a clear refusal."""
    need_postgres()
    case = CaseFactory(status=Status.IN_TRIAGE)
    results: list[str] = []
    barrier = threading.Barrier(2)

    def move(target: Status) -> None:
        try:
            barrier.wait()
            case_transition(case=Case.objects.get(pk=case.pk), to=target, by=coordinator)
            results.append(f"ok:{target}")
        except IllegalTransition:
            results.append("refused")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=move, args=(Status.DECLINED,)),
        threading.Thread(target=move, args=(Status.AWAITING_RECORDS,)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(r.split(":")[0] for r in results) == ["ok", "refused"]
    assert TimelineEvent.objects.filter(case=case).count() == 1
