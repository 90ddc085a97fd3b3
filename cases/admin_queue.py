"""The coordinator console's queue and dashboard: the pieces ``cases.admin`` puts together.

Speed at any size
    The changelist never counts the whole table: ``BoundedPaginator`` counts at most a few
    pages past the one asked for (``SELECT COUNT(*) FROM (... LIMIT n)``), or, on PostgreSQL
    and with no filter or search, reads the planner's row estimate (``pg_class.reltuples``)
    once the table is large. Each row's columns come from ``select_related`` and two
    subquery annotations (last activity, unread messages), so the number of queries does
    not grow with the number of cases.

The clock
    One ``BusinessCalendar`` and one ``TurnaroundPolicy`` per request (``console_clock``),
    shared by the rows, the clock-risk filter and the dashboard. The clock-risk filter works
    on ``due_at`` ranges, not on ``clock_alerted`` (which only changes when the alert task
    runs): "overdue" is ``due_at`` before now; "at risk" is ``due_at`` from now up to the
    last close of business with at most ``at_risk_days`` business days left, exactly the
    rule of ``cases.clock.clock_state``; "on track" is later than that.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import cached_property

from accounts.models import Role, User

from .clock import BUSINESS_DAY, BusinessCalendar, ClockState, clock_state
from .models import (
    Case,
    CaseMessage,
    CaseReadMarker,
    RecordRequest,
    Status,
    TimelineEvent,
    TurnaroundPolicy,
)

S = Status

# A case is with a specialist (counts towards their load) in these states.
SPECIALIST_LOAD_STATES = (S.ASSIGNED, S.IN_REVIEW)
# Waiting on the family: their confirmation, their payment, or records asked of them.
WAITING_ON_FAMILY_STATES = (S.AWAITING_FAMILY_CONFIRMATION, S.PAYMENT_NEEDED)
# States with a running (or paused) turnaround clock worth flagging.
CLOCK_STATES = (S.ASSIGNED, S.IN_REVIEW, S.ON_HOLD)


# --- the clock, once per request ----------------------------------------------------------


@dataclass
class ConsoleClock:
    calendar: BusinessCalendar
    policy: TurnaroundPolicy
    now: datetime

    def days_left(self, due: datetime) -> int:
        return self.calendar.business_days_between(self.now, due)

    def state(self, due: datetime) -> ClockState:
        return clock_state(due, self.now, policy=self.policy, calendar=self.calendar)

    @cached_property
    def at_risk_until(self) -> datetime:
        """The latest due moment that is at risk now: the last close of business with at
        most ``at_risk_days`` business days left (see ``clock.clock_state``)."""
        limit = self.policy.at_risk_days
        moment = self.calendar.close_of_business(self.now)
        found = self.now
        for _ in range(limit + 2):
            if self.days_left(moment) > limit:
                break
            found = moment
            moment = self.calendar.close_of_business(moment + timedelta(seconds=1))
        return found

    def risk_q(self, risk: str) -> Q:
        if risk == "overdue":
            return Q(due_at__lt=self.now)
        if risk == "at_risk":
            return Q(due_at__gte=self.now, due_at__lte=self.at_risk_until)
        if risk == "on_track":
            return Q(due_at__gt=self.at_risk_until)
        return Q(due_at__isnull=True)


def console_clock(request: HttpRequest) -> ConsoleClock:
    """The calendar (one query) and policy (one query) for this request, built once."""
    clock = getattr(request, "_console_clock", None)
    if clock is None:
        clock = ConsoleClock(BusinessCalendar.from_db(), TurnaroundPolicy.current(), timezone.now())
        request._console_clock = clock  # type: ignore[attr-defined]
    return clock


RISK_LABELS: dict[str, str] = {
    "on_track": "On track",
    "at_risk": "At risk",
    "overdue": "Overdue",
    "no_clock": "No due date",
}


# --- the queue queryset -------------------------------------------------------------------


def queue_annotate(queryset: QuerySet[Case], user: Any) -> QuerySet[Case]:
    """Last activity (the latest timeline entry, else the last change) and whether the case
    has messages by others newer than ``user``'s read marker: two subqueries, no joins that
    multiply rows."""
    latest_event = (
        TimelineEvent.objects.filter(case=OuterRef("pk")).order_by("-at").values("at")[:1]
    )
    marker = CaseReadMarker.objects.filter(case=OuterRef(OuterRef("pk")), user_id=user.pk).values(
        "last_read_at"
    )[:1]
    unread = (
        CaseMessage.objects.filter(case=OuterRef("pk"))
        .exclude(author_id=user.pk)
        .filter(Q(~Exists(marker)) | Q(created_at__gt=Subquery(marker)))
    )
    return queryset.annotate(last_event_at=Subquery(latest_event), unread=Exists(unread))


# --- the paginator --------------------------------------------------------------------------


class BoundedPaginator(Paginator):
    """Counts no further than ``pages_ahead`` pages past the current one.

    ``bounded`` is True when the real number may be higher (the changelist then says
    "more than"). With no filter or search on PostgreSQL, a large table's size comes from
    the planner's estimate instead, which costs nothing.
    """

    pages_ahead = 10
    estimate_from = 10_000

    def __init__(self, *args: Any, current_page: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit = (max(current_page, 1) + self.pages_ahead) * int(self.per_page)
        self.bounded = False
        self.estimated = False

    def _estimate(self) -> int | None:
        rows: Any = self.object_list
        query = getattr(rows, "query", None)
        if connection.vendor != "postgresql" or query is None or query.where:
            return None
        table = rows.model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
            row = cursor.fetchone()
        if row is None or row[0] < self.estimate_from:
            return None
        return int(row[0])

    @cached_property
    def count(self) -> int:
        estimate = self._estimate()
        if estimate is not None:
            self.estimated = True
            return estimate
        # Only the ids, unordered: the annotations a filter does not use are left out.
        rows: Any = self.object_list
        found = rows.order_by().values("pk")[: self.limit + 1].count()
        if found > self.limit:
            self.bounded = True
            return self.limit
        return int(found)


# --- the dashboard ----------------------------------------------------------------------------


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
        "by_status": [(label, by_status.get(value, 0), value) for value, label in S.choices],
        "at_risk": clocked.filter(clock.risk_q("at_risk")).count(),
        "overdue": clocked.filter(clock.risk_q("overdue")).count(),
        "waiting_on_family": waiting_on_family,
        "median_30": median_turnaround(clock, 30),
        "median_90": median_turnaround(clock, 90),
        "specialists": list(specialists),
    }


__all__ = [
    "BoundedPaginator",
    "ConsoleClock",
    "console_clock",
    "dashboard_numbers",
    "median_turnaround",
    "queue_annotate",
    "specialists_for",
]


def specialists_for(case: Case) -> QuerySet[User]:
    """Who can be proposed: active specialists of the case's specialty who accept cases,
    least loaded first (``load``: their cases assigned or in review)."""
    people = User.objects.filter(
        role=Role.SPECIALIST, is_active=True, specialist_profile__accepting_cases=True
    )
    if case.specialty_id is not None:
        people = people.filter(specialist_profile__specialties=case.specialty_id)
    return (
        people.annotate(
            load=Count(
                "assigned_cases",
                filter=Q(assigned_cases__status__in=SPECIALIST_LOAD_STATES),
                distinct=True,
            )
        )
        .distinct()
        .order_by("load", "full_name", "pk")
    )
