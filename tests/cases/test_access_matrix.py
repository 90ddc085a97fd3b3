"""The access-gate matrix: every case-scoped URL, for every persona.

The list of case-scoped URLs is discovered from the URL resolver (every pattern under a
``reference`` kwarg). A new case-scoped URL without an entry in MATRIX fails
``test_every_case_scoped_url_is_in_the_matrix``, so nobody can add one unchecked.

The case is owned by ``family``, names ``physician`` and is assigned to ``specialist``.
Personas outside it always get 404 and a refused AccessEvent; personas inside get the
status the entry expects (some actions are for some roles only, which also answer 404).
"""

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from cases.models import AccessEvent, Case
from intake.models import Intake, Record
from tests.cases.access_matrix import MATRIX
from tests.conftest import login, persona
from tests.factories import CaseFactory
from tests.matrix import (
    INSIDE,
    OUTSIDE,
    Entry,
    close_file,
    matrix_record,
)


def _case_scoped_url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns: list[Any], prefix: str = "", scoped: bool = False) -> None:
        for p in patterns:
            here = scoped or "reference" in p.pattern.regex.groupindex
            if isinstance(p, URLResolver):
                ns = f"{p.namespace}:" if p.namespace else ""
                walk(p.url_patterns, prefix + ns, here)
            elif isinstance(p, URLPattern) and here:
                names.add(prefix + (p.name or repr(p)))

    walk(get_resolver().url_patterns)
    return names


@pytest.fixture(autouse=True)
def _s3_for_uploads(request: pytest.FixtureRequest) -> None:
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and str(callspec.params.get("name", "")).startswith("uploads:"):
        request.getfixturevalue("s3_storage")


def test_every_case_scoped_url_is_in_the_matrix() -> None:
    assert _case_scoped_url_names() == set(MATRIX)


@pytest.fixture(scope="class")
def people(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """The seven personas, made once for the whole matrix (about 400 tests) as Django's
    setUpTestData makes its data: in a transaction around all of them, rolled back at the
    end; each test runs in a savepoint inside it, so what a test writes is still undone."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield {name: persona(name) for name in INSIDE + OUTSIDE}
        transaction.set_rollback(True)


def _call(client: Client, name: str, entry: Entry, reference: str, extra: dict[str, Any]) -> Any:
    url = reverse(name, kwargs={"reference": reference, **extra})
    return getattr(client, entry.method)(url, entry.data)


class TestEveryPersona:
    """In a class so that ``people`` (class-scoped) exists only while these tests run."""

    @pytest.mark.parametrize("name", sorted(MATRIX))
    @pytest.mark.parametrize("who", INSIDE + OUTSIDE)
    def test_matrix(self, name: str, who: str, people: dict[str, Any]) -> None:
        entry = MATRIX[name]
        case = CaseFactory(
            status=entry.status,
            family=people["family"],
            physician_email=people["physician"].email,
            assigned_specialist=people["specialist"],
        )
        Intake.objects.create(case=case)
        extra = entry.kwargs(case)
        client = login(Client(), people[who])
        before = AccessEvent.objects.count()
        response = _call(client, name, entry, case.reference, extra)
        close_file(response)
        events = list(AccessEvent.objects.order_by("pk")[before:])
        assert events, "no audit row written"
        event = events[0]
        assert (event.user, event.case, event.object_type) == (
            people[who],
            case,
            entry.object_type,
        )
        assert event.request_id == response["X-Request-ID"]
        if who in INSIDE:
            assert response.status_code == entry.expect[who], response.content[:500]
            assert event.outcome == AccessEvent.Outcome.ALLOWED
        else:
            assert response.status_code == 404
            assert event.outcome == AccessEvent.Outcome.DENIED


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_unknown_reference_is_the_same_404(name: str, family: Any) -> None:
    entry = MATRIX[name]
    case = CaseFactory(family=family, status=entry.status)
    Intake.objects.create(case=case)
    extra = entry.kwargs(case)
    client = login(Client(), family)
    response = _call(client, name, entry, "OSO-ZZZZ-ZZZZ", extra)
    assert response.status_code == 404
    event = AccessEvent.objects.latest("pk")
    assert (event.case, event.outcome) == (None, AccessEvent.Outcome.DENIED)


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_anonymous_is_sent_to_sign_in(name: str, family: Any) -> None:
    entry = MATRIX[name]
    case = CaseFactory(family=family, status=entry.status)
    Intake.objects.create(case=case)
    response = _call(Client(), name, entry, case.reference, entry.kwargs(case))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_physician_needs_a_verified_email(physician: Any, family: Any) -> None:
    from allauth.account.models import EmailAddress

    case = CaseFactory(family=family, physician_email=physician.email)
    EmailAddress.objects.filter(user=physician).update(verified=False)
    response = login(Client(), physician).get(reverse("case_detail", args=[case.reference]))
    assert response.status_code == 404


def test_physician_email_matches_regardless_of_case(physician: Any, family: Any) -> None:
    case = CaseFactory(family=family, physician_email="Physician@Example.COM")
    response = login(Client(), physician).get(reverse("case_detail", args=[case.reference]))
    assert response.status_code == 200


def test_a_case_url_never_carries_the_database_id(family: Any) -> None:
    case = CaseFactory(family=family)
    url = reverse("case_detail", args=[case.reference])
    assert case.reference in url and f"/{case.pk}/" not in url


def test_specialists_never_get_a_file_that_has_not_scanned_clean(
    family: Any, specialist: Any, coordinator: Any
) -> None:
    case = CaseFactory(family=family, assigned_specialist=specialist)
    uid = matrix_record(case)["record_uid"]
    url = reverse("record_download", args=[case.reference, uid])
    for scan, specialist_status, family_status in [
        (Record.Scan.PENDING, 404, 200),
        (Record.Scan.ERROR, 404, 200),
        (Record.Scan.INFECTED, 404, 404),
        (Record.Scan.CLEAN, 200, 200),
    ]:
        Record.objects.filter(uid=uid).update(scan_status=scan)
        for person, expected in [(specialist, specialist_status), (family, family_status)]:
            response = login(Client(), person).get(url)
            close_file(response)
            assert response.status_code == expected, (scan, person)
    Record.objects.filter(uid=uid).update(scan_status=Record.Scan.INFECTED)
    assert login(Client(), coordinator).get(url).status_code == 404  # quarantined for everyone


def test_the_gate_remembers_only_whom_it_let_through(family: Any, other_family: Any) -> None:
    """The case object the gate hands out answers can_see_case for that user without asking
    the database again, and for anybody else still asks (and says no)."""
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    from cases.access import can_see_case, case_for_user

    case = CaseFactory(family=family)
    request = RequestFactory().get("/")
    request.user = family
    request.session = {}  # type: ignore[assignment]
    gated = case_for_user(request, case.reference)
    with CaptureQueriesContext(connection) as ctx:
        assert can_see_case(family, gated)
    assert len(ctx.captured_queries) == 0
    assert not can_see_case(other_family, gated)
    assert can_see_case(family, Case.objects.get(pk=case.pk))  # a fresh object asks again
