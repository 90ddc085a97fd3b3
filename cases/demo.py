"""The coordinator's moves on a demo request, for the demo scenario (``demo.scenario``):
through the same services as the console, so the timeline, emails and due dates are real."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import User

from . import services
from .clock import BusinessCalendar, clock_state
from .models import Case, TurnaroundPolicy


def demo_case_assign(
    case: Case, coordinator: User, specialist: User, family: User, clock: str = "on_track"
) -> Case:
    """Triage, propose, confirm and complete the records of a submitted request; with
    ``clock`` "at_risk" or "overdue", back-date it until its due date shows that."""
    case = services.triage_take(case=case, by=coordinator)
    case = services.proposal_make(case=case, by=coordinator, specialist=specialist)
    case = services.family_confirm(case=case, by=family)
    case = services.records_complete(case=case, by=coordinator)
    if clock == "on_track":
        return case
    # Demo only: move the clock's start back a day at a time until the case shows the wanted
    # risk level (whatever today's date, weekends and holidays).
    calendar, policy, now = BusinessCalendar.from_db(), TurnaroundPolicy.current(), timezone.now()
    for days in range(1, 60):
        started = now - timedelta(days=days)
        Case.objects.filter(pk=case.pk).update(assigned_at=started, records_complete_at=started)
        case.refresh_from_db()
        services._due_refresh(case)
        if case.due_at and clock_state(case.due_at, now, policy=policy, calendar=calendar) == clock:
            break
    return case
