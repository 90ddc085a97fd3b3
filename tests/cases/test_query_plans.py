"""The key pages' queries read indexes, not whole tables, once the tables have some size.

Each page is requested for real and every SELECT it sends is run through PostgreSQL's
EXPLAIN, after the tables have grown to a few thousand rows and ANALYZE has given the
planner their statistics. A Seq Scan of the case table, the intakes or the audit log means
a query whose cost grows with every case ever made: at 100,000 cases that was the family
dashboard's 3 s ("own cases OR invited cases" written as an OR the planner cannot split).
"""

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from cases.models import AccessEvent, Case, CaseMember, Status
from intake.models import Intake
from tests.conftest import login
from tests.factories import specialty
from tests.services import need_postgres

pytestmark = pytest.mark.django_db

BIG_TABLES = ("cases_case", "intake_intake", "cases_accessevent")
FAMILIES = 400
CASES_PER_FAMILY = 8
NAMES = ["Maria", "Noah", "Olivia", "Liam", "Emma", "Lucas", "Amelia", "Mateo", "Sofia"]


@pytest.fixture
def grown(family: User, specialist: User) -> dict[str, Any]:
    """3,200 cases of 400 families with their intakes, invitations and 6,400 audit rows;
    ``family`` owns eight of them and is invited onto one more."""
    need_postgres()
    EmailAddress.objects.get_or_create(
        user=family, email=family.email, defaults={"verified": True, "primary": True}
    )
    families = [
        family,
        *User.objects.bulk_create(
            User(email=f"plan{i}@example.org", role=Role.FAMILY, full_name=f"Parent {i}")
            for i in range(1, FAMILIES)
        ),
    ]
    field = specialty()
    now = timezone.now()
    # As in a service some years old: the open work is a small working set (one case in 40
    # here) and the rest have ended (closed, declined or withdrawn).
    open_statuses = [
        s
        for s in Status.values
        if s not in (Status.DRAFT, Status.CLOSED, Status.DECLINED, Status.WITHDRAWN)
    ]
    ended = [Status.CLOSED] * 7 + [Status.DECLINED, Status.WITHDRAWN]

    def status_of(i: int) -> str:
        return open_statuses[i // 40 % len(open_statuses)] if i % 40 == 0 else ended[i % 9]

    def first_name(i: int) -> str:
        # One child in 200 is a Danielle: a prefix search matches 16 cases.
        return "Danielle" if i % 200 == 0 else NAMES[i % len(NAMES)]

    cases = Case.objects.bulk_create(
        Case(
            family=owner,
            created_by=owner,
            status=status_of(f * CASES_PER_FAMILY + n),
            specialty=field,
            # The specialist has the first case of one family in 25: 16 cases.
            assigned_specialist=specialist if n == 0 and f % 25 == 0 else None,
            physician_email=f"dr{f % 50}@example.org",
            submitted_at=now - timedelta(days=f % 90, minutes=n),
            due_at=now + timedelta(days=(f + n) % 40 - 10),
            # The copy of the intake's name that Intake.save keeps (bulk_create skips it).
            child_first_name=first_name(f * CASES_PER_FAMILY + n),
            child_last_name=f"Family{f}",
        )
        for f, owner in enumerate(families)
        for n in range(CASES_PER_FAMILY)
    )
    Intake.objects.bulk_create(
        Intake(
            case=case,
            child_legal_first_name=first_name(i),
            child_legal_last_name=f"Family{i // CASES_PER_FAMILY}",
            child_date_of_birth=date(2015, 1 + i % 12, 1 + i % 28),
            residence_id="CA",
        )
        for i, case in enumerate(cases)
    )
    invited = cases[-1]
    CaseMember.objects.bulk_create(
        [
            CaseMember(
                case=invited, role="guardian", email=family.email, invited_by=invited.family
            ),
            *(
                CaseMember(case=c, role="guardian", email=f"g{i}@example.org", invited_by=c.family)
                for i, c in enumerate(cases[::10])
            ),
        ]
    )
    AccessEvent.objects.bulk_create(
        AccessEvent(
            case=case,
            user_id=case.family_id,
            role="family",
            object_type="case",
            object_id=case.reference,
            action="view",
            outcome="allowed",
        )
        for case in cases
        for _ in range(2)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"mine": cases[0], "invited": invited, "assigned": cases[0]}


def _plans(client: Client, url: str, data: dict[str, str] | None = None) -> list[Any]:
    """Every SELECT the page sends, run again under EXPLAIN ANALYZE: (sql, plan) pairs."""
    client.get(url, data)  # the first request stores the session's and the policy's rows
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, data)
    assert response.status_code == 200
    selects = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")]
    assert selects
    plans = []
    with connection.cursor() as cursor:
        for sql in selects:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
            plans.append((sql, cursor.fetchone()[0][0]["Plan"]))
    return plans


def _bounded_count(sql: str) -> bool:
    """The queue's BoundedPaginator counts at most ten pages past the current one: a scan
    under that LIMIT stops after a few hundred matches, whatever the table's size (and an
    unfiltered queue on a large table reads the planner's estimate instead)."""
    return sql.startswith("SELECT COUNT(*) FROM (SELECT") and ") subquery" in sql


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _walks(plans: list[Any]) -> list[str]:
    """The scans of a large table that read it whole: a Seq Scan, or any scan (a full index
    walk with a filter, say) that reads more than a quarter of the table's rows."""
    sizes = {}
    with connection.cursor() as cursor:
        for table in BIG_TABLES:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 (constant names)
            sizes[table] = cursor.fetchone()[0]
    found = []
    for sql, plan in plans:
        if _bounded_count(sql):
            continue
        for node in _nodes(plan):
            table = node.get("Relation Name")
            if table not in sizes:
                continue
            read = node.get("Actual Loops", 1) * (
                node.get("Actual Rows", 0)
                + node.get("Rows Removed by Filter", 0)
                + node.get("Rows Removed by Index Recheck", 0)
            )
            if node["Node Type"] == "Seq Scan" or read > sizes[table] / 4:
                found.append(f"{node['Node Type']} on {table} read {read} rows: {sql[:3000]}")
    return found


def test_family_pages_read_the_family_and_invitation_indexes(
    client: Client, family: User, grown: dict[str, Any]
) -> None:
    login(client, family)
    dashboard = _plans(client, reverse("dashboard"))
    assert _walks(dashboard) == [], "\n\n".join(_walks(dashboard))
    page = _plans(client, reverse("case_detail", args=[grown["invited"].reference]))
    assert _walks(page) == [], "\n\n".join(_walks(page))
    # The dashboard lists the family's own cases and the one it is invited onto.
    html = client.get(reverse("dashboard")).content.decode()
    assert grown["invited"].reference in html and grown["mine"].reference in html


def test_specialist_workspace_reads_the_assignment_index(
    client: Client, specialist: User, grown: dict[str, Any]
) -> None:
    login(client, specialist)
    case_url = reverse("workspace_case", args=[grown["assigned"].reference])
    for url in (reverse("workspace"), case_url):
        plans = _plans(client, url)
        assert _walks(plans) == [], "\n\n".join(_walks(plans))


@pytest.mark.parametrize(
    "params",
    [
        {},  # the default order: most urgent due first
        {"status__exact": Status.IN_REVIEW},
        {"q": "Dani"},  # a child's first-name prefix
        {"q": "family123"},  # a last-name prefix, lower case as typed
    ],
)
def test_console_queue_reads_its_order_and_name_indexes(
    client: Client, coordinator: User, grown: dict[str, Any], params: dict[str, str]
) -> None:
    login(client, coordinator)
    plans = _plans(client, reverse("admin:cases_case_changelist"), params)
    # The open work is read from its partial index (case_open_work_idx) and the intake's
    # columns for the page's rows only: neither the cases nor the intakes are walked (the
    # intake join of the child's name made PostgreSQL hash the whole intake table).
    walks = _walks(plans)
    assert walks == [], "\n\n".join(walks)
    assert not any('JOIN "intake_intake"' in sql for sql, _ in plans)
    if "q" in params:
        # The name lookup reads the case's own UPPER(name) pattern indexes (cases 0014).
        named = {
            node["Index Name"]
            for sql, plan in plans
            if "USING ~<~" in sql and "LIKE" in sql
            for node in _nodes(plan)
            if "Index Name" in node
        }
        assert named == {"case_child_first_prefix_idx", "case_child_last_prefix_idx"}, named


NAME_INDEXES = ("case_child_first_prefix_idx", "case_child_last_prefix_idx")


@pytest.mark.parametrize(
    "params",
    [
        {"q": "family12"},  # 88 cases: Family12 and Family120 to 129
        {"q": "FAMILY12", "p": "3"},
        {"q": "family12 parent"},  # a second word that matches nothing
    ],
)
def test_a_common_name_prefix_reads_each_name_index_up_to_its_limit(
    client: Client,
    coordinator: User,
    grown: dict[str, Any],
    params: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """More matches than the search lists (``NAME_IDS_LIMIT``) and than the paginator
    counts: the id lookup and the bounded count read each name index as a plain index
    scan in that index's order, which stops at its limit, where a bitmap reads every match
    first (at a million cases "Dani" is 14,222 entries, 4 to 7 ms for each query that reads
    it). The limits are made small here, as a million cases would make them small beside
    a common prefix's matches."""
    from cases.admin import queue as queue_module
    from cases.admin.case_page import CaseAdmin

    monkeypatch.setattr(queue_module, "NAME_IDS_LIMIT", 10)
    monkeypatch.setattr(queue_module.BoundedPaginator, "pages_ahead", 1)
    monkeypatch.setattr(CaseAdmin, "list_per_page", 5)
    login(client, coordinator)
    plans = _plans(client, reverse("admin:cases_case_changelist"), params)
    seq = [
        sql[:300]
        for sql, plan in plans
        for node in _nodes(plan)
        if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in BIG_TABLES
    ]
    assert seq == [], seq
    lookups = [(sql, plan) for sql, plan in plans if "USING ~<~" in sql]
    # The id lookup and the count; with "parent", which matches nothing, that word's id
    # lookup and no count (no case can match both words).
    assert len(lookups) == 2, [sql for sql, _ in lookups]
    count_limit = (int(params.get("p", "1")) + 1) * 5 + 1
    for sql, plan in lookups:
        reads = [
            (node["Node Type"], node["Index Name"], node["Actual Rows"] * node["Actual Loops"])
            for node in _nodes(plan)
            if node.get("Index Name") in NAME_INDEXES
        ]
        assert {name for _, name, _ in reads} == set(NAME_INDEXES), (reads, sql)
        assert all(kind == "Index Scan" for kind, _, _ in reads), (reads, sql)
        limit = count_limit if sql.startswith("SELECT COUNT(*)") else 11
        assert all(rows <= limit for _, _, rows in reads), (reads, sql)
        # The last names' index stops at the limit, below the 88 matches.
        if "FAMILY12" in sql.upper() and "'parent%'" not in sql.lower():
            assert max(rows for _, name, rows in reads if name == NAME_INDEXES[1]) == limit
    # The page: the first five of the 88 (or none, with "parent").
    response = client.get(reverse("admin:cases_case_changelist"), params)
    assert len(response.context["cl"].result_list) == (0 if " " in params["q"] else 5)


def test_console_case_page_and_audit_log_by_case_read_the_case_index(
    client: Client, coordinator: User, grown: dict[str, Any]
) -> None:
    login(client, coordinator)
    case = grown["mine"]
    page = _plans(client, reverse("admin:cases_case_change", args=[case.pk]))
    assert _walks(page) == [], "\n\n".join(_walks(page))
    audit = _plans(client, reverse("admin:cases_accessevent_changelist"), {"case": str(case.pk)})
    assert _walks(audit) == [], "\n\n".join(_walks(audit))
