"""The case-scoped billing URLs behind the access gate, as tests/cases/test_access_matrix.py
checks every case-scoped URL: outsiders get 404 and a refused audit row; insiders get the
answer for their role (only the family pays or removes the card: others 404). In the
status used here there is nothing to pay and no card, so no Stripe call is made."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from cases.models import AccessEvent, Status
from intake.models import Intake
from tests.conftest import login
from tests.factories import CaseFactory

INSIDE = {"family": 302, "physician": 404, "coordinator": 404, "specialist": 404}
OUTSIDE = ("other_family", "other_physician", "other_specialist")
URLS = {"billing:pay": ("get", "payment"), "billing:card_remove": ("post", "card")}


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


@pytest.mark.parametrize("name", sorted(URLS))
@pytest.mark.parametrize("who", [*INSIDE, *OUTSIDE])
def test_gate(name: str, who: str, people: dict[str, Any]) -> None:
    method, object_type = URLS[name]
    case = CaseFactory(
        status=Status.SUBMITTED,
        family=people["family"],
        physician_email=people["physician"].email,
        assigned_specialist=people["specialist"],
    )
    Intake.objects.create(case=case)
    client = login(Client(), people[who])
    before = AccessEvent.objects.count()
    response = getattr(client, method)(reverse(name, args=[case.reference]))
    event = AccessEvent.objects.order_by("pk")[before:][0]
    assert (event.user, event.case, event.object_type) == (people[who], case, object_type)
    if who in INSIDE:
        assert response.status_code == INSIDE[who]
        assert event.outcome == AccessEvent.Outcome.ALLOWED
    else:
        assert response.status_code == 404
        assert event.outcome == AccessEvent.Outcome.DENIED


@pytest.mark.parametrize("name", sorted(URLS))
def test_unknown_reference_and_anonymous(name: str, family: Any) -> None:
    method, _ = URLS[name]
    response = getattr(login(Client(), family), method)(reverse(name, args=["OSO-ZZZZ-ZZZZ"]))
    assert response.status_code == 404
    case = CaseFactory(family=family)
    anonymous = getattr(Client(), method)(reverse(name, args=[case.reference]))
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("account_login"))
