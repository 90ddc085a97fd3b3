from io import StringIO
from typing import Any

from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from billing.models import CaseBilling
from cases.models import Case, Status
from tests.conftest import login


def test_seed_demo_with_stripe_gives_family_a_paid_and_a_free_request(stripe_on: str) -> None:
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())  # idempotent
    family_cases = Case.objects.filter(family__email="family@example.com")
    paid = family_cases.get(intake__child_legal_first_name="Diego")
    assert paid.status == Status.ASSIGNED
    billing = CaseBilling.objects.get(case=paid)
    assert (billing.state, billing.paid_cents, billing.card_last4) == ("paid", 87500, "4242")
    free = family_cases.get(intake__child_legal_first_name="Lucia")
    assert free.billing.fee_cents == 0
    waiting = Case.objects.get(family__email="family2@example.com", status=Status.SUBMITTED)
    assert waiting.billing.state == CaseBilling.State.CARD_SAVED
    client = login(Client(), paid.family)
    for name, case in [("receipt_pdf", paid), ("superbill_pdf", paid), ("no_charge_pdf", free)]:
        response = client.get(reverse(name, args=[case.reference]))
        assert response.status_code == 200, name
        assert response["Content-Type"] == "application/pdf"


def test_demo_needs_no_stripe_to_run(settings: Any) -> None:
    settings.STRIPE_SECRET_KEY = ""
    call_command("seed_demo", stdout=StringIO())
    assert not Case.objects.filter(intake__child_legal_first_name="Diego").exists()
