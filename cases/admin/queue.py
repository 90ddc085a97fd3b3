"""The coordinator console's queue: its rows, its sidebar, its search and its paginator.

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

Columns from other apps
    The child, the state and the requested specialist come from the intake, the payment
    from billing: those apps register them (``hooks.queue_column``, ``queue_filter``,
    ``queue_search``), with the joins, columns and subqueries each needs, from their
    ``console.py``. The child's name is the case's own copy (``Case.child_first_name``,
    kept by ``intake.Intake.save``): the queue shows and searches it without the intakes.
"""

from datetime import datetime, tzinfo
from typing import Any, NamedTuple

from django.contrib.admin.templatetags.admin_list import result_headers
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.views.main import ORDER_VAR, ChangeList
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import BooleanField, DateTimeField, F, IntegerField, Q, QuerySet, Value, When
from django.db.models import Case as CaseWhen
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.text import smart_split, unescape_string_literal

from accounts.models import Role, User

from ..models import Case, CaseMessage, CaseReadMarker, Status, TimelineEvent
from ..risk import RISK_LABELS, ConsoleClock, console_clock
from . import hooks
from .labels import CLOCK_STOPPED, console_status

S = Status


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


# --- the columns ----------------------------------------------------------------------------

# The queue's own columns, in order; the other apps' (hooks.queue_column) go in after the
# one each names.
OWN_COLUMNS = (
    "reference",
    "specialty",
    "status",
    "assigned_specialist",
    "records_complete",
    "due",
    "last_activity",
)

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
)
QUEUE_RELATED = ("specialty", "assigned_specialist")


def column_order() -> list[str | hooks.QueueColumn]:
    """The queue's columns: its own names and the registered columns where each asks."""
    order: list[str | hooks.QueueColumn] = list(OWN_COLUMNS)
    waiting = hooks.columns()
    while waiting:
        placed = []
        for column in waiting:
            keys = [c if isinstance(c, str) else c.key for c in order]
            if column.after in keys:
                order.insert(keys.index(column.after) + 1, column)
                placed.append(column)
        if not placed:
            raise LookupError(f"Queue column after an unknown column: {waiting[0].key}")
        waiting = [c for c in waiting if c not in placed]
    return order


def queue_related() -> list[str]:
    return [*QUEUE_RELATED, *(r for c in hooks.columns() for r in c.select_related)]


def queue_only() -> list[str]:
    return [*QUEUE_ONLY, *(f for c in hooks.columns() for f in c.only)]


def queue_column_annotations() -> dict[str, Any]:
    """The registered columns' subqueries (the intake's child, state and requested
    specialist), run for the page's rows only."""
    found: dict[str, Any] = {}
    for column in hooks.columns():
        found.update(column.annotations())
    return found


def clock_annotate(cases: list[Case], clock: ConsoleClock) -> None:
    """Each row's business days left and clock state, from the request's one calendar."""
    for case in cases:
        case.clock_days_left = None  # type: ignore[attr-defined]
        case.clock_state = "no_clock"  # type: ignore[attr-defined]
        if case.due_at is not None and case.status not in (*CLOCK_STOPPED, S.ON_HOLD):
            case.clock_days_left = clock.days_left(case.due_at)  # type: ignore[attr-defined]
            case.clock_state = clock.state(case.due_at)  # type: ignore[attr-defined]


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


# The queue's default view: the coordinator's open work. Drafts (the family has not sent
# them) and ended cases are a filter away ("Show" in the sidebar).
ENDED_STATES = (S.CLOSED, S.DECLINED, S.WITHDRAWN)
HIDDEN_BY_DEFAULT = (S.DRAFT, *ENDED_STATES)
# A running clock: every status but the ones that stop it (drafts have no due date).
RUNNING_STATES = tuple(s for s in S.values if s not in CLOCK_STOPPED)
# Waiting on a coordinator's step: triage, records, or the family's confirmation.
WAITING_STATES = (
    S.SUBMITTED,
    S.IN_TRIAGE,
    S.AWAITING_RECORDS,
    S.AWAITING_FAMILY_CONFIRMATION,
    S.PAYMENT_NEEDED,
)


def urgency_rank(clock: ConsoleClock) -> Any:
    """0 overdue, 1 at risk, 2 waiting for triage, records or confirmation, 3 the rest:
    the queue's first sort key, so the coordinator's most urgent work is on top."""
    running = ~Q(status__in=CLOCK_STOPPED)
    return CaseWhen(
        When(running & clock.risk_q("overdue"), then=Value(0)),
        When(running & clock.risk_q("at_risk"), then=Value(1)),
        When(status__in=WAITING_STATES, then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )


def urgent_q(clock: ConsoleClock) -> Q:
    """The cases ``urgency_rank`` puts before the rest (rank 0, 1 or 2): a running clock
    overdue or at risk, or waiting on a coordinator's step. The open work of a service,
    not its history."""
    # The running statuses named (rather than "not stopped"), so that the index on
    # (status, due_at) finds them: stopped clocks of the past are most of the table.
    running = Q(status__in=RUNNING_STATES)
    return running & (clock.risk_q("overdue") | clock.risk_q("at_risk")) | Q(
        status__in=WAITING_STATES
    )


# The queue's order after the urgency rank (CaseAdmin.ordering), as an index walks it.
KEY_ORDER = (F("due_at").asc(nulls_last=True), F("submitted_at").asc(nulls_last=True), "pk")


def page_candidates(queryset: QuerySet[Case], clock: ConsoleClock, rows: int) -> QuerySet[Case]:
    """``queryset`` (filtered, in the queue's default order) narrowed to the cases its
    first ``rows`` rows can come from, so that the database sorts those instead of every
    case the filters keep.

    The default order is the urgency rank, then (due, submitted, id). The rows ranked
    before the rest (``urgent_q``) are the open work, a few hundred at most. Every other row
    ranks last, in (due, submitted, id) order; among the first ``rows`` of the queue there
    are at most ``rows`` minus the urgent ones, and they are among the first ``rows`` of
    the whole selection in (due, submitted, id) order, which ``case_open_work_idx`` (or
    ``case_queue_order_names_idx``, the child's name included for a search) gives by
    walking ``rows`` entries. Without this, the default view sorted every case that is
    neither a draft nor ended: at a million bench cases, 80,000 delivered reports (which
    stay in the open work until a coordinator closes them), read by a scan of the whole
    case table on every queue page.

    The candidates may be more than the selection's rows (the outer query filters them
    again): with a search that walks a name prefix, the urgent ones are read without it.
    """
    walk = search_walk(queryset)
    if walk is not None:
        # A search that walks a common name prefix: the urgent cases without that word
        # (a few hundred), which the page's query then tests. With it, PostgreSQL ANDs a
        # bitmap of every case of the prefix (14,222 for "Dani" at a million) with the
        # urgent statuses' bitmap, whose size it overestimates.
        urgent = walk.others.filter(urgent_q(clock)).order_by().values("pk")
    else:
        urgent = queryset.filter(urgent_q(clock)).order_by().values("pk")
    first = queryset.order_by(*KEY_ORDER).values("pk")[:rows]
    # One list of ids, read by primary key: "id IN (a) OR id IN (b)" has PostgreSQL test
    # both for every case of the table.
    try:
        urgent_sql, urgent_params = urgent.query.sql_with_params()
        first_sql, first_params = first.query.sql_with_params()
    except EmptyResultSet:  # a search that matched no case: nothing to narrow
        return queryset
    if connection.vendor == "postgresql":
        union = f"({urgent_sql}) UNION ALL ({first_sql})"
    else:  # SQLite (make run) takes neither parentheses nor a LIMIT on a part of a UNION
        union = f"SELECT * FROM ({urgent_sql}) UNION ALL SELECT * FROM ({first_sql})"  # noqa: S608
    ids = RawSQL(union, (*urgent_params, *first_params))  # noqa: S611 (their own SQL)
    return queryset.filter(pk__in=ids)


def queue_rows(cases: list[Case], change_url: str, link_suffix: str) -> list[dict[str, Any]]:
    """The cells of the queue's rows, for ``admin/cases/case/_queue_rows.html``.

    One template renders all rows (the template escapes every value), rather than the
    admin's ``result_list`` tag, which for each of the fifty rows and eleven columns looks
    the column up, formats it through ``display_for_value`` and reverses the case's URL.
    ``change_url`` ends with ``/0/change/`` (one reverse for all rows).
    """
    head, tail = change_url.rsplit("/0/", 1)
    today = timezone.localdate()
    tz = timezone.get_current_timezone()
    order = column_order()
    rows = []
    for case in cases:
        own: dict[str, Any] = {
            "specialty": case.specialty.name if case.specialty is not None else "—",
            "status": console_status(case.status),
            "assigned_specialist": _person(case.assigned_specialist),
            "records_complete": records_complete_text(case, tz),
            "last_activity": last_activity_text(case, tz),
        }
        cells: list[dict[str, Any]] = []
        for column in order:
            if isinstance(column, hooks.QueueColumn):
                cells.append({"key": column.key, "text": column.cell(case, today)})
            elif column == "due":
                cells.append({"key": "due", "due": due_cell(case, tz)})
            elif column != "reference":
                cells.append({"key": column, "text": own[column]})
        rows.append(
            {
                "url": f"{head}/{case.pk}/{tail}{link_suffix}",
                "reference": case.reference,
                "cells": cells,
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
    - the child's legal first or last name, by prefix, on the case's copy of it and its
      ``UPPER(name)`` pattern indexes (``case_child_first_prefix_idx``, cases 0014);
    - what the other apps register (``hooks.queue_search``).

    The matching case ids are read first (small queries per word) and the queue then
    filters on that list, read by primary key: a subquery there lets the planner pick a
    hash join over the whole case table whenever it overestimates the matches. A kind of
    match that finds too many cases to list gives a condition instead, tested row by row
    while the queue's order index is walked, which stops after the page's rows. The
    search then also carries that word's matches as disjoint branches (``search_walk``),
    for the paginator to count each on its own index up to its bound.

    As in the admin's search, the words of the term (quotes keep words together) must each
    match: "maria lop" finds Maria Lopez.
    """
    words = [
        unescape_string_literal(bit) if bit[:1] in "\"'" and bit[0] == bit[-1] else bit
        for bit in smart_split(term)
    ]
    conditions: list[Q] = []
    walk: tuple[int, list[Branch]] | None = None
    for word in filter(None, (word.strip() for word in words)):
        condition, branches = _cases_matching(word)
        conditions.append(condition)
        if branches:
            walk = (len(conditions) - 1, branches)
    if walk is None:
        for condition in conditions:
            queryset = queryset.filter(condition)
        return queryset
    at, branches = walk
    others = queryset
    for number, condition in enumerate(conditions):
        if number != at:
            others = others.filter(condition)
    searched = others.filter(conditions[at])
    # On the query, which every clone of the queryset copies (ordering, annotations).
    searched.query.queue_search_walk = SearchWalk(  # type: ignore[attr-defined]
        searched.query.where, others, branches
    )
    return searched


# A part of a search's matches, and the name column whose pattern index reads it in order
# (None: any order).
Branch = tuple[Q, str | None]


class SearchWalk(NamedTuple):
    """A search whose word ``branches`` are conditions rather than ids: the queryset
    filtered by everything else (``others``), and that word's matches as disjoint parts,
    each with the column whose index reads it in order."""

    where: Any
    others: QuerySet[Case]
    branches: list[Branch]


def search_walk(queryset: Any) -> SearchWalk | None:
    """The walked word of ``queue_search`` that filters ``queryset``, if nothing has
    filtered it further since (the changelist's search is its last filter)."""
    query = getattr(queryset, "query", None)
    walk = getattr(query, "queue_search_walk", None)
    if walk is None or query is None or query.where != walk.where:
        return None
    return walk


def _cases_matching(word: str) -> tuple[Q, list[Branch]]:
    ids = list(
        Case.objects.filter(reference=word.upper())
        .values_list("pk", flat=True)
        .union(
            Case.objects.filter(physician_email=word.lower()).values_list("pk", flat=True),
            Case.objects.filter(family__in=_users_by_email(word)).values_list("pk", flat=True),
        )
    )
    walked: list[Branch] = []
    named, walked_names = _cases_named(word)
    ids.extend(named)
    walked.extend(walked_names)
    for search in hooks.searches():
        found = search(word)
        if isinstance(found, Q):
            walked.append((found, None))
        else:
            ids.extend(found)
    listed = Q(pk__in=ids)
    if not walked:
        return listed, []
    # The word's matches, and the same as disjoint parts: each kind without those before.
    branches: list[Branch] = [(listed, None)]
    before = listed
    for condition, order in walked:
        branches.append((condition & ~before, order))
        before |= condition
    return before, branches


# Above this many name matches, the ids are not listed (see ``queue_search``).
NAME_IDS_LIMIT = 500


def _name_branches(word: str) -> list[Branch]:
    """The cases whose child's legal first or last name starts with ``word`` as the
    coordinator types it (``UPPER(name) LIKE 'MAR%'``), each with the column whose
    prefix index reads it in order (``limited_sql``)."""
    return [
        (Q(child_first_name__istartswith=word), "child_first_name"),
        (Q(child_last_name__istartswith=word), "child_last_name"),
    ]


def _cases_named(word: str) -> tuple[list[int], list[Branch]]:
    """The ids of the cases whose child's legal first or last name starts with ``word``,
    or, when they are more than ``NAME_IDS_LIMIT`` (four letters of a common first name),
    no ids and the name branches: the condition is then tested on the case rows
    themselves, with no join. Each branch is read on its index up to the limit and no
    further."""
    branches = _name_branches(word)
    (first, first_order), (last, last_order) = branches
    # Disjoint, so that the union lists each case once.
    parts = [
        (Case.objects.filter(first), first_order),
        (Case.objects.filter(last & ~first), last_order),
    ]
    named = union_all(parts, NAME_IDS_LIMIT + 1)
    return (named, []) if len(named) <= NAME_IDS_LIMIT else ([], branches)


def limited_sql(queryset: QuerySet[Any], order: str | None, limit: int) -> tuple[str, list[Any]]:
    """``queryset``'s ids, ``order``ed by one of the case's name columns' pattern indexes,
    the first ``limit`` of them, as SQL (a part of ``union_all``).

    ``ORDER BY UPPER(name) USING ~<~`` is the order of a ``text_pattern_ops`` index: with
    it and a LIMIT, PostgreSQL reads a prefix's matches on that index and stops at the
    limit; without, it reads a bitmap of every match first (14,222 for "Dani" at a million
    cases, 4 to 7 ms, against 0.4 ms for 551). Django cannot write ``USING`` (its compiler
    wants ASC or DESC in every ORDER BY), hence SQL."""
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    if order is not None:
        column = f'UPPER("{_CASE}".{connection.ops.quote_name(order)})'
        using = " USING ~<~" if connection.vendor == "postgresql" else ""
        sql = f"{sql} ORDER BY {column}{using}"
    return f"{sql} LIMIT {int(limit)}", list(params)


def union_all(parts: list[tuple[QuerySet[Any], str | None]], limit: int) -> list[int]:
    """The ids of each part (a queryset and its order, see ``limited_sql``), at most
    ``limit`` of each, in one ``UNION ALL``."""
    sql, params = _union_sql(parts, limit)
    if not sql:
        return []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def count_union_all(parts: list[tuple[QuerySet[Any], str | None]], limit: int) -> int:
    """How many ids ``union_all`` would give: ``SELECT COUNT(*)`` over the union."""
    sql, params = _union_sql(parts, limit)
    if not sql:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({sql}) counted", params)  # noqa: S608
        return int(cursor.fetchone()[0])


def _union_sql(parts: list[tuple[QuerySet[Any], str | None]], limit: int) -> tuple[str, list[Any]]:
    # Each part a subquery of its own: SQLite takes no ORDER BY or LIMIT in a part of a
    # UNION otherwise. A part that can match nothing (an empty id list) is left out.
    selects, params = [], []
    for number, (queryset, order) in enumerate(parts):
        try:
            sql, part_params = limited_sql(queryset, order, limit)
        except EmptyResultSet:
            continue
        selects.append(f"SELECT * FROM ({sql}) part{number}")  # noqa: S608
        params.extend(part_params)
    return " UNION ALL ".join(selects), params


def _users_by_email(term: str) -> QuerySet[Any]:
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

    @property
    def counted(self) -> Any:
        """What the count is of: the whole selection, when the queue hands the paginator the
        page's candidates (``page_candidates``)."""
        return getattr(self.object_list, "queue_counted", self.object_list)

    def _estimate(self) -> int | None:
        rows: Any = self.counted
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
        rows: Any = self.counted
        walk = search_walk(rows)
        if walk is not None:
            # A search walking a common name: each disjoint part of the word's matches
            # counted on its own index up to the bound (one bitmap of every match
            # otherwise), then added up. Exact below the bound, above it when past it.
            parts = [(walk.others.filter(cond), order) for cond, order in walk.branches]
            found = count_union_all(parts, self.limit + 1)
        else:
            found = rows.order_by().values("pk")[: self.limit + 1].count()
        if found > self.limit:
            self.bounded = True
            return self.limit
        return int(found)


# --- the changelist ---------------------------------------------------------------------------


class CaseQueue(ChangeList):
    """The queue's rows: only the columns shown, each row's clock from one calendar per
    request, and the cells prepared once (``queue_rows``) for one template."""

    def get_results(self, request: HttpRequest) -> None:
        rows = self.queryset.only(*queue_only()).annotate(**queue_column_annotations())
        self.queryset = rows
        if ORDER_VAR not in self.params:
            # The default (urgency) order: the page is sorted from its candidates only,
            # and the paginator counts the whole selection.
            wanted = self.list_max_show_all if self.show_all else self.page_num * self.list_per_page
            narrowed = page_candidates(rows, console_clock(request), wanted)
            narrowed.queue_counted = rows  # type: ignore[attr-defined]
            self.queryset = narrowed
        super().get_results(request)
        self.queryset = rows
        rows = list(self.result_list)
        clock_annotate(rows, console_clock(request))
        self.result_list = rows
        self._request = request

    @cached_property
    def queue_headers(self) -> list[dict[str, Any]]:
        return list(result_headers(self))

    @cached_property
    def queue_filters(self) -> list[dict[str, Any]]:
        return queue_filters(self)

    @cached_property
    def queue_sorted_count(self) -> int:
        return sum(1 for h in self.queue_headers if h["sortable"] and h["sorted"])

    @cached_property
    def queue_rows(self) -> list[dict[str, Any]]:
        # The admin links a row to the case with the queue's filters kept for "back".
        preserved = self.model_admin.get_preserved_filters(self._request)
        suffix = add_preserved_filters({"preserved_filters": preserved, "opts": self.opts}, "")
        change_url = reverse("admin:cases_case_change", args=[0])
        return queue_rows(self.result_list, change_url, suffix)
