"""The coordinator console: the case queue, the case page with its buttons, the dashboard."""

import threading
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, SpecialistProfile
from billing.models import CaseBilling
from cases.admin import queue as queue_module
from cases.admin.queue import BoundedPaginator, queue_search
from cases.clock import BusinessCalendar
from cases.models import (
    AccessEvent,
    Case,
    CaseMessage,
    CaseReadMarker,
    RecordRequest,
    Status,
    TimelineEvent,
)
from core.models import OutboundEmail
from intake.models import Intake, Record
from tests.cases.queue_helpers import due_for, intake_for, rows_of
from tests.conftest import _person, login
from tests.factories import CaseFactory, specialty
from tests.services import need_postgres

S = Status
CHANGELIST = "admin:cases_case_changelist"


@pytest.fixture
def staff(coordinator: Any) -> Client:
    return login(Client(), coordinator)


@pytest.fixture
def queue(family: Any, specialist: Any, other_family: Any) -> dict[str, Case]:
    a = CaseFactory(
        family=family,
        status=S.ASSIGNED,
        assigned_specialist=specialist,
        due_at=due_for("overdue"),
        submitted_at=timezone.now() - timedelta(days=20),
        records_complete_at=timezone.now() - timedelta(days=15),
    )
    intake_for(a, "Maria", "Lopez")
    CaseBilling.objects.create(case=a, state=CaseBilling.State.PAID)
    b = CaseFactory(
        family=other_family,
        status=S.IN_REVIEW,
        assigned_specialist=specialist,
        due_at=due_for("at_risk"),
        submitted_at=timezone.now() - timedelta(days=10),
        physician_email="dr.who@example.com",
    )
    intake_for(b, "Tom", "Carter")
    CaseBilling.objects.create(case=b, state=CaseBilling.State.CARD_SAVED)
    c = CaseFactory(
        family=family,
        status=S.ASSIGNED,
        due_at=due_for("on_track"),
        submitted_at=timezone.now() - timedelta(days=5),
        specialty=specialty("neurology"),
    )
    intake_for(c, "Marcus", "Young")
    old = CaseFactory(family=family, submitted_at=timezone.now() - timedelta(days=3))
    new = CaseFactory(family=family, submitted_at=timezone.now() - timedelta(days=1))
    return {"overdue": a, "at_risk": b, "on_track": c, "old": old, "new": new}


def test_queue_shows_the_columns_with_clock_text(staff: Client, queue: dict[str, Case]) -> None:
    response = staff.get(reverse(CHANGELIST))
    html = response.content.decode()
    for heading in (
        "Child",
        "State",
        "Specialty",
        "Status",
        "Requested specialist",
        "Assigned specialist",
        "Records complete",
        "Payment",
        "Due (business days left)",
        "Last activity",
    ):
        assert heading in html
    assert queue["overdue"].reference in html
    assert "Maria Lopez (7)" in html
    assert "Overdue" in html and "At risk" in html and "On track" in html
    assert "Paid" in html and "Card saved, not charged" in html
    assert reverse("admin:cases_case_dashboard") in html


def test_default_order_most_urgent_first_then_oldest_submitted(
    staff: Client, queue: dict[str, Case]
) -> None:
    rows = rows_of(staff.get(reverse(CHANGELIST)))
    # Overdue, at risk, then the oldest waiting for triage; cases on track after them.
    assert rows == [
        queue["overdue"],
        queue["at_risk"],
        queue["old"],
        queue["new"],
        queue["on_track"],
    ]


def test_every_page_of_the_default_order_is_sorted_from_its_candidates_alone(
    staff: Client, family: Any, specialist: Any, monkeypatch: Any
) -> None:
    """The queue sorts only the open work ranked first and the first rows in (due,
    submitted, id) order (``page_candidates``): every page, with "Show all" and with
    filters, is what sorting the whole selection gives."""
    now = timezone.now()
    # 150 cases: delivered reports due long ago (last in the urgency order, first by due
    # date), running clocks overdue, at risk and on track, cases waiting for triage.
    kinds = [
        (S.DELIVERED, now - timedelta(days=400)),
        (S.IN_REVIEW, now - timedelta(days=2)),
        (S.ASSIGNED, due_for("at_risk")),
        (S.ASSIGNED, now + timedelta(days=30)),
        (S.IN_TRIAGE, now + timedelta(days=10)),
        (S.REPORT_FINAL, None),
    ]
    Case.objects.bulk_create(
        Case(
            status=kinds[i % len(kinds)][0],
            family=family,
            created_by=family,
            assigned_specialist=specialist if i % 3 else None,
            submitted_at=now - timedelta(days=60, minutes=i),
            due_at=(lambda due: due and due + timedelta(minutes=i % 7))(kinds[i % len(kinds)][1]),
        )
        for i in range(150)
    )
    url = reverse(CHANGELIST)
    views = [
        {},
        {"p": "2"},
        {"p": "3"},
        {"all": ""},
        {"specialist": str(specialist.pk)},
        {"specialist": str(specialist.pk), "p": "2"},
        {"show": "all"},
    ]
    narrowed = {str(v): [c.pk for c in rows_of(staff.get(url, v))] for v in views}
    monkeypatch.setattr(queue_module, "page_candidates", lambda rows, clock, wanted: rows)
    whole = {str(v): [c.pk for c in rows_of(staff.get(url, v))] for v in views}
    assert narrowed == whole
    assert len(whole["{}"]) == 50 and len(whole[str({"all": ""})]) == 150
    # The first page starts with the overdue running clocks, not the old delivered reports.
    first = Case.objects.get(pk=whole["{}"][0])
    assert first.status == S.IN_REVIEW


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status__exact": "in_review"}, ["at_risk"]),
        ({"clock": "overdue"}, ["overdue"]),
        ({"clock": "at_risk"}, ["at_risk"]),
        ({"clock": "on_track"}, ["on_track"]),
        ({"clock": "no_clock"}, ["old", "new"]),
        ({"payment": "paid"}, ["overdue"]),
        ({"payment": "none"}, ["old", "new", "on_track"]),
        ({"specialist": "none"}, ["old", "new", "on_track"]),
        ({"q": "Mar"}, ["overdue", "on_track"]),
        ({"q": "maria lop"}, ["overdue"]),
        ({"q": "aria"}, []),
        ({"q": "dr.who@example.com"}, ["at_risk"]),
        ({"q": "dr.who@example"}, []),
        ({"q": "family2@example.com"}, ["at_risk"]),
    ],
)
def test_filters_and_search(
    staff: Client, queue: dict[str, Case], params: dict[str, str], expected: list[str]
) -> None:
    rows = rows_of(staff.get(reverse(CHANGELIST), params))
    assert rows == [queue[name] for name in expected]


def test_filter_by_specialty_specialist_and_exact_reference(
    staff: Client, queue: dict[str, Case], specialist: Any
) -> None:
    url = reverse(CHANGELIST)
    neuro = queue["on_track"].specialty
    assert rows_of(staff.get(url, {"specialty__id__exact": neuro.pk})) == [queue["on_track"]]
    mine = rows_of(staff.get(url, {"specialist": specialist.pk}))
    assert mine == [queue["overdue"], queue["at_risk"]]
    reference = queue["old"].reference
    assert rows_of(staff.get(url, {"q": reference})) == [queue["old"]]
    assert rows_of(staff.get(url, {"q": reference[:8]})) == []


def test_unread_messages_filter_follows_the_read_marker(
    staff: Client, queue: dict[str, Case], coordinator: Any, family: Any
) -> None:
    case = queue["old"]
    CaseMessage.objects.create(case=case, author=family, body="Any news?")
    CaseMessage.objects.create(case=queue["new"], author=coordinator, body="Mine, not unread.")
    url = reverse(CHANGELIST)
    assert rows_of(staff.get(url, {"unread": "yes"})) == [case]
    CaseReadMarker.objects.create(
        case=case, user=coordinator, last_read_at=timezone.now() + timedelta(seconds=1)
    )
    assert rows_of(staff.get(url, {"unread": "yes"})) == []
    assert case in rows_of(staff.get(url, {"unread": "no"}))


def _bulk_cases(count: int, family: Any, specialist: Any) -> None:
    field = specialty()
    now = timezone.now()
    cases = Case.objects.bulk_create(
        [
            Case(
                status=S.ASSIGNED,
                family=family,
                created_by=family,
                specialty=field,
                assigned_specialist=specialist,
                physician_email="physician@example.com",
                submitted_at=now - timedelta(days=30, minutes=i),
                due_at=now + timedelta(days=i % 40 - 10),
                # bulk_create skips Intake.save, which keeps the case's copy of the name.
                child_first_name=f"Kid{i}",
            )
            for i in range(count)
        ]
    )
    Intake.objects.bulk_create(
        [
            Intake(case=c, child_legal_first_name=f"Kid{i}", child_date_of_birth=date(2018, 1, 1))
            for i, c in enumerate(cases)
        ]
    )
    CaseBilling.objects.bulk_create(
        [CaseBilling(case=c, state=CaseBilling.State.PAID) for c in cases]
    )
    TimelineEvent.objects.bulk_create(
        [TimelineEvent(case=c, kind=TimelineEvent.Kind.NOTE, note="n") for c in cases]
    )


def _changelist_sql(client: Client, **params: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def test_query_count_does_not_grow_with_the_number_of_cases(
    staff: Client, family: Any, specialist: Any
) -> None:
    _bulk_cases(10, family, specialist)
    _changelist_sql(staff)  # the first request stores the policy row and the session
    small = _changelist_sql(staff)
    _bulk_cases(990, family, specialist)
    large = _changelist_sql(staff)
    assert len(small) == len(large), "\n".join(large)
    filtered = _changelist_sql(staff, clock="overdue", payment="paid", unread="no")
    # Filtered, there is no size estimate to read (PostgreSQL): one query fewer at most.
    assert len(large) - 1 <= len(filtered) <= len(large)
    # Never a COUNT(*) over the whole table: every count is bounded by a LIMIT.
    for sql in large + filtered:
        if "COUNT(" in sql.upper():
            assert "LIMIT" in sql.upper(), sql
    response = staff.get(reverse(CHANGELIST))
    assert "More than 550 cases" in response.content.decode()


def test_unfiltered_large_table_reads_the_planner_estimate_on_postgres(
    staff: Client, family: Any, specialist: Any, monkeypatch: Any
) -> None:
    need_postgres()
    _bulk_cases(30, family, specialist)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_case")
    monkeypatch.setattr(BoundedPaginator, "estimate_from", 1)
    # "All" is the unfiltered table (the default view leaves drafts and ended cases out).
    assert not any("COUNT(" in sql.upper() for sql in _changelist_sql(staff, show="all"))
    response = staff.get(reverse(CHANGELIST), {"show": "all"})
    assert "About 30 cases" in response.content.decode()


# --- the case page -----------------------------------------------------------------------


def test_case_page_shows_the_intake_read_only_and_records_with_gated_links(
    staff: Client, family: Any
) -> None:
    case = CaseFactory(family=family, status=S.SUBMITTED)
    intake_for(case, diagnosis="Murmur heard at school check.")
    record = Record.objects.create(
        case=case,
        kind=Record.Kind.LAB_RESULTS,
        original_name="labs.pdf",
        size=2048,
        state=Record.State.AVAILABLE,
        scan_status=Record.Scan.CLEAN,
        uploaded_by=family,
    )
    RecordRequest.objects.create(
        case=case, what="Echo report", requested_from="family", created_by=family
    )
    response = staff.get(reverse("admin:cases_case_change", args=[case.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Murmur heard at school check." in html
    assert 'name="status"' not in html  # never editable
    assert 'name="child_legal_first_name"' not in html
    assert reverse("record_download", args=[case.reference, record.uid]) in html
    assert "Scanned clean" in html and "2.0\xa0KB" in html
    assert "Echo report" in html
    assert [m["move"].action for m in response.context["console"]["moves"]] == ["take", "hold"]


def test_buttons_follow_the_allowed_moves(staff: Client, family: Any) -> None:
    case = CaseFactory(family=family, status=S.IN_TRIAGE)
    response = staff.get(reverse("admin:cases_case_change", args=[case.pk]))
    actions = [m["move"].action for m in response.context["console"]["moves"]]
    assert actions == ["request_records", "records_complete", "propose", "decline", "hold"]
    ended = CaseFactory(family=family, status=S.CLOSED)
    response = staff.get(reverse("admin:cases_case_change", args=[ended.pk]))
    assert response.context["console"]["moves"] == []


def _move(client: Client, case: Case, action: str, data: Any = None) -> Any:
    url = reverse("admin:cases_case_transition", args=[case.pk, action])
    return client.post(url, data or {}, follow=True)


def test_take_button_calls_the_service(staff: Client, family: Any, coordinator: Any) -> None:
    case = CaseFactory(family=family, status=S.SUBMITTED)
    response = _move(staff, case, "take")
    case.refresh_from_db()
    assert case.status == S.IN_TRIAGE
    event = TimelineEvent.objects.get(case=case, kind=TimelineEvent.Kind.STATUS)
    assert (event.to_status, event.actor) == (S.IN_TRIAGE, coordinator)
    assert "Taken into review." in response.content.decode()


def test_hold_form_calls_the_service_and_emails_the_family(staff: Client, family: Any) -> None:
    case = CaseFactory(family=family, status=S.IN_TRIAGE)
    url = reverse("admin:cases_case_transition", args=[case.pk, "hold"])
    assert staff.get(url).status_code == 200
    assert staff.post(url, {"reason": ""}).status_code == 400
    _move(staff, case, "hold", {"reason": "Waiting for the echo report"})
    case.refresh_from_db()
    assert case.status == S.ON_HOLD
    assert OutboundEmail.objects.filter(case=case, kind="case_on_hold", to=family.email).exists()
    _move(staff, case, "resume")
    case.refresh_from_db()
    assert case.status == S.IN_TRIAGE


def test_record_request_and_received(staff: Client, family: Any) -> None:
    case = CaseFactory(family=family, status=S.IN_TRIAGE)
    _move(staff, case, "request_records", {"what": "MRI disc", "requested_from": "family"})
    case.refresh_from_db()
    assert case.status == S.AWAITING_RECORDS
    request = RecordRequest.objects.get(case=case)
    staff.post(
        reverse("admin:cases_case_transition", args=[case.pk, "record_received"]),
        {"request_id": request.pk},
    )
    request.refresh_from_db()
    assert request.received_at is not None


def test_proposal_picker_lists_accepting_specialists_of_the_specialty(
    staff: Client, family: Any, specialist: Any, other_specialist: Any
) -> None:
    case = CaseFactory(family=family, status=S.IN_TRIAGE)
    SpecialistProfile.objects.create(user=specialist, title="Attending").specialties.add(
        case.specialty
    )
    away = SpecialistProfile.objects.create(
        user=other_specialist, title="Attending", accepting_cases=False
    )
    away.specialties.add(case.specialty)
    url = reverse("admin:cases_case_transition", args=[case.pk, "propose"])
    choices = list(staff.get(url).context["form"].fields["specialist"].queryset)
    assert choices == [specialist]
    _move(staff, case, "propose", {"specialist": specialist.pk, "note": "", "review_extension": ""})
    case.refresh_from_db()
    assert case.status == S.AWAITING_FAMILY_CONFIRMATION
    assert case.proposed_specialist == specialist


def test_an_illegal_move_shows_the_services_message(staff: Client, family: Any) -> None:
    case = CaseFactory(family=family, status=S.SUBMITTED)
    response = _move(staff, case, "decline", {"reason": "Not for us"})
    case.refresh_from_db()
    assert case.status == S.SUBMITTED
    assert "cannot be declined now" in response.content.decode()


def test_the_second_coordinator_gets_a_clear_message(
    staff: Client, family: Any, coordinator: Any
) -> None:
    other = _person("coordinator2@example.com", Role.COORDINATOR)
    case = CaseFactory(family=family, status=S.SUBMITTED)
    _move(staff, case, "take")
    response = _move(login(Client(), other), case, "take")
    assert "cannot be taken into review now" in response.content.decode()
    assert TimelineEvent.objects.filter(case=case, kind=TimelineEvent.Kind.STATUS).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_coordinators_at_once_one_wins_one_is_told(coordinator: Any, family: Any) -> None:
    """The service locks the row: the loser sees the service's message, nothing twice."""
    need_postgres()
    other = _person("coordinator2@example.com", Role.COORDINATOR)
    case = CaseFactory(family=family, status=S.SUBMITTED)
    clients = [login(Client(), coordinator), login(Client(), other)]
    barrier = threading.Barrier(2)
    pages: list[str] = []

    def act(client: Client) -> None:
        try:
            barrier.wait(timeout=10)
            pages.append(_move(client, case, "take").content.decode())
        finally:
            connection.close()

    threads = [threading.Thread(target=act, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(pages) == 2
    assert sum(f"{case.reference}: Taken into review." in page for page in pages) == 1
    assert sum("cannot be taken into review now" in page for page in pages) == 1
    assert TimelineEvent.objects.filter(case=case, kind=TimelineEvent.Kind.STATUS).count() == 1


def test_buttons_are_post_only_and_families_get_no_admin(staff: Client, family: Any) -> None:
    case = CaseFactory(family=family, status=S.SUBMITTED)
    url = reverse("admin:cases_case_transition", args=[case.pk, "take"])
    assert staff.get(url).status_code == 405
    family_client = login(Client(), family)
    for response in (
        family_client.post(url),
        family_client.get(reverse(CHANGELIST)),
        family_client.get(reverse("admin:cases_case_dashboard")),
    ):
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]
    case.refresh_from_db()
    assert case.status == S.SUBMITTED


# --- the dashboard -----------------------------------------------------------------------


def test_dashboard_numbers(
    staff: Client, queue: dict[str, Case], specialist: Any, family: Any
) -> None:
    CaseFactory(family=family, status=S.AWAITING_FAMILY_CONFIRMATION)
    waiting = CaseFactory(family=family, status=S.AWAITING_RECORDS)
    RecordRequest.objects.create(
        case=waiting, what="Labs", requested_from="family", created_by=family
    )
    CaseFactory(family=family, status=S.AWAITING_RECORDS)  # waiting on a provider
    calendar = BusinessCalendar()
    start = calendar.next_business_start(timezone.now() - timedelta(days=25))
    signed = calendar.add_business_days(start, 3)
    done = CaseFactory(
        family=family,
        status=S.REPORT_FINAL,
        assigned_specialist=specialist,
        assigned_at=start,
        records_complete_at=start,
    )
    event = TimelineEvent.objects.create(
        case=done, kind=TimelineEvent.Kind.STATUS, from_status=S.IN_REVIEW, to_status=S.REPORT_FINAL
    )
    TimelineEvent.objects.filter(pk=event.pk).update(at=signed)
    response = staff.get(reverse("admin:cases_case_dashboard"))
    assert response.status_code == 200
    numbers = response.context["numbers"]
    assert numbers["overdue"] == 1
    assert numbers["at_risk"] == 1
    assert numbers["waiting_on_family"] == 2
    assert numbers["median_30"] == 3.0
    assert numbers["median_90"] == 3.0
    by_status = {value: count for _label, count, value in numbers["by_status"]}
    assert by_status["assigned"] == 2 and by_status["submitted"] == 2
    load = {person: person.load for person in numbers["specialists"]}
    assert load[specialist] == 2  # one assigned, one in review; the signed one not counted


def test_queue_search_finds_by_reference_names_and_emails(
    queue: dict[str, Case], family: Any
) -> None:
    def found(term: str) -> set[Case]:
        return set(queue_search(Case.objects.all(), term))

    assert found(queue["at_risk"].reference.lower()) == {queue["at_risk"]}
    assert found("mar") == {queue["overdue"], queue["on_track"]}  # Maria, Marcus
    assert found("CARTER") == {queue["at_risk"]}
    assert found("Dr.Who@Example.com") == {queue["at_risk"]}
    assert found("FAMILY@example.com") == {
        case for case in queue.values() if case.family_id == family.pk
    }
    assert found("nobody@example.com") == set()
    assert found("  ") == set(Case.objects.all())


# --- the queue's search (cases.admin.queue.queue_search, through the changelist) ---------


def test_search_by_reference_is_exact_and_ignores_case(
    staff: Client, queue: dict[str, Case]
) -> None:
    url = reverse(CHANGELIST)
    reference = queue["at_risk"].reference
    assert rows_of(staff.get(url, {"q": reference.lower()})) == [queue["at_risk"]]
    assert rows_of(staff.get(url, {"q": f"  {reference}  "})) == [queue["at_risk"]]
    assert rows_of(staff.get(url, {"q": reference[:-1]})) == []


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("Marc", ["on_track"]),  # first name prefix
        ("YOU", ["on_track"]),  # last name prefix, any case
        ("lopez", ["overdue"]),  # the whole last name
        ("ma", ["overdue", "on_track"]),
        ('"maria" "lopez"', ["overdue"]),  # quoted words, each must match
        ("tom lop", []),  # each word must match the same case
        ("opez", []),  # a prefix, not a substring
    ],
)
def test_search_by_child_name_prefix(
    staff: Client, queue: dict[str, Case], term: str, expected: list[str]
) -> None:
    rows = rows_of(staff.get(reverse(CHANGELIST), {"q": term}))
    assert rows == [queue[name] for name in expected]


def test_search_by_family_or_physician_email_is_exact(
    staff: Client, queue: dict[str, Case], family: Any
) -> None:
    url = reverse(CHANGELIST)
    mine = [queue[name] for name in ("overdue", "old", "new", "on_track")]
    assert rows_of(staff.get(url, {"q": family.email.upper()})) == mine
    assert rows_of(staff.get(url, {"q": "DR.WHO@example.com"})) == [queue["at_risk"]]
    assert rows_of(staff.get(url, {"q": family.email[:-1]})) == []
    assert rows_of(staff.get(url, {"q": "example.com"})) == []


def test_search_without_a_match_says_so(staff: Client, queue: dict[str, Case]) -> None:
    response = staff.get(reverse(CHANGELIST), {"q": "Zebedee"})
    assert rows_of(response) == []
    assert "0 cases" in response.content.decode()


def test_search_query_count_does_not_grow_with_the_number_of_cases(
    staff: Client, family: Any, specialist: Any
) -> None:
    _bulk_cases(10, family, specialist)
    _changelist_sql(staff)
    terms = ["Kid1", family.email, "physician@example.com", "OSO-NONE-NONE"]
    small = [len(_changelist_sql(staff, q=term)) for term in terms]
    _bulk_cases(990, family, specialist)
    large = {term: _changelist_sql(staff, q=term) for term in terms}
    assert [len(sql) for sql in large.values()] == small
    for sql in large["Kid1"]:
        if "COUNT(" in sql.upper():
            assert "LIMIT" in sql.upper(), sql
    # Each kind of match is looked up on its own index (the names by prefix on the case's
    # copy of them), then the queue reads the matching ids: no OR across joined tables.
    names = [sql for sql in large["Kid1"] if "LIKE" in sql and "child_first_name" in sql]
    assert len(names) == 1 and "JOIN" not in names[0], names
    if connection.vendor == "postgresql":
        assert "UPPER(" in names[0]  # as the case's prefix indexes are built
    # No query of the queue reads the intakes' names.
    assert not any("child_legal" in sql for sql in large["Kid1"])


def test_a_common_name_prefix_walks_the_queue_instead_of_listing_ids(
    staff: Client, family: Any, specialist: Any, monkeypatch: Any
) -> None:
    _bulk_cases(30, family, specialist)
    monkeypatch.setattr(queue_module, "NAME_IDS_LIMIT", 5)
    with CaptureQueriesContext(connection) as captured:
        rows = rows_of(staff.get(reverse(CHANGELIST), {"q": "kid1"}))
    # The page's query tests the name on the case row itself: no join of the intakes.
    walked = [q["sql"] for q in captured if "LIKE" in q["sql"] and "ORDER BY" in q["sql"]]
    assert walked and not any('JOIN "intake_intake"' in sql for sql in walked), walked
    # Kid1 and Kid10 to Kid19, most urgent first, as without the search.
    expected = list(
        Case.objects.filter(intake__child_legal_first_name__startswith="Kid1").order_by(
            "due_at", "submitted_at", "pk"
        )
    )
    assert rows == expected and len(rows) == 11


def _naive_search_page(term: str, params: dict[str, str], per_page: int, limit: int) -> Any:
    """What the queue shows for a name prefix ``term``: every case filtered and sorted in
    Python (the urgency rank, then due, submitted, id), its page, count and "more than"."""
    from cases.admin.queue import urgency_rank
    from cases.models import TurnaroundPolicy
    from cases.risk import ConsoleClock

    clock = ConsoleClock(BusinessCalendar.from_db(), TurnaroundPolicy.current(), timezone.now())
    word = term.upper()
    matches = [
        c
        for c in Case.objects.annotate(rank=urgency_rank(clock))
        if c.child_first_name.upper().startswith(word) or c.child_last_name.upper().startswith(word)
    ]
    if "status__exact" in params:
        matches = [c for c in matches if c.status == params["status__exact"]]
    far = timezone.now() + timedelta(days=100_000)
    matches.sort(key=lambda c: (c.rank, c.due_at or far, c.submitted_at or far, c.pk))
    page = int(params.get("p", "1"))
    shown = [c.pk for c in matches[(page - 1) * per_page : page * per_page]]
    return shown, min(len(matches), limit), len(matches) > limit


def test_a_walked_name_search_pages_as_filtering_and_sorting_every_case_does(
    staff: Client, family: Any, specialist: Any, monkeypatch: Any
) -> None:
    """A name prefix with more matches than the search lists (``NAME_IDS_LIMIT``, made 20
    here) is read in parts that each stop at a limit (the ids, the bounded count, the
    page's urgent cases): every page, its count and its audit rows are those of filtering
    and sorting every case."""
    now = timezone.now()
    kinds = [
        (S.DELIVERED, now - timedelta(days=400)),
        (S.IN_REVIEW, now - timedelta(days=2)),
        (S.ASSIGNED, due_for("at_risk")),
        (S.ASSIGNED, now + timedelta(days=30)),
        (S.IN_TRIAGE, now + timedelta(days=10)),
        (S.CLOSED, now - timedelta(days=300)),
        (S.DRAFT, None),
    ]
    # 360 cases: "Dan…" first names, "Dan…" last names, both, and neither.
    firsts = ["Daniel", "Danielle", "Maria", "dana", "Noah", "Dan"]
    lasts = ["Lopez", "Danvers", "Smith", "DANTE", "Oduya"]
    Case.objects.bulk_create(
        Case(
            status=kinds[i % len(kinds)][0],
            family=family,
            created_by=family,
            assigned_specialist=specialist if i % 3 else None,
            submitted_at=now - timedelta(days=60, minutes=i % 50),
            due_at=(lambda due: due and due + timedelta(minutes=i % 11))(kinds[i % len(kinds)][1]),
            child_first_name=firsts[i % len(firsts)],
            child_last_name=lasts[i % len(lasts)],
        )
        for i in range(360)
    )
    monkeypatch.setattr(queue_module, "NAME_IDS_LIMIT", 20)
    # Two pages ahead at most: page 1 counts up to 150 of the 288 matches ("more than").
    monkeypatch.setattr(BoundedPaginator, "pages_ahead", 2)
    url = reverse(CHANGELIST)
    views = [
        {"q": "dan"},
        {"q": "dan", "p": "2"},
        {"q": "dan", "p": "4"},
        {"q": "dan", "p": "6"},
        {"q": "DANI"},
        {"q": "DANI", "p": "2"},
        {"q": "dante"},
        {"q": "dan", "status__exact": S.IN_REVIEW},
    ]
    for view in views:
        before = AccessEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        with CaptureQueriesContext(connection) as captured:
            response = staff.get(url, view)
        changelist = response.context["cl"]
        limit = (int(view.get("p", "1")) + 2) * 50
        shown, count, bounded = _naive_search_page(view["q"], view, 50, limit)
        assert [c.pk for c in rows_of(response)] == shown, view
        assert (changelist.result_count, changelist.paginator.bounded) == (count, bounded), view
        audited = AccessEvent.objects.filter(pk__gt=before).values_list("case_id", flat=True)
        assert sorted(audited) == sorted(shown), view
        # The name lookup ran in its parts, each up to its limit (21: the list's, one over).
        parts = [q["sql"] for q in captured if "UNION ALL" in q["sql"] and "LIKE" in q["sql"]]
        assert parts, view
    assert len(_naive_search_page("dan", {}, 50, 10_000)[0]) == 50
    assert _naive_search_page("dan", {"p": "6"}, 50, 10_000)[0]  # six pages and more
    assert _naive_search_page("dante", {}, 50, 10_000)[2] is False


def test_queue_rows_escape_what_families_typed(staff: Client, family: Any) -> None:
    case = CaseFactory(family=family, submitted_at=timezone.now())
    intake_for(case, "<b>Ann</b>", "O'Hara & Co", preferred_specialist_text="<i>Dr X</i>")
    html = staff.get(reverse(CHANGELIST)).content.decode()
    assert "&lt;b&gt;Ann&lt;/b&gt; O&#x27;Hara &amp; Co (7)" in html
    assert "&lt;i&gt;Dr X&lt;/i&gt;" in html
    assert "<b>Ann</b>" not in html
    assert f'href="/admin/cases/case/{case.pk}/change/"' in html


def test_search_name_indexes_use_the_pattern_operator_class(db: Any) -> None:
    need_postgres()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'intake_intake'"
        )
        found = dict(cursor.fetchall())
    # The intake's own name indexes served the search before the case's copy (intake
    # migration 0005 dropped them): nothing reads the intakes by name any more.
    assert not [name for name in found if "child" in name], found
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'cases_case'")
        found = dict(cursor.fetchall())
    for name, column in [
        ("case_child_first_prefix_idx", "child_first_name"),
        ("case_child_last_prefix_idx", "child_last_name"),
    ]:
        assert f"upper(({column})::text) text_pattern_ops" in found[name]


def test_specialist_filter_list_is_cached_and_dropped_when_a_user_is_saved(
    staff: Client, specialist: Any
) -> None:
    url = reverse(CHANGELIST)
    assert specialist.get_full_name() in staff.get(url).content.decode()
    with CaptureQueriesContext(connection) as captured:
        staff.get(url)
    assert not any("\"role\" = 'specialist'" in q["sql"] for q in captured)
    specialist.full_name = "Dr. Renamed Person"
    specialist.save()
    assert "Dr. Renamed Person" in staff.get(url).content.decode()


def test_specialty_choices_are_cached_and_dropped_when_a_specialty_is_saved(
    staff: Client, queue: dict[str, Case]
) -> None:
    url = reverse(CHANGELIST)
    field = queue["on_track"].specialty
    assert field is not None and field.name in staff.get(url).content.decode()
    case_page = reverse("admin:cases_case_change", args=[queue["on_track"].pk])
    for page in (url, case_page):
        with CaptureQueriesContext(connection) as captured:
            assert staff.get(page).status_code == 200
        assert not any('FROM "accounts_specialty"' in q["sql"] for q in captured), page
    field.name = "Renamed specialty"
    field.save()
    assert "Renamed specialty" in staff.get(url).content.decode()
    selected = f'<option value="{field.pk}" selected>Renamed specialty</option>'
    assert selected in staff.get(case_page).content.decode()


def test_a_coordinator_gives_an_in_review_case_to_another_specialist(
    staff: Client, family: Any, specialist: Any, other_specialist: Any, coordinator: Any
) -> None:
    from reports.services import report_draft_for

    case = CaseFactory(family=family, status=S.IN_REVIEW, assigned_specialist=specialist)
    for person in (specialist, other_specialist):
        SpecialistProfile.objects.create(user=person, title="Attending").specialties.add(
            case.specialty
        )
    draft = report_draft_for(case=case, by=specialist)
    url = reverse("admin:cases_case_transition", args=[case.pk, "reassign"])
    choices = list(staff.get(url).context["form"].fields["specialist"].queryset)
    assert choices == [other_specialist]  # never the one who has it now
    assert staff.post(url, {"specialist": other_specialist.pk, "reason": ""}).status_code == 400
    response = _move(
        staff, case, "reassign", {"specialist": other_specialist.pk, "reason": "On leave"}
    )
    assert "must accept it" in response.content.decode()
    case.refresh_from_db()
    assert (case.status, case.assigned_specialist) == (S.ASSIGNED, other_specialist)
    event = TimelineEvent.objects.filter(case=case, kind=TimelineEvent.Kind.STATUS).last()
    assert event is not None
    assert (event.from_status, event.to_status, event.actor) == (
        S.IN_REVIEW,
        S.ASSIGNED,
        coordinator,
    )
    assert "On leave" in event.note
    kinds = set(OutboundEmail.objects.filter(case=case).values_list("kind", "to"))
    assert ("specialist_new_case", other_specialist.email) in kinds
    assert ("specialist_changed", family.email) in kinds
    # The first specialist is out; the new one accepts and carries on the same draft.
    first = login(Client(), specialist)
    assert first.get(reverse("workspace_case", args=[case.reference])).status_code == 404
    from cases.services import specialist_accept

    specialist_accept(case=case, by=other_specialist)
    assert report_draft_for(case=case, by=other_specialist).pk == draft.pk
    draft.refresh_from_db()
    assert draft.author == other_specialist


def test_reassigning_is_refused_outside_assigned_and_in_review(
    staff: Client, family: Any, specialist: Any, other_specialist: Any, coordinator: Any
) -> None:
    case = CaseFactory(family=family, status=S.IN_TRIAGE)
    actions = [
        m["move"].action
        for m in staff.get(reverse("admin:cases_case_change", args=[case.pk])).context["console"][
            "moves"
        ]
    ]
    assert "reassign" not in actions
    from cases.services import LifecycleRefused, specialist_reassign

    with pytest.raises(LifecycleRefused):
        specialist_reassign(case=case, by=coordinator, specialist=other_specialist, reason="x")
    assigned = CaseFactory(family=family, status=S.ASSIGNED, assigned_specialist=specialist)
    with pytest.raises(LifecycleRefused):  # the same specialist again
        specialist_reassign(case=assigned, by=coordinator, specialist=specialist, reason="x")
    with pytest.raises(PermissionDenied):
        specialist_reassign(case=assigned, by=specialist, specialist=other_specialist, reason="x")
    assigned.refresh_from_db()
    assert assigned.assigned_specialist == specialist
