"""The access-gate matrix: every case-scoped URL, for every persona.

The list of case-scoped URLs is discovered from the URL resolver (every pattern that takes
a ``reference``). A new case-scoped URL without an entry in MATRIX fails
``test_every_case_scoped_url_is_in_the_matrix``, so nobody can add one unchecked.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from cases.models import AccessEvent, Case
from tests.conftest import login
from tests.factories import CaseFactory


def _case_scoped_url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns: list[Any], prefix: str = "") -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{p.namespace}:" if p.namespace else ""
                walk(p.url_patterns, prefix + ns)
            elif isinstance(p, URLPattern) and "reference" in p.pattern.regex.groupindex:
                names.add(prefix + (p.name or repr(p)))

    walk(get_resolver().url_patterns)
    return names


@dataclass
class Entry:
    """How to call one case-scoped URL; ``more_kwargs`` builds further URL kwargs from the case."""

    method: str = "get"
    ok_status: int = 200
    object_type: str = "case"
    action: str = "view"
    more_kwargs: Callable[[Case], dict[str, Any]] = field(default=lambda case: {})
    data: dict[str, Any] = field(default_factory=dict)


MATRIX: dict[str, Entry] = {
    "case_detail": Entry(),
}

# Who should get in, for a case owned by `family`, naming `physician`, assigned to `specialist`.
ALLOWED = {"family", "physician", "coordinator", "specialist"}
DENIED = {"other_family", "other_physician", "other_specialist"}


def test_every_case_scoped_url_is_in_the_matrix() -> None:
    assert _case_scoped_url_names() == set(MATRIX)


@pytest.fixture
def people(
    family: Any,
    other_family: Any,
    physician: Any,
    other_physician: Any,
    coordinator: Any,
    specialist: Any,
    other_specialist: Any,
) -> dict[str, Any]:
    return {
        "family": family,
        "other_family": other_family,
        "physician": physician,
        "other_physician": other_physician,
        "coordinator": coordinator,
        "specialist": specialist,
        "other_specialist": other_specialist,
    }


def _call(client: Client, name: str, entry: Entry, reference: str, case: Case | None) -> Any:
    kwargs = {"reference": reference, **(entry.more_kwargs(case) if case else {})}
    url = reverse(name, kwargs=kwargs)
    return getattr(client, entry.method)(url, entry.data)


@pytest.mark.parametrize("name", sorted(MATRIX))
@pytest.mark.parametrize("who", sorted(ALLOWED | DENIED))
def test_matrix(name: str, who: str, people: dict[str, Any]) -> None:
    entry = MATRIX[name]
    case = CaseFactory(
        family=people["family"],
        physician_email=people["physician"].email,
        assigned_specialist=people["specialist"],
    )
    client = login(Client(), people[who])
    response = _call(client, name, entry, case.reference, case)
    event = AccessEvent.objects.latest("pk")
    assert event.user == people[who]
    assert event.case == case
    assert event.object_type == entry.object_type
    assert event.request_id == response["X-Request-ID"]
    if who in ALLOWED:
        assert response.status_code == entry.ok_status
        assert event.outcome == AccessEvent.Outcome.ALLOWED
    else:
        assert response.status_code == 404
        assert event.outcome == AccessEvent.Outcome.DENIED


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_unknown_reference_is_the_same_404(name: str, family: Any) -> None:
    client = login(Client(), family)
    response = _call(client, name, MATRIX[name], "OSO-ZZZZ-ZZZZ", None)
    assert response.status_code == 404
    event = AccessEvent.objects.latest("pk")
    assert (event.case, event.object_id, event.outcome) == (
        None,
        "OSO-ZZZZ-ZZZZ",
        AccessEvent.Outcome.DENIED,
    )


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_anonymous_is_sent_to_sign_in(name: str, family: Any) -> None:
    case = CaseFactory(family=family)
    response = _call(Client(), name, MATRIX[name], case.reference, case)
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
