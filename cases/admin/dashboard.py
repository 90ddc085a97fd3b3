"""The console's dashboard: cases by status, the clock's numbers, the median turnaround
and each specialist's load."""

from collections import Counter
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q

from accounts.models import Role, User

from ..clock import BUSINESS_DAY
from ..models import Case, RecordRequest, Status, TimelineEvent
from ..risk import ConsoleClock
from .labels import (
    CLOCK_STATES,
    SPECIALIST_LOAD_STATES,
    STATUS_LABELS,
    WAITING_ON_FAMILY_STATES,
)

S = Status


def _turnaround_business_days(case: Case, signed_at: datetime, clock: ConsoleClock) -> float:
    starts = [m for m in (case.assigned_at, case.records_complete_at) if m is not None]
    start = max(starts) if starts else case.submitted_at or case.created_at
    spent = clock.calendar.business_time_between(start, signed_at)
    for hold in case.holds.all():
        begin = max(hold.started_at, start)
        end = min(hold.ended_at or signed_at, signed_at)
        if end > begin:
            spent -= clock.calendar.business_time_between(begin, end)
    return max(spent, timedelta(0)) / BUSINESS_DAY


def median_turnaround(clock: ConsoleClock, days: int) -> float | None:
    """Median business days from clock start (the later of assignment and records complete)
    to the signed report, hold time left out, over reports signed in the last ``days``."""
    since = clock.now - timedelta(days=days)
    signed = (
        TimelineEvent.objects.filter(
            kind=TimelineEvent.Kind.STATUS, to_status=S.REPORT_FINAL, at__gte=since
        )
        .select_related("case")
        .prefetch_related("case__holds")
        .order_by("at")
    )
    first: dict[int, TimelineEvent] = {}
    for event in signed:
        first.setdefault(event.case_id, event)
    values = [_turnaround_business_days(e.case, e.at, clock) for e in first.values()]
    return round(median(values), 1) if values else None


def dashboard_numbers(clock: ConsoleClock) -> dict[str, Any]:
    by_status: Counter[str] = Counter()
    for status, count in Case.objects.order_by().values_list("status").annotate(n=Count("pk")):
        by_status[status] = count
    clocked = Case.objects.filter(status__in=CLOCK_STATES, due_at__isnull=False)
    family_requests = RecordRequest.objects.filter(
        case=OuterRef("pk"),
        received_at__isnull=True,
        requested_from=RecordRequest.From.FAMILY,
    )
    waiting_on_family = Case.objects.filter(
        Q(status__in=WAITING_ON_FAMILY_STATES)
        | Q(Exists(family_requests), status=S.AWAITING_RECORDS)
    ).count()
    specialists = (
        User.objects.filter(role=Role.SPECIALIST, is_active=True)
        .annotate(
            load=Count(
                "assigned_cases",
                filter=Q(assigned_cases__status__in=SPECIALIST_LOAD_STATES),
                distinct=True,
            ),
            proposed=Count(
                "proposed_cases",
                filter=Q(proposed_cases__status=S.AWAITING_FAMILY_CONFIRMATION),
                distinct=True,
            ),
        )
        .order_by("-load", "full_name")
    )
    return {
        "by_status": [
            (STATUS_LABELS[value], by_status.get(value, 0), value) for value, _ in S.choices
        ],
        "at_risk": clocked.filter(clock.risk_q("at_risk")).count(),
        "overdue": clocked.filter(clock.risk_q("overdue")).count(),
        "waiting_on_family": waiting_on_family,
        "median_30": median_turnaround(clock, 30),
        "median_90": median_turnaround(clock, 90),
        "specialists": list(specialists),
    }
