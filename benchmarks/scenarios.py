"""The registry of benchmark scenarios; each page's issue adds its page here (see
"Adding a page scenario" in benchmarks/README.md).

A setup function runs in the runner after migrate, with Django set up on the bench database,
and returns the request to time. It may create rows or a signed-in session; it runs on every
bench run, so it must be idempotent (get_or_create, or check a count before bulk_create).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.models import User
    from cases.models import Case

HELLO_APP = "benchmarks.wsgi_hello:application"
# The project's real WSGI entry point; the runner points DJANGO_SETTINGS_MODULE at the bench one.
DJANGO_APP = "config.wsgi:application"


@dataclass(frozen=True)
class Target:
    """What the load generator requests: a path on the server and any extra headers."""

    path: str
    headers: Mapping[str, str] = field(default_factory=dict)


# Exact queries per request: one figure, or by table size ({0: 10, 10_000: 9}: 10 up to
# 9,999 cases, 9 from 10,000).
QueryCount = int | Mapping[int, int]


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    path: str
    app: str = DJANGO_APP
    # Whose requests/s this one is divided by, besides L0 and L1 which every row shows.
    baseline: str | None = "L1"
    setup: Callable[[], Target] | None = None
    # Exact number of SQL queries one request makes; checked before timing so that a page that
    # starts doing N+1 queries (or stops querying) fails loudly instead of just looking slow.
    queries: QueryCount | None = None
    expect_status: int = 200
    # "queue" scenarios time the coordinator console on a table of many cases: they run
    # only with --queue (or --only), once per --sizes, on cases made by bench_cases.
    group: str = "pages"

    @property
    def is_django(self) -> bool:
        return self.app == DJANGO_APP

    def prepare(self) -> Target:
        return self.setup() if self.setup is not None else Target(self.path)

    def expected_queries(self, cases: int | None) -> int | None:
        """The exact query count to expect with ``cases`` in the table (None: unchecked)."""
        if self.queries is None or isinstance(self.queries, int):
            return self.queries
        size = cases or 0
        return self.queries[max(start for start in self.queries if start <= size)]


# Helpers for setup functions -------------------------------------------------------------


def session_headers(user: "User") -> dict[str, str]:
    """A Cookie header for a fresh signed-in session of ``user``, valid in the gunicorn server
    because both read the same database and SECRET_KEY."""
    from django.conf import settings
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return {"Cookie": f"{name}={client.cookies[name].value}"}


# Setup functions -------------------------------------------------------------------------

INDEXED_SLUG = "bench-indexed-query"


def seed_indexed_query() -> Target:
    from accounts.models import Specialty

    # Inactive, so it never shows up in the lists of specialties that page scenarios render.
    Specialty.objects.update_or_create(
        slug=INDEXED_SLUG,
        defaults={"name": "Benchmark specialty", "is_active": False, "sort_order": 10_000},
    )
    return Target(f"/_bench/indexed/{INDEXED_SLUG}/")


# The family's pages: a dashboard of 20 requests and one request's page. Rows are made as
# the app makes them (intake.services.case_start: the case, its Intake and the "Request
# started" note), then filled in as a family that has submitted would have them.

DASHBOARD_FAMILY = "bench-family-dashboard@example.org"
DASHBOARD_CASES = 20
CASE_FAMILY = "bench-family-case@example.org"
# The dashboard's cases cycle through these, so the page renders every kind of row it can:
# a draft to continue, cases waiting for the family, cases with the specialist, a report.
DASHBOARD_STATUSES = (
    "draft",
    "submitted",
    "in_triage",
    "awaiting_records",
    "awaiting_family_confirmation",
    "assigned",
    "in_review",
    "delivered",
)
CHILD_NAMES = ("Ava", "Noah", "Mia", "Liam", "Zoe", "Ethan", "Lena", "Omar", "Ruby", "Kai")


def family_user(email: str, name: str) -> "User":
    """A family account as sign-up leaves it: the user and its verified email address
    (the access gate reads verified addresses on every request)."""
    from allauth.account.models import EmailAddress

    from accounts.models import Role, User

    user, _ = User.objects.get_or_create(
        email=email, defaults={"role": Role.FAMILY, "full_name": name}
    )
    EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


def _filled_request(family: "User", number: int, status: str) -> "Case":
    """A request started the app's way, with the answers of a family that has submitted it."""
    from datetime import date

    from django.utils import timezone

    from accounts.models import Specialty
    from cases.models import Case, Status, TimelineEvent
    from intake.models import Intake, Question, Record
    from intake.services import case_start

    case = case_start(by=family)
    child = CHILD_NAMES[number % len(CHILD_NAMES)]
    Intake.objects.filter(case=case).update(
        current_step="review",
        english_acknowledged=True,
        residence_id="WA",
        child_legal_first_name=child,
        child_legal_last_name="Benchmark",
        child_date_of_birth=date(2014 + number % 8, 1 + number % 12, 1 + number % 28),
        child_sex="female" if number % 2 else "male",
        address_line1=f"{100 + number} Pine Street",
        address_city="Seattle",
        address_state="WA",
        address_zip="98101",
        guardian_name=family.full_name,
        guardian_relationship="parent",
        guardian_phone="206-555-0100",
        physician_name="Dr. Sam Rivera",
        physician_practice="Seattle Pediatrics",
        diagnosis="Ventricular septal defect found on echocardiogram.",
        recommended_treatment="Surgical closure within the next six months.",
    )
    specialty = Specialty.objects.filter(is_active=True).order_by("sort_order", "pk").first()
    Case.objects.filter(pk=case.pk).update(
        status=status,
        specialty=specialty,
        physician_email="dr.rivera@example.org",
        submitted_at=None if status == Status.DRAFT else timezone.now(),
        # The queue's copy of the child's name (Intake.save keeps it; update() above skips it).
        child_first_name=child,
        child_last_name="Benchmark",
    )
    case.refresh_from_db()
    if status == Status.DRAFT:
        return case
    TimelineEvent.objects.create(
        case=case,
        actor=family,
        kind=TimelineEvent.Kind.STATUS,
        from_status=Status.DRAFT,
        to_status=Status.SUBMITTED,
    )
    Question.objects.bulk_create(
        Question(
            case=case,
            position=position,
            text=f"Question {position}: is surgery the right choice now, or can it wait?",
            asked_by=family,
        )
        for position in (1, 2, 3)
    )
    Record.objects.bulk_create(
        Record(
            case=case,
            kind=kind,
            description=f"{label}, March 2026",
            original_name=f"{label}.pdf",
            file=f"records/bench{case.pk:08d}{index:024d}",
            size=(index + 1) * 1_234_567,
            sha256=f"{case.pk:032x}{index:032x}",
            content_type="application/pdf",
            detected_kind="pdf",
            state=Record.State.AVAILABLE,
            scan_status=Record.Scan.CLEAN,
            uploaded_by=family,
        )
        for index, (kind, label) in enumerate(
            [
                (Record.Kind.CLINICAL_NOTES, "Cardiology clinic letter"),
                (Record.Kind.IMAGING_REPORT, "Echocardiogram report"),
                (Record.Kind.LAB_RESULTS, "Blood tests"),
            ]
        )
    )
    return case


def seed_family_dashboard() -> Target:
    from cases.models import Case

    family = family_user(DASHBOARD_FAMILY, "Dana Benchmark")
    have = Case.objects.filter(family=family).count()
    for number in range(have, DASHBOARD_CASES):
        _filled_request(family, number, DASHBOARD_STATUSES[number % len(DASHBOARD_STATUSES)])
    return Target("/cases/", session_headers(family))


def seed_family_case() -> Target:
    from cases.models import Case, Status

    family = family_user(CASE_FAMILY, "Casey Benchmark")
    case = Case.objects.filter(family=family).order_by("pk").first()
    if case is None:
        case = _filled_request(family, 0, Status.SUBMITTED)
    return Target(f"/cases/{case.reference}/", session_headers(family))


# The coordinator console on a large table (run with --queue). The cases come from
# ``manage.py bench_cases`` (the runner grows the table to each --sizes first); these setups
# only add the coordinator and pick what to search for, from the generator's first rows, so
# the searches ask the same thing at every size.

COORDINATOR = "bench-coordinator@example.org"
BENCH_TOTP_SECRET = "JBSWY3DPEHPK3PXP"
QUEUE_PATH = "/admin/cases/case/"


def staff_session_headers(user: "User") -> dict[str, str]:
    """A Cookie header for a session of ``user`` that has passed MFA, as after a TOTP login:
    ``accounts.middleware.StaffMfaMiddleware`` lets nothing else through to the console."""
    from allauth.account.internal.flows.login import record_authentication
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP
    from django.conf import settings
    from django.test import Client, RequestFactory

    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, BENCH_TOTP_SECRET)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    request = RequestFactory().get("/")
    request.session = client.session
    record_authentication(request, user, "password", email=user.email)
    record_authentication(request, user, "mfa", type="totp")
    request.session.save()
    name = settings.SESSION_COOKIE_NAME
    return {"Cookie": f"{name}={request.session.session_key}"}


def coordinator_user() -> "User":
    from allauth.account.models import EmailAddress

    from accounts.models import Role, User
    from accounts.roles import user_set_role

    user, _ = User.objects.get_or_create(
        email=COORDINATOR, defaults={"role": Role.COORDINATOR, "full_name": "Casey Coordinator"}
    )
    user_set_role(user=user, role=Role.COORDINATOR)
    EmailAddress.objects.get_or_create(
        user=user, email=COORDINATOR, defaults={"verified": True, "primary": True}
    )
    return user


def _first_bench_case() -> "Case":
    from cases.models import Case
    from demo.management.commands.bench_cases import FAMILY_EMAIL

    case = (
        Case.objects.filter(family__email=FAMILY_EMAIL.format(0))
        .select_related("intake", "family")
        .order_by("pk")
        .first()
    )
    if case is None:
        raise SystemExit("No bench cases: run with --queue (it calls manage.py bench_cases).")
    return case


def seed_admin_queue() -> Target:
    return Target(QUEUE_PATH, staff_session_headers(coordinator_user()))


def seed_admin_search_reference() -> Target:
    case = _first_bench_case()
    return Target(f"{QUEUE_PATH}?q={case.reference}", staff_session_headers(coordinator_user()))


def seed_admin_search_name() -> Target:
    # A first name's first four letters: a coordinator on the phone with a parent types the
    # start of the child's name.
    prefix = _first_bench_case().intake.child_legal_first_name[:4]
    return Target(f"{QUEUE_PATH}?q={prefix}", staff_session_headers(coordinator_user()))


def seed_admin_search_name_page() -> Target:
    # The commonest three-letter start of a child's first name ("Luc": 38 cases at 1,000,
    # 28,818 at a million), so that both sizes show a page of about the same rows, where
    # the first bench case's four letters match 9 cases at 1,000 and 14,222 at a million.
    # Read once at setup (a scan of the table is fine here).
    from django.db.models import Count
    from django.db.models.functions import Left, Upper

    from cases.models import Case

    commonest = (
        Case.objects.exclude(child_first_name="")
        .annotate(start=Upper(Left("child_first_name", 3)))
        .values("start")
        .annotate(n=Count("pk"))
        .order_by("-n", "start")
        .first()
    )
    if commonest is None:
        raise SystemExit("No bench cases: run with --queue (it calls manage.py bench_cases).")
    return Target(
        f"{QUEUE_PATH}?q={commonest['start'].title()}", staff_session_headers(coordinator_user())
    )


def seed_admin_search_email() -> Target:
    from urllib.parse import quote

    email = quote(_first_bench_case().family.email)
    return Target(f"{QUEUE_PATH}?q={email}", staff_session_headers(coordinator_user()))


def seed_portal_dashboard_at_scale() -> Target:
    # bench_cases gives one case in 500 to this family: 200 requests at 100,000 cases, of
    # which the dashboard shows the latest 100, among every case of the table.
    from accounts.models import User
    from demo.management.commands.bench_cases import BIG_FAMILY_EMAIL

    family = User.objects.filter(email=BIG_FAMILY_EMAIL).first()
    if family is None:
        raise SystemExit("No bench cases: run with --queue (it calls manage.py bench_cases).")
    return Target("/cases/", session_headers(family))


def seed_portal_case_at_scale() -> Target:
    case = _first_delivered_bench_case()
    family = case.family
    if family is None:
        raise RuntimeError(f"bench case {case.reference} has no family")
    _verified(family)
    return Target(f"/cases/{case.reference}/", session_headers(family))


def seed_portal_family_dashboard_at_scale() -> Target:
    # An ordinary family of bench_cases: its own three requests, and the case next to them
    # it is invited onto as a second guardian (the access gate's second branch).
    family = _first_delivered_bench_case().family
    if family is None:
        raise RuntimeError("the first delivered bench case has no family")
    _verified(family)
    return Target("/cases/", session_headers(family))


def seed_portal_messages_at_scale() -> Target:
    case = _first_delivered_bench_case()
    family = case.family
    if family is None:
        raise RuntimeError(f"bench case {case.reference} has no family")
    _verified(family)
    return Target(f"/cases/{case.reference}/messages/?thread=coordinator", session_headers(family))


def _bench_physician() -> "User":
    """The local physician named on that case, with an account: bench_cases names 2,000
    physicians, so each sees about one case in 2,000 (500 at a million)."""
    from accounts.models import Role, User

    email = _first_delivered_bench_case().physician_email
    user, _ = User.objects.get_or_create(
        email=email, defaults={"role": Role.PHYSICIAN, "full_name": "Dr. Bench Physician"}
    )
    _verified(user)
    return user


def seed_physician_dashboard_at_scale() -> Target:
    return Target("/cases/", session_headers(_bench_physician()))


def seed_physician_case_at_scale() -> Target:
    physician = _bench_physician()
    case = _first_delivered_bench_case()
    return Target(f"/cases/{case.reference}/", session_headers(physician))


def _first_in_review_bench_case() -> "Case":
    from cases.models import Case, Status

    case = (
        Case.objects.filter(
            created_by__email__startswith="bench-queue-family-", status=Status.IN_REVIEW
        )
        .select_related("assigned_specialist")
        .order_by("pk")
        .first()
    )
    if case is None or case.assigned_specialist is None:
        raise SystemExit("No bench case in review: run with --queue (it calls bench_cases).")
    return case


def _bench_specialist() -> "User":
    """The specialist of the first bench case in review: one of bench_cases' 40, each with
    1 assigned case in 40 (about 15,000 at a million, a few of them still open)."""
    from accounts.models import SpecialistProfile

    user = _first_in_review_bench_case().assigned_specialist
    if user is None:
        raise RuntimeError("the first in-review bench case has no specialist")
    SpecialistProfile.objects.get_or_create(
        user=user, defaults={"title": "Attending", "credentials": "MD"}
    )
    _verified(user)
    return user


def seed_workspace_at_scale() -> Target:
    return Target("/workspace/", staff_session_headers(_bench_specialist()))


def seed_workspace_case_at_scale() -> Target:
    specialist = _bench_specialist()
    case = _first_in_review_bench_case()
    return Target(f"/workspace/{case.reference}/", staff_session_headers(specialist))


def _verified(user: "User") -> None:
    from allauth.account.models import EmailAddress

    EmailAddress.objects.get_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )


def _first_delivered_bench_case() -> "Case":
    """The first bench case drawn as delivered: bench_cases never changes a delivered case
    (it finishes old open work only), so this is the same case, with the same family and
    physician, at every size."""
    from cases.models import Case, Status

    case = (
        Case.objects.filter(
            created_by__email__startswith="bench-queue-family-", status=Status.DELIVERED
        )
        .select_related("family")
        .order_by("pk")
        .first()
    )
    if case is None:
        raise SystemExit("No bench cases: run with --queue (it calls manage.py bench_cases).")
    return case


# The registry, in run order ---------------------------------------------------------------

# The specialist workspace's case page (issue #6): a case in review with its intake, three
# questions, three clean records and a draft report.

SPECIALIST = "bench-specialist@example.org"
SPECIALIST_FAMILY = "bench-specialist-family@example.org"


def specialist_user() -> "User":
    from allauth.account.models import EmailAddress

    from accounts.models import Role, SpecialistProfile, User
    from accounts.roles import user_set_role

    user, _ = User.objects.get_or_create(
        email=SPECIALIST, defaults={"role": Role.SPECIALIST, "full_name": "Dr. Sam Bench"}
    )
    user_set_role(user=user, role=Role.SPECIALIST)
    SpecialistProfile.objects.get_or_create(
        user=user, defaults={"title": "Attending Cardiologist", "credentials": "MD"}
    )
    EmailAddress.objects.get_or_create(
        user=user, email=SPECIALIST, defaults={"verified": True, "primary": True}
    )
    return user


def seed_specialist_case() -> Target:
    from cases.models import Case, Status
    from reports.services import report_draft_for

    specialist = specialist_user()
    case = Case.objects.filter(assigned_specialist=specialist).order_by("pk").first()
    if case is None:
        family = family_user(SPECIALIST_FAMILY, "Robin Benchmark")
        case = _filled_request(family, 3, Status.SUBMITTED)
        Case.objects.filter(pk=case.pk).update(
            status=Status.IN_REVIEW, assigned_specialist=specialist
        )
        case.refresh_from_db()
        report_draft_for(case=case, by=specialist)
    return Target(f"/workspace/{case.reference}/", staff_session_headers(specialist))


# Queries per request of the pages at scale (--queue), checked before any timing at every
# size, as the pages' are: a query per row, or one more as the table grows, fails the run.
# Each is what the page makes today (tests/cases/test_page_budgets.py holds the same pages'
# budgets at two sizes); lower a figure here when a change brings its page down. A mapping
# gives the count by table size, from that many cases up.
# The signed-in frame is one query (the user, read with whether they have an authenticator):
# the session comes from Redis (cached_db) and a family's or physician's verified emails
# inside the access gate's filter.
PORTAL_QUERIES: dict[str, QueryCount] = {
    "dashboard": 2,
    # The case (with its relations and short lists, cases.rows), the audit INSERT, reports,
    # records, messages, history.
    "family-case": 7,
    # The case page, then the read marker's SELECT and UPDATE.
    "messages": 9,
    "physician-dashboard": 2,
    # The family's, and the study links' list of studies.
    "physician-case": 8,
    "workspace": 3,
    # The case (with the questions and the records opened), the audit INSERT, reports,
    # records, the studies (one list for the study links and the PACS panel).
    "specialist-case": 6,
}
QUEUE_QUERIES: dict[str, QueryCount] = {
    # The console queue's budget is 6 (issue #12); tests/cases/test_page_budgets.py holds
    # what it makes now. Counted at 1,000 and 10,000 cases after the session and the MFA
    # check left the frame of every signed-in page.
    # The user, the bounded count and the page's rows; a search adds its id lookups
    # (reference and emails in one, the child's name) and the audit rows of the cases it
    # shows.
    "queue": 3,
    "search": 6,
}

SCENARIOS: list[Scenario] = [
    Scenario(
        name="L0",
        description="raw WSGI hello app (no Django)",
        path="/",
        app=HELLO_APP,
        baseline=None,
    ),
    Scenario(
        name="L1",
        description="bare Django view through the project's middleware",
        path="/_bench/bare/",
        baseline="L0",
        queries=0,
    ),
    Scenario(
        name="L2",
        description="one indexed query + a small template",
        path=f"/_bench/indexed/{INDEXED_SLUG}/",
        baseline="L1",
        setup=seed_indexed_query,
        queries=1,
    ),
    Scenario(
        name="family-dashboard",
        description=f"a family's dashboard (/cases/), {DASHBOARD_CASES} requests, signed in",
        path="/cases/",
        baseline="L2",
        setup=seed_family_dashboard,
        # The user, then the cases with their intake, residence, specialty and counts in one
        # query (the session comes from Redis and is saved at most once a minute, not here;
        # the verified emails are read inside the cases' filter). Constant in the number of
        # cases: a query per row would show here.
        queries=2,
    ),
    Scenario(
        name="family-case",
        description="a family's submitted request (/cases/<reference>/), signed in",
        path="/cases/<reference>/",
        baseline="L2",
        setup=seed_family_case,
        # The user, the case with what the page shows (its relations and short lists), its
        # access-log INSERT, then the panels' reads: reports, records, messages, the fee in
        # force when it was submitted (the receipts panel), history
        # (tests/cases/test_page_budgets.py holds the same page's budget; a wrong figure
        # here makes the runner list the queries).
        queries=8,
    ),
    Scenario(
        name="specialist-case",
        description="the specialist workspace's case page (/workspace/<reference>/): a case "
        "in review with its intake, 3 questions, 3 clean records and a draft, MFA-passed",
        path="/workspace/<reference>/",
        baseline="L2",
        setup=seed_specialist_case,
        # The user (with the MFA check), the case with its intake, specialty, questions and
        # the records this specialist opened, its access-log INSERT, then reports, records
        # and the studies. The clock's closures and policy come from the cache.
        queries=6,
    ),
    Scenario(
        name="portal-dashboard-big",
        description="a family's dashboard among all of bench_cases' cases: 1 case in 500 "
        "is theirs (100 of them shown)",
        path="/cases/",
        baseline="L2",
        setup=seed_portal_dashboard_at_scale,
        group="queue",
        queries=PORTAL_QUERIES["dashboard"],
    ),
    Scenario(
        name="portal-dashboard",
        description="an ordinary family's dashboard among all of bench_cases' cases: its own "
        "requests and one it is invited onto",
        path="/cases/",
        baseline="L2",
        setup=seed_portal_family_dashboard_at_scale,
        group="queue",
        queries=PORTAL_QUERIES["dashboard"],
    ),
    Scenario(
        name="portal-case",
        description="a family's case page among all of bench_cases' cases",
        path="/cases/<reference>/",
        baseline="L2",
        setup=seed_portal_case_at_scale,
        group="queue",
        queries=PORTAL_QUERIES["family-case"],
    ),
    Scenario(
        name="portal-messages",
        description="a family's messages with the coordinator, among millions of messages",
        path="/cases/<reference>/messages/?thread=coordinator",
        baseline="L2",
        setup=seed_portal_messages_at_scale,
        group="queue",
        queries=PORTAL_QUERIES["messages"],
    ),
    Scenario(
        name="physician-dashboard",
        description="a local physician's dashboard: the cases naming them (1 in 2,000)",
        path="/cases/",
        baseline="L2",
        setup=seed_physician_dashboard_at_scale,
        group="queue",
        queries=PORTAL_QUERIES["physician-dashboard"],
    ),
    Scenario(
        name="physician-case",
        description="a local physician's view of a case naming them",
        path="/cases/<reference>/",
        baseline="L2",
        setup=seed_physician_case_at_scale,
        group="queue",
        queries=PORTAL_QUERIES["physician-case"],
    ),
    Scenario(
        name="workspace-list",
        description="a specialist's My cases: 1 assigned case in 40 is theirs, MFA-passed",
        path="/workspace/",
        baseline="L2",
        setup=seed_workspace_at_scale,
        group="queue",
        queries=PORTAL_QUERIES["workspace"],
    ),
    Scenario(
        name="workspace-case",
        description="a specialist's case page (in review) among all of bench_cases' cases",
        path="/workspace/<reference>/",
        baseline="L2",
        setup=seed_workspace_case_at_scale,
        group="queue",
        queries=PORTAL_QUERIES["specialist-case"],
    ),
    Scenario(
        name="admin-queue",
        description="the coordinator console's case queue (50 rows), MFA-passed session",
        path=QUEUE_PATH,
        baseline="L2",
        setup=seed_admin_queue,
        group="queue",
        queries=QUEUE_QUERIES["queue"],
    ),
    Scenario(
        name="admin-search-ref",
        description="the queue searched by an exact reference",
        path=f"{QUEUE_PATH}?q=<reference>",
        baseline="L2",
        setup=seed_admin_search_reference,
        group="queue",
        queries=QUEUE_QUERIES["search"],
    ),
    Scenario(
        name="admin-search-name",
        description="the queue searched by a child's first-name prefix (4 letters)",
        path=f"{QUEUE_PATH}?q=<prefix>",
        baseline="L2",
        setup=seed_admin_search_name,
        group="queue",
        queries=QUEUE_QUERIES["search"],
    ),
    Scenario(
        name="admin-search-name-page",
        description="the queue searched by the commonest 3-letter first-name start (a full page)",
        path=f"{QUEUE_PATH}?q=<prefix>",
        baseline="L2",
        setup=seed_admin_search_name_page,
        group="queue",
        queries=QUEUE_QUERIES["search"],
    ),
    Scenario(
        name="admin-search-email",
        description="the queue searched by a family's exact email",
        path=f"{QUEUE_PATH}?q=<email>",
        baseline="L2",
        setup=seed_admin_search_email,
        group="queue",
        queries=QUEUE_QUERIES["search"],
    ),
]

REFERENCE_LEVELS = ("L0", "L1")


def by_name() -> dict[str, Scenario]:
    return {scenario.name: scenario for scenario in SCENARIOS}
