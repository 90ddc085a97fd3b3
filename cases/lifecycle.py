"""The case state machine: the allowed moves and the one function that moves.

The moves are read from the table of actions (``cases.actions``), not written here again.
Every status change goes through ``case_transition``. It locks the case row, refuses a move
the table does not allow, writes the timeline row in the same transaction and announces the
change (``case_transitioned``) only after commit, so side effects such as emails never fire
for a change that rolled back. Business rules for each move live in the services of the
app that owns them and call this function.
"""

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from accounts.models import User
from core.refusals import Refused

from . import actions
from .models import Case, Status, TimelineEvent

S = Status

# Built from the table of actions (cases.actions): a move exists because an action makes it.
# ASSIGNED → ASSIGNED and IN_REVIEW → ASSIGNED: a coordinator hands the case to another
# specialist ("reassign"), who then has to accept it. Leaving ON_HOLD is only ever back to the
# state it was put on hold from, so ON_HOLD has no row of its own here.
TRANSITIONS: dict[Status, frozenset[Status]] = actions.transitions()

# "Open" states may be paused (clock stopped while waiting on the family or physician).
HOLDABLE: frozenset[Status] = actions.holdable()

case_transitioned = Signal()  # sent after commit: case_id, from_status, to_status, actor_id


class IllegalTransition(Refused):
    def __init__(self, message: Any, code: str = "transition") -> None:
        super().__init__(message, code=code)


@dataclass(frozen=True)
class Move:
    case_id: int
    from_status: Status
    to_status: Status
    actor_id: int | None


def timeline_note(case: Case, by: User | None, text: str) -> TimelineEvent:
    """A non-status event on the case's timeline (coordinator-facing; no card data)."""
    return TimelineEvent.objects.create(
        case=case, actor=by, kind=TimelineEvent.Kind.NOTE, note=text
    )


def allowed_targets(case: Case) -> frozenset[Status]:
    current = Status(case.status)
    if current == S.ON_HOLD:
        return (
            frozenset({Status(case.status_before_hold)}) if case.status_before_hold else frozenset()
        )
    targets = set(TRANSITIONS[current])
    if current in HOLDABLE:
        targets.add(S.ON_HOLD)
    return frozenset(targets)


def _announce(move: Move) -> None:
    case_transitioned.send(
        sender=Case,
        case_id=move.case_id,
        from_status=move.from_status,
        to_status=move.to_status,
        actor_id=move.actor_id,
    )


@transaction.atomic
def case_transition(*, case: Case, to: Status, by: User | None, note: str = "") -> Case:
    """Move ``case`` to ``to`` or raise IllegalTransition. Returns the locked, updated case.

    The caller's ``case`` instance may be stale (another request may have moved it): the
    decision is made on the row as locked now, and that row is returned. The caller's
    instance is left as it was; use the returned one.
    """
    locked = Case.objects.lock(case)
    current = Status(locked.status)
    target = Status(to)
    if target not in allowed_targets(locked):
        raise IllegalTransition(
            f"A case that is “{current.label}” cannot move to “{target.label}”.",
            code="illegal_transition",
        )
    if target == S.ON_HOLD:
        locked.status_before_hold = current
    elif current == S.ON_HOLD:
        locked.status_before_hold = ""
    locked.status = target
    fields = ["status", "status_before_hold", "updated_at"]
    if target == S.SUBMITTED and locked.submitted_at is None:
        locked.submitted_at = timezone.now()
        fields.append("submitted_at")
    locked.save(update_fields=fields)
    TimelineEvent.objects.create(
        case=locked,
        actor=by,
        kind=TimelineEvent.Kind.STATUS,
        from_status=current,
        to_status=target,
        note=note,
    )
    move = Move(locked.pk, current, target, by.pk if by else None)
    transaction.on_commit(lambda: _announce(move))
    return locked
