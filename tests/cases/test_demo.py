from io import StringIO
from typing import Any

from django.core.management import call_command
from django.utils import timezone

from cases.clock import BusinessCalendar, clock_state
from cases.models import Case, Status, TurnaroundPolicy


def test_seed_demo_spreads_cases_over_the_lifecycle_and_the_clock(settings: Any) -> None:
    settings.STRIPE_SECRET_KEY = ""  # the lifecycle demo needs no Stripe
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())  # idempotent
    statuses = set(Case.objects.values_list("status", flat=True))
    assert {
        Status.DRAFT,
        Status.SUBMITTED,
        Status.IN_TRIAGE,
        Status.AWAITING_RECORDS,
        Status.AWAITING_FAMILY_CONFIRMATION,
        Status.ASSIGNED,
        Status.ON_HOLD,
    } <= statuses
    calendar, policy, now = BusinessCalendar.from_db(), TurnaroundPolicy.current(), timezone.now()
    states = {
        clock_state(case.due_at, now, policy=policy, calendar=calendar)
        for case in Case.objects.filter(status=Status.ASSIGNED, due_at__isnull=False)
    }
    assert states == {"on_track", "at_risk", "overdue"}
    for email in ["family@example.com", "family2@example.com"]:
        assert Case.objects.filter(family__email=email, status=Status.ASSIGNED).exists()
