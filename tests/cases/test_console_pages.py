"""The case page's timeline toggle and the eligibility list's labelled checkboxes."""

import re
from typing import Any

from django.test import Client
from django.urls import reverse

from cases.lifecycle import case_transition
from cases.models import AccessEvent, Status
from intake.models import StateEligibility
from tests.conftest import login
from tests.factories import CaseFactory


def test_the_timeline_can_show_status_changes_only(family: Any, coordinator: Any) -> None:
    case = CaseFactory(family=family, status=Status.SUBMITTED)
    case_transition(case=case, to=Status.IN_TRIAGE, by=coordinator)
    staff = login(Client(), coordinator)
    url = reverse("admin:cases_case_change", args=[case.pk])
    staff.get(url)  # a view: an access row on the timeline

    everything = staff.get(url)
    rows = everything.context["console"]["timeline"]
    assert {row["kind"] for row in rows} >= {"status", "access"}
    assert "Viewed case" in [row["what"] for row in rows if row["kind"] == "access"]
    assert 'href="?timeline=status#case-timeline"' in everything.content.decode()

    before = AccessEvent.objects.count()
    only = staff.get(url, {"timeline": "status"})
    assert only.status_code == 200
    rows = only.context["console"]["timeline"]
    assert [row["kind"] for row in rows] == ["status"]
    assert rows[0]["what"] == "New: to triage → In triage"
    html = only.content.decode()
    assert '<strong aria-current="true">status changes only</strong>' in html
    assert "Viewed case" not in html
    # Still a view of the case: audited like any other.
    assert AccessEvent.objects.count() == before + 1


def test_every_eligibility_checkbox_is_labelled_with_its_state(coordinator: Any) -> None:
    states = StateEligibility.objects.count()
    assert states >= 50  # seeded by the intake migrations
    staff = login(Client(), coordinator)
    response = staff.get(reverse("admin:intake_stateeligibility_changelist"), {"all": ""})
    assert response.status_code == 200
    html = response.content.decode()
    boxes = re.findall(r'<input type="checkbox" name="form-\d+-is_available"[^>]*>', html)
    assert len(boxes) == min(states, 100)
    unlabelled = [box for box in boxes if 'aria-label="Service offered in ' not in box]
    assert unlabelled == []
    assert 'aria-label="Service offered in California"' in html


def test_the_eligibility_list_still_saves(coordinator: Any) -> None:
    state = StateEligibility.objects.get(code="CA")
    staff = login(Client(), coordinator)
    url = reverse("admin:intake_stateeligibility_changelist")
    page = staff.get(url, {"q": "California"})
    forms = page.context["cl"].formset
    assert len(forms.forms) == 1
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-0-code": state.pk,
        "_save": "Save",
    }
    if not state.is_available:
        data["form-0-is_available"] = "on"
    response = staff.post(f"{url}?q=California", data)
    assert response.status_code == 302
    before = state.is_available
    state.refresh_from_db()
    assert state.is_available is (not before)
