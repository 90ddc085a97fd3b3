"""The clock sweep: tell the coordinators, once per threshold, when a case is at risk or
overdue. Run by Celery beat every 15 minutes (``cases.tasks.clock_sweep``).

Safe when two beats run at once: each case's alert is claimed with a conditional update
on ``clock_alerted`` (only one sweep gets rowcount 1), and the email's dedupe key is unique
per case, threshold and coordinator. Due dates live in the database, so a restart loses
nothing.
"""

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from .clock import BusinessCalendar, clock_state, format_pacific
from .models import Case, Status, TimelineEvent, TurnaroundPolicy
from .notifications import case_email, coordinator_addresses

logger = logging.getLogger(__name__)

# The clock runs only while the specialist has the case (held cases are not in these).
CLOCK_RUNNING = (Status.ASSIGNED, Status.IN_REVIEW)
RANK = {"": 0, "at_risk": 1, "overdue": 2}


def clock_alerts_send() -> int:
    """Alert on every case that crossed a threshold since the last sweep. Returns how many."""
    now = timezone.now()
    policy = TurnaroundPolicy.current()
    calendar = BusinessCalendar.from_db()
    coordinators = coordinator_addresses()
    sent = 0
    running = Case.objects.filter(status__in=CLOCK_RUNNING, due_at__isnull=False).only(
        "pk", "reference", "due_at", "clock_alerted"
    )
    for case in running.iterator():
        if case.due_at is None:  # excluded by the filter; says so to the type checker
            continue
        state = clock_state(case.due_at, now, policy=policy, calendar=calendar)
        if state == "on_track" or RANK[state] <= RANK[case.clock_alerted]:
            continue
        with transaction.atomic():
            claimed = Case.objects.filter(pk=case.pk, clock_alerted=case.clock_alerted).update(
                clock_alerted=state
            )
            if claimed != 1:
                continue  # another sweep got there first
            what = (
                f"This case is overdue: it was due {format_pacific(case.due_at)}."
                if state == "overdue"
                else f"This case is at risk: it is due {format_pacific(case.due_at)}."
            )
            case_email(
                case, "coordinator_alert", coordinators, f"clock:{case.pk}:{state}", what=what
            )
        sent += 1
    return sent


# The assigned specialist accepts or declines within this many business days.
ACCEPT_WITHIN_BUSINESS_DAYS = 1


def acceptance_deadline(assigned: datetime, calendar: BusinessCalendar) -> datetime:
    return calendar.add_business_days(assigned, ACCEPT_WITHIN_BUSINESS_DAYS)


def acceptance_alerts_send() -> int:
    """Tell the coordinators, once per assignment, when the specialist has neither accepted
    nor declined a case within 1 business day, so they can chase or reassign it. The
    assignment's time is its latest move to "assigned" on the timeline (a reassignment
    starts a new deadline); the email's dedupe key names that move, so a second sweep, or
    two at once, never mails twice."""

    now = timezone.now()
    calendar = BusinessCalendar.from_db()
    latest = TimelineEvent.objects.filter(
        case=OuterRef("pk"), kind=TimelineEvent.Kind.STATUS, to_status=Status.ASSIGNED
    ).order_by("-at", "-pk")
    waiting = (
        Case.objects.filter(status=Status.ASSIGNED, assigned_specialist__isnull=False)
        .annotate(
            assigned_move=Subquery(latest.values("pk")[:1]),
            assigned_moment=Subquery(latest.values("at")[:1]),
        )
        .only("pk", "reference")
    )
    coordinators = coordinator_addresses()
    sent = 0
    for case in waiting.iterator():
        moment = case.assigned_moment
        if moment is None or acceptance_deadline(moment, calendar) > now:
            continue
        queued = case_email(
            case,
            "coordinator_alert",
            coordinators,
            f"accept-late:{case.assigned_move}",
            what=f"The specialist has not accepted {case.reference} within 1 "
            "business day: chase them or assign another specialist.",
        )
        sent += bool(queued)
    return sent
