"""The coordinator console's queue and dashboard: the pieces ``cases.admin`` puts together.

Speed at any size
    The changelist never counts the whole table: ``BoundedPaginator`` counts at most a few
    pages past the one asked for (``SELECT COUNT(*) FROM (... LIMIT n)``), or, on PostgreSQL
    and with no filter or search, reads the planner's row estimate (``pg_class.reltuples``)
    once the table is large. Each row's columns come from ``select_related`` and two
    subquery annotations (last activity, unread messages), so the number of queries does
    not grow with the number of cases. The rows and the filter sidebar are prepared here
    (``queue_rows``, ``queue_filters``) and rendered by one template each, rather than
    through the admin's per-cell and per-filter template tags, and the search looks each
    kind of match up on its own index (``queue_search``). Figures: benchmarks/README.md,
    "The coordinator console".

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
from datetime import date, datetime, timedelta, tzinfo
from statistics import median
from typing import Any

from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    DateTimeField,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.text import smart_split, unescape_string_literal

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
    has messages by others newer than ``user``'s read marker: two correlated subqueries on
    (case, at) and (case, thread, created_at) indexes, no joins that multiply rows.

    Written as SQL because building the same two subqueries with ``OuterRef`` costs more
    Python on every queue request (about 5 ms here) than running them on fifty rows."""
    return queryset.annotate(
        last_event_at=RawSQL(_LATEST_EVENT_SQL, (), output_field=DateTimeField()),  # noqa: S611
        unread=RawSQL(_UNREAD_SQL, (user.pk, user.pk), output_field=BooleanField()),  # noqa: S611
    )


# Table names from the models, the user's id as a parameter: nothing a request supplies.
_CASE = Case._meta.db_table
_LATEST_EVENT_SQL = (
    f'SELECT e."at" FROM "{TimelineEvent._meta.db_table}" e '  # noqa: S608
    f'WHERE e."case_id" = "{_CASE}"."id" ORDER BY e."at" DESC LIMIT 1'
)
# Unread: a message by someone else that the user's marker (one per case and user, if
# any) has not read up to.
_UNREAD_SQL = (
    f'EXISTS (SELECT 1 FROM "{CaseMessage._meta.db_table}" m '  # noqa: S608
    f'WHERE m."case_id" = "{_CASE}"."id" AND m."author_id" <> %s '
    f'AND NOT EXISTS (SELECT 1 FROM "{CaseReadMarker._meta.db_table}" r '
    f'WHERE r."case_id" = "{_CASE}"."id" AND r."user_id" = %s '
    f'AND r."last_read_at" >= m."created_at"))'
)


# --- the rows -----------------------------------------------------------------------------

# The clock no longer matters once the report is signed (or the case ended).
CLOCK_STOPPED = frozenset({S.REPORT_FINAL, S.DELIVERED, S.CLOSED, S.DECLINED, S.WITHDRAWN})

# The columns a queue row shows, and nothing else: the intake alone has some forty fields
# (addresses, the diagnosis text) that fifty rows would otherwise load and build for nothing.
QUEUE_ONLY = (
    "reference",
    "status",
    "due_at",
    "submitted_at",
    "records_complete_at",
    "updated_at",
    "specialty__name",
    "assigned_specialist__email",
    "assigned_specialist__full_name",
    "intake__child_legal_first_name",
    "intake__child_legal_last_name",
    "intake__child_date_of_birth",
    "intake__residence",
    "intake__preferred_specialist_text",
    "intake__preferred_specialist__full_name",
    "intake__preferred_specialist__email",
    "billing__state",
)
QUEUE_RELATED = (
    "specialty",
    "assigned_specialist",
    "intake",
    "intake__preferred_specialist",
    "billing",
)


def clock_annotate(cases: list[Case], clock: ConsoleClock) -> None:
    """Each row's business days left and clock state, from the request's one calendar."""
    for case in cases:
        case.clock_days_left = None  # type: ignore[attr-defined]
        case.clock_state = "no_clock"  # type: ignore[attr-defined]
        if case.due_at is not None and case.status not in (*CLOCK_STOPPED, S.ON_HOLD):
            case.clock_days_left = clock.days_left(case.due_at)  # type: ignore[attr-defined]
            case.clock_state = clock.state(case.due_at)  # type: ignore[attr-defined]


def _intake(case: Case) -> Any:
    # A draft may have no intake yet; the reverse one-to-one then raises.
    return getattr(case, "intake", None)


def child_text(case: Case, today: date) -> str:
    from intake.models import age_on

    intake = _intake(case)
    name = intake.child_name if intake is not None else ""
    if not name:
        return "—"
    born = intake.child_date_of_birth
    return name if born is None else f"{name} ({age_on(born, today)})"


def residence_text(case: Case) -> str:
    intake = _intake(case)
    return (intake.residence_id or "—") if intake is not None else "—"


def requested_specialist_text(case: Case) -> str:
    intake = _intake(case)
    if intake is None:
        return "—"
    person = intake.preferred_specialist
    if person is not None:
        return str(person.full_name or person.email)
    return intake.preferred_specialist_text or "—"


def _person(user: Any) -> str:
    if user is None:
        return "—"
    return str(user.full_name or user.email)


def _day(moment: datetime, tz: tzinfo) -> str:
    return f"{moment.astimezone(tz):%b %-d}"


def records_complete_text(case: Case, tz: tzinfo | None = None) -> str:
    if case.records_complete_at is None:
        return "No"
    return f"Yes, {_day(case.records_complete_at, tz or timezone.get_current_timezone())}"


def payment_text(case: Case) -> str:
    billing = getattr(case, "billing", None)
    return PAYMENT_LABELS.get(billing.state, billing.state) if billing is not None else "—"


def due_cell(case: Case, tz: tzinfo | None = None) -> dict[str, Any]:
    """The due date, the business days left, and the clock state in words as well as
    colour (the colour alone says nothing to a screen reader or a colour-blind reader).
    The colour is a class (``risk-…`` in static/css/console.css): the CSP refuses inline
    styles."""
    if case.due_at is None:
        return {"when": "—", "state": "", "label": "", "left": None}
    when = _day(case.due_at, tz or timezone.get_current_timezone())
    state = getattr(case, "clock_state", "no_clock")
    if case.status == S.ON_HOLD:
        # A hold stops the clock: no days left to count, and never "on track".
        return {"when": f"{when} · clock paused (on hold)", "state": "", "label": "", "left": None}
    if state == "no_clock":
        return {"when": when, "state": "", "label": "", "left": None}
    left = getattr(case, "clock_days_left", None)
    return {"when": when, "state": state, "label": RISK_LABELS[state], "left": left}


def due_text(case: Case) -> str:
    cell = due_cell(case)
    if not cell["state"]:
        return str(cell["when"])
    return f"{cell['when']} · {cell['left']} days left · {cell['label']}"


def last_activity_text(case: Case, tz: tzinfo | None = None) -> str:
    moments = [getattr(case, "last_event_at", None), case.updated_at]
    latest = max(moment for moment in moments if moment is not None)
    return f"{latest.astimezone(tz or timezone.get_current_timezone()):%b %-d %H:%M}"


# The console's words for each status. The model's labels are the family's ("Waiting for
# your confirmation"); the coordinator needs to know who the case waits on and what is next.
CONSOLE_STATUS_LABELS: dict[str, str] = {
    S.DRAFT: "Draft (not submitted)",
    S.SUBMITTED: "New: to triage",
    S.IN_TRIAGE: "In triage",
    S.AWAITING_RECORDS: "Waiting for records",
    S.DECLINED: "Declined",
    S.AWAITING_FAMILY_CONFIRMATION: "Waiting for the family to confirm",
    S.WITHDRAWN: "Withdrawn by the family",
    S.PAYMENT_NEEDED: "Charge failed: waiting for the family to pay",
    S.ASSIGNED: "With the specialist, to accept",
    S.IN_REVIEW: "Specialist reviewing",
    S.REPORT_FINAL: "Report signed, being delivered",
    S.DELIVERED: "Report delivered",
    S.CLOSED: "Closed",
    S.ON_HOLD: "On hold",
}
STATUS_LABELS: dict[str, str] = {
    str(value): label for value, label in CONSOLE_STATUS_LABELS.items()
}


def console_status(status: str) -> str:
    return STATUS_LABELS.get(status, status)


# The queue's default view: the coordinator's open work. Drafts (the family has not sent
# them) and ended cases are a filter away ("Show" in the sidebar).
ENDED_STATES = (S.CLOSED, S.DECLINED, S.WITHDRAWN)
HIDDEN_BY_DEFAULT = (S.DRAFT, *ENDED_STATES)
# Waiting on a coordinator's step: triage, records, or the family's confirmation.
WAITING_STATES = (
    S.SUBMITTED,
    S.IN_TRIAGE,
    S.AWAITING_RECORDS,
    S.AWAITING_FAMILY_CONFIRMATION,
    S.PAYMENT_NEEDED,
)


def urgency_rank(clock: "ConsoleClock") -> Any:
    """0 overdue, 1 at risk, 2 waiting for triage, records or confirmation, 3 the rest:
    the queue's first sort key, so the coordinator's most urgent work is on top."""
    from django.db.models import Case as CaseWhen

    running = ~Q(status__in=CLOCK_STOPPED)
    return CaseWhen(
        When(running & clock.risk_q("overdue"), then=Value(0)),
        When(running & clock.risk_q("at_risk"), then=Value(1)),
        When(status__in=WAITING_STATES, then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )


PAYMENT_LABELS: dict[str, str] = {}  # filled on first use: billing imports cases


def queue_rows(cases: list[Case], change_url: str, link_suffix: str) -> list[dict[str, Any]]:
    """The cells of the queue's rows, for ``admin/cases/case/_queue_rows.html``.

    One template renders all rows (the template escapes every value), rather than the
    admin's ``result_list`` tag, which for each of the fifty rows and eleven columns looks
    the column up, formats it through ``display_for_value`` and reverses the case's URL.
    ``change_url`` ends with ``/0/change/`` (one reverse for all rows).
    """
    if not PAYMENT_LABELS:
        from billing.models import CaseBilling

        PAYMENT_LABELS.update((v, str(label)) for v, label in CaseBilling.State.choices)
    head, tail = change_url.rsplit("/0/", 1)
    today = timezone.localdate()
    tz = timezone.get_current_timezone()
    rows = []
    for case in cases:
        specialty = case.specialty
        assigned = case.assigned_specialist
        rows.append(
            {
                "url": f"{head}/{case.pk}/{tail}{link_suffix}",
                "reference": case.reference,
                "child": child_text(case, today),
                "residence": residence_text(case),
                "specialty": specialty.name if specialty is not None else "—",
                "status": console_status(case.status),
                "requested_specialist": requested_specialist_text(case),
                "assigned_specialist": _person(assigned),
                "records_complete": records_complete_text(case, tz),
                "payment": payment_text(case),
                "due": due_cell(case, tz),
                "last_activity": last_activity_text(case, tz),
            }
        )
    return rows


# --- the filters' choices -------------------------------------------------------------------

SPECIALIST_CHOICES_KEY = "cases:queue:specialist-choices"
SPECIALIST_CHOICES_TTL = 300


def specialist_choices() -> list[tuple[str, str]]:
    """The assigned-specialist filter's choices, cached: ``accounts_user`` has no index on
    the role (a specialist is one user in thousands), so the query reads the whole table,
    on every queue page. Saving a user drops the list; the time limit covers the rest
    (bulk updates, another process's local cache)."""
    choices = cache.get(SPECIALIST_CHOICES_KEY)
    if choices is None:
        people = User.objects.filter(role=Role.SPECIALIST).order_by("full_name", "pk")
        choices = [(str(p.pk), p.get_full_name() or p.email) for p in people]
        cache.set(SPECIALIST_CHOICES_KEY, choices, SPECIALIST_CHOICES_TTL)
    return list(choices)


@receiver(post_save, sender=User, dispatch_uid="cases.queue.specialist_choices")
def _specialist_choices_changed(**kwargs: Any) -> None:
    cache.delete(SPECIALIST_CHOICES_KEY)


def queue_filters(changelist: Any) -> list[dict[str, Any]]:
    """The filter sidebar's titles and choices, for ``admin/cases/case/_queue_filters.html``
    (one template for the whole sidebar: the admin's ``admin_list_filter`` tag renders
    ``admin/filter.html`` once per filter, about a hundred links with the specialists)."""
    return [
        {"title": str(spec.title), "choices": list(spec.choices(changelist))}
        for spec in changelist.filter_specs
    ]


# --- search ---------------------------------------------------------------------------------


def queue_search(queryset: QuerySet[Case], term: str) -> QuerySet[Case]:
    """The queue's search box, written so that each branch can use an index.

    The admin's own search ORs ``UPPER(column) …`` over the case, its intake and the
    family's account in one joined WHERE clause: no index serves that, so at 100,000 cases
    every search reads the three tables whole (1 to 2 s here, for a page and its count).
    Instead each kind of match is looked up on its own table, compared the way that
    table's index is built:

    - reference, exactly (any case): stored upper case, unique index;
    - the family's email, exactly: ``accounts_user`` has a unique index on ``lower(email)``;
    - the physician's email, exactly: stored lower case (``Case.save``),
      ``case_physician_email_idx``;
    - the child's legal first or last name, by prefix, as the coordinator types it:
      ``UPPER(name) LIKE 'MAR%'`` on the intake's pattern indexes.

    The matching case ids are read first (two small queries per word) and the queue then
    filters on that list, read by primary key: a subquery there lets the planner pick a
    hash join over the whole case table whenever it overestimates the matches. A name
    prefix that matches more than ``NAME_IDS_LIMIT`` cases (four letters of a common
    first name) is instead tested row by row while the queue's order index is walked,
    which stops after the page's rows, however large the table.

    As in the admin's search, the words of the term (quotes keep words together) must each
    match: "maria lop" finds Maria Lopez.
    """
    words = [
        unescape_string_literal(bit) if bit[:1] in "\"'" and bit[0] == bit[-1] else bit
        for bit in smart_split(term)
    ]
    for word in filter(None, (word.strip() for word in words)):
        queryset = queryset.filter(_cases_matching(word))
    return queryset


# Above this many name matches, the ids are not listed (see queue_search).
NAME_IDS_LIMIT = 500


def _cases_matching(word: str) -> Q:
    from intake.models import Intake

    exact = list(
        Case.objects.filter(reference=word.upper())
        .values_list("pk", flat=True)
        .union(
            Case.objects.filter(physician_email=word.lower()).values_list("pk", flat=True),
            Case.objects.filter(family__in=_users_by_email(word)).values_list("pk", flat=True),
        )
    )
    name_prefix = Q(child_legal_first_name__istartswith=word) | Q(
        child_legal_last_name__istartswith=word
    )
    named = list(
        Intake.objects.filter(name_prefix)
        .order_by()
        .values_list("case_id", flat=True)[: NAME_IDS_LIMIT + 1]
    )
    if len(named) <= NAME_IDS_LIMIT:
        return Q(pk__in=[*exact, *named])
    return (
        Q(pk__in=exact)
        | Q(intake__child_legal_first_name__istartswith=word)
        | Q(intake__child_legal_last_name__istartswith=word)
    )


def _users_by_email(term: str) -> QuerySet[Any]:
    from django.db.models.functions import Lower

    return (
        User.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower=term.lower())
        .values("pk")
    )


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


__all__ = [
    "QUEUE_ONLY",
    "QUEUE_RELATED",
    "RISK_LABELS",
    "BoundedPaginator",
    "ConsoleClock",
    "child_text",
    "clock_annotate",
    "console_clock",
    "console_status",
    "dashboard_numbers",
    "due_cell",
    "due_text",
    "last_activity_text",
    "median_turnaround",
    "payment_text",
    "queue_annotate",
    "queue_filters",
    "queue_rows",
    "queue_search",
    "records_complete_text",
    "requested_specialist_text",
    "residence_text",
    "specialist_choices",
    "specialists_for",
]


def specialists_for(case: Case, *, any_specialty: bool = False) -> QuerySet[User]:
    """Who can be proposed: active specialists of the case's specialty (of any, with
    ``any_specialty``) who accept cases, least loaded first (``load``: their cases assigned
    or in review)."""
    people = User.objects.filter(
        role=Role.SPECIALIST, is_active=True, specialist_profile__accepting_cases=True
    )
    if case.specialty_id is not None and not any_specialty:
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
