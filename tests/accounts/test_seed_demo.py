from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import Role, User
from tests.conftest import totp_now


@pytest.fixture(autouse=True)
def _without_stripe(settings: Any) -> None:
    # The demo without Stripe, whatever the environment says; tests/billing/test_demo.py
    # runs it with localstripe.
    settings.STRIPE_SECRET_KEY = ""


def test_seed_demo_is_idempotent_and_staff_can_sign_in_with_the_demo_totp() -> None:
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    roles = dict(User.objects.values_list("email", "role"))
    assert roles == {
        "family@example.com": Role.FAMILY,
        "family2@example.com": Role.FAMILY,
        "physician@example.com": Role.PHYSICIAN,
        "coordinator@example.com": Role.COORDINATOR,
        "specialist@example.com": Role.SPECIALIST,
        "specialist2@example.com": Role.SPECIALIST,
        # One for every specialty a family can choose (accounts.demo.DEMO_MORE_SPECIALISTS).
        "specialist3@example.com": Role.SPECIALIST,
        "specialist4@example.com": Role.SPECIALIST,
        "specialist5@example.com": Role.SPECIALIST,
        "specialist6@example.com": Role.SPECIALIST,
    }
    client = Client()
    response = client.post(
        f"{reverse('account_login')}?next=/admin/",
        {"login": "coordinator@example.com", "password": "SecondOpinion-demo-2026"},
    )
    assert response["Location"] == reverse("mfa_authenticate")
    out = StringIO()
    call_command("demo_totp", stdout=out)
    assert out.getvalue().strip() == totp_now()
    response = client.post(reverse("mfa_authenticate"), {"code": out.getvalue().strip()})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_demo_families_sign_in_without_a_second_factor() -> None:
    call_command("seed_demo", stdout=StringIO())
    client = Client()
    response = client.post(
        reverse("account_login"),
        {"login": "family@example.com", "password": "SecondOpinion-demo-2026"},
    )
    assert response["Location"] == reverse("dashboard")


def test_seed_demo_adds_a_draft_and_a_submitted_request_per_family() -> None:
    from cases.access import cases_visible_to
    from cases.models import Case, Status

    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())  # idempotent: no second set
    # The intake demo: a draft and a submitted request per family (the lifecycle and billing
    # demos add more; tests/cases/test_demo.py and tests/billing/test_demo.py check those).
    for email, draft_child, submitted_child in [
        ("family@example.com", "Mateo", "Sofia"),
        ("family2@example.com", "Emma", "Noah"),
    ]:
        cases = Case.objects.filter(family__email=email)
        assert cases.get(intake__child_legal_first_name=draft_child).status == Status.DRAFT
        submitted = cases.get(intake__child_legal_first_name=submitted_child)
        assert submitted.status == Status.SUBMITTED
        assert submitted.questions.count() == 3
        assert submitted.records.filter(state="available").count() == 2
    # Without Stripe here, family@'s paid request is not made; the free one always is.
    assert Case.objects.filter(
        family__email="family@example.com",
        specialty__slug="cardiac-surgery",
        billing__fee_cents=0,
    ).exists()
    physician = User.objects.get(email="physician@example.com")
    visible = cases_visible_to(physician)
    assert set(visible.values_list("family__email", flat=True)) == {"family@example.com"}
