"""The coordinator console's queue: opens on open work, most urgent first, in the
coordinator's words, with the clock's colour as a class the site's CSP lets through."""

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, Status
from tests.cases.queue_helpers import due_for, intake_for, rows_of
from tests.conftest import login
from tests.factories import CaseFactory

S = Status
CHANGELIST = "admin:cases_case_changelist"
CSS = Path(settings.BASE_DIR) / "static" / "css" / "console.css"


@pytest.fixture
def staff(coordinator: Any) -> Client:
    return login(Client(), coordinator)


@pytest.fixture
def mixed(family: Any, specialist: Any) -> dict[str, Case]:
    now = timezone.now()
    made = {
        "draft": CaseFactory(family=family, status=S.DRAFT),
        "closed": CaseFactory(family=family, status=S.CLOSED, submitted_at=now),
        "withdrawn": CaseFactory(family=family, status=S.WITHDRAWN, submitted_at=now),
        "on_track": CaseFactory(
            family=family,
            status=S.IN_REVIEW,
            assigned_specialist=specialist,
            due_at=due_for("on_track"),
            submitted_at=now - timedelta(days=30),
        ),
        "confirm": CaseFactory(
            family=family,
            status=S.AWAITING_FAMILY_CONFIRMATION,
            submitted_at=now - timedelta(days=9),
        ),
        "triage": CaseFactory(
            family=family, status=S.SUBMITTED, submitted_at=now - timedelta(days=2)
        ),
        "at_risk": CaseFactory(
            family=family,
            status=S.ASSIGNED,
            assigned_specialist=specialist,
            due_at=due_for("at_risk"),
            submitted_at=now - timedelta(days=1),
        ),
        "overdue": CaseFactory(
            family=family,
            status=S.IN_REVIEW,
            assigned_specialist=specialist,
            due_at=due_for("overdue"),
            submitted_at=now,
        ),
    }
    for case in made.values():
        intake_for(case, "Ana", "Reyes")
    return made


def test_the_queue_opens_on_open_work_most_urgent_first(
    staff: Client, mixed: dict[str, Case]
) -> None:
    rows = rows_of(staff.get(reverse(CHANGELIST)))
    assert rows == [mixed[n] for n in ("overdue", "at_risk", "confirm", "triage", "on_track")]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"show": "drafts"}, {"draft"}),
        ({"show": "ended"}, {"closed", "withdrawn"}),
        ({"status__exact": "draft"}, {"draft"}),
        ({"status__exact": "closed"}, {"closed"}),
        (
            {"q": "Ana"},
            {"draft", "closed", "withdrawn", "on_track", "confirm", "triage", "at_risk", "overdue"},
        ),
    ],
)
def test_a_filter_brings_drafts_and_ended_cases_back(
    staff: Client, mixed: dict[str, Case], params: dict[str, str], expected: set[str]
) -> None:
    rows = set(rows_of(staff.get(reverse(CHANGELIST), params)))
    assert rows == {mixed[n] for n in expected}


def test_show_all_lists_everything_and_the_sidebar_names_the_default(
    staff: Client, mixed: dict[str, Case]
) -> None:
    response = staff.get(reverse(CHANGELIST), {"show": "all"})
    assert set(rows_of(response)) == set(mixed.values())
    html = response.content.decode()
    assert "Open work (default)" in html
    assert "Closed, declined or withdrawn only" in html


def test_the_risk_colour_is_a_class_not_an_inline_style(
    staff: Client, mixed: dict[str, Case]
) -> None:
    html = staff.get(reverse(CHANGELIST)).content.decode()
    assert '<strong class="risk-at_risk">At risk</strong>' in html
    assert '<strong class="risk-overdue">Overdue</strong>' in html
    assert '<strong class="risk-on_track">On track</strong>' in html
    # The CSP has no 'unsafe-inline' for styles: an inline style would be dropped.
    assert "style=" not in html
    assert "'unsafe-inline'" not in " ".join(settings.SECURE_CSP["style-src"])
    assert 'href="/static/css/console.css"' in html


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_risk_colours_have_enough_contrast_on_the_admin_rows() -> None:
    css = CSS.read_text()
    light = dict(re.findall(r"^\.risk-(\w+) \{ color: (#[0-9a-f]{6}); \}", css, re.M))
    dark = dict(
        re.findall(r'^\[data-theme="dark"\] \.risk-(\w+) \{ color: (#[0-9a-f]{6}); \}', css, re.M)
    )
    assert set(light) == set(dark) == {"overdue", "at_risk", "on_track"}
    for colour in light.values():
        for row in ("#ffffff", "#f8f8f8", "#ffffcc"):  # rows, striped rows, selected rows
            assert _contrast(colour, row) >= 4.5, (colour, row)
    for colour in dark.values():
        for row in ("#121212", "#212121"):
            assert _contrast(colour, row) >= 4.5, (colour, row)


def test_rows_are_escaped_by_the_template(staff: Client, family: Any) -> None:
    case = CaseFactory(family=family, status=S.SUBMITTED)
    intake_for(case, "<b>Bo</b>", "O'Neil & Co")
    html = staff.get(reverse(CHANGELIST)).content.decode()
    assert "&lt;b&gt;Bo&lt;/b&gt; O&#x27;Neil &amp; Co" in html
    assert "<b>Bo</b>" not in html


def test_statuses_in_the_coordinators_words(staff: Client, mixed: dict[str, Case]) -> None:
    html = staff.get(reverse(CHANGELIST)).content.decode()
    assert "Waiting for the family to confirm" in html
    assert "New: to triage" in html
    assert "Waiting for your confirmation" not in html
    page = staff.get(reverse("admin:cases_case_change", args=[mixed["confirm"].pk]))
    assert page.status_code == 200
    assert "Status: <strong>Waiting for the family to confirm</strong>" in page.content.decode()
    dashboard = staff.get(reverse("admin:cases_case_dashboard")).content.decode()
    assert "Waiting for the family to confirm" in dashboard
    assert "Waiting for your confirmation" not in dashboard


# --- choosing a specialist -----------------------------------------------------------------


def _profile(user: Any, *specialties: Any, accepting: bool = True) -> None:
    from accounts.models import SpecialistProfile

    profile = SpecialistProfile.objects.create(
        user=user, title="Attending", accepting_cases=accepting
    )
    profile.specialties.add(*specialties)


def test_nobody_covers_the_specialty_the_others_are_offered_with_a_warning(
    staff: Client, family: Any, specialist: Any, other_specialist: Any
) -> None:
    from tests.factories import specialty

    case = CaseFactory(family=family, status=S.IN_TRIAGE, specialty=specialty("nephrology"))
    _profile(specialist, specialty("neurology"))
    _profile(other_specialist, specialty("neurology"), accepting=False)
    url = reverse("admin:cases_case_transition", args=[case.pk, "propose"])
    response = staff.get(url)
    assert response.status_code == 200
    assert list(response.context["form"].fields["specialist"].queryset) == [specialist]
    html = response.content.decode()
    assert 'id="specialist-warning"' in html
    assert f"No specialist accepting cases covers {case.specialty.name}." in html
    # The warning is advice: the proposal goes through.
    response = staff.post(url, {"specialist": specialist.pk, "note": ""})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == S.AWAITING_FAMILY_CONFIRMATION
    assert case.proposed_specialist == specialist


def test_a_covering_specialist_means_no_warning(
    staff: Client, family: Any, specialist: Any, other_specialist: Any
) -> None:
    case = CaseFactory(family=family, status=S.IN_TRIAGE)
    _profile(specialist, case.specialty)
    _profile(other_specialist)
    response = staff.get(reverse("admin:cases_case_transition", args=[case.pk, "propose"]))
    assert list(response.context["form"].fields["specialist"].queryset) == [specialist]
    assert 'id="specialist-warning"' not in response.content.decode()


def test_no_specialist_accepting_at_all_says_so(staff: Client, family: Any) -> None:
    case = CaseFactory(family=family, status=S.IN_TRIAGE)
    response = staff.get(reverse("admin:cases_case_transition", args=[case.pk, "propose"]))
    assert response.status_code == 200
    assert "No specialist is accepting cases at the moment" in response.content.decode()


# --- money ----------------------------------------------------------------------------------


def test_money_is_in_dollars_on_the_case_and_billing_pages(
    staff: Client, family: Any, coordinator: Any
) -> None:
    from billing.models import PaymentAttempt, Refund
    from tests.billing.test_documents import make_paid

    case = CaseFactory(family=family, status=S.ASSIGNED)
    make_paid(case, refunded_cents=2550)
    attempt = PaymentAttempt.objects.get(case=case)
    refund = Refund.objects.create(
        case=case, attempt=attempt, amount_cents=2550, reason="Goodwill", created_by=coordinator
    )
    pages = {
        "case": reverse("admin:cases_case_change", args=[case.pk]),
        "billing": reverse("admin:billing_casebilling_change", args=[case.billing.pk]),
        "billing list": reverse("admin:billing_casebilling_changelist"),
        "attempt": reverse("admin:billing_paymentattempt_change", args=[attempt.pk]),
        "attempt list": reverse("admin:billing_paymentattempt_changelist"),
        "refund": reverse("admin:billing_refund_change", args=[refund.pk]),
    }
    for name, url in pages.items():
        response = staff.get(url)
        assert response.status_code == 200, name
        html = response.content.decode()
        assert "cents" not in html.lower(), name
        assert "87500" not in html, name
        assert "$875.00" in html or "$25.50" in html, name
    case_page = staff.get(pages["case"]).content.decode()
    assert "fee $875.00" in case_page
    assert "paid $875.00, refunded $25.50" in case_page


def test_a_case_on_hold_shows_its_clock_paused_never_on_track(
    staff: Client, family: Any, specialist: Any
) -> None:
    held = CaseFactory(
        family=family,
        status=S.ON_HOLD,
        status_before_hold=S.IN_REVIEW,
        assigned_specialist=specialist,
        due_at=due_for("on_track"),
        submitted_at=timezone.now(),
    )
    intake_for(held, "Held", "Case")
    response = staff.get(reverse(CHANGELIST), {"q": held.reference})
    assert response.status_code == 200
    rows = [
        row
        for row in re.findall(r"<tr[^>]*>.*?</tr>", response.content.decode(), re.S)
        if "field-due" in row and held.reference in row
    ]
    assert len(rows) == 1
    assert "clock paused (on hold)" in rows[0]
    assert "days left" not in rows[0] and "On track" not in rows[0]
