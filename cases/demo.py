"""Demo requests spread over the coordinator's lifecycle for ``seed_demo``: in triage,
waiting for records, waiting for the family's confirmation, assigned (on track, at risk,
overdue) and on hold, for both demo families. Built through the same services as the
console, so the timeline, emails and due dates are real."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import User

from . import services
from .models import Case


def _submitted(family: User, first: str) -> Case:
    from intake.demo import CHILDREN, demo_request_submit

    # Free (cardiac surgery): the lifecycle demo needs no card; billing's demo shows payments.
    return demo_request_submit(
        family=family,
        child=CHILDREN[family.email],
        first=first,
        specialty="cardiac-surgery",
        with_card=False,
    )


def _assigned(
    case: Case, coordinator: User, specialist: User, family: User, clock: str = "on_track"
) -> Case:
    from .clock import BusinessCalendar, clock_state
    from .models import TurnaroundPolicy

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


def demo_lifecycle_ensure(people: dict[str, User]) -> list[Case]:
    from intake.models import Intake

    coordinator = people["coordinator@example.com"]
    specialists = [people["specialist@example.com"], people["specialist2@example.com"]]
    made: list[Case] = []
    plan = {
        "family@example.com": ["Ava", "Leo", "Mia", "Eli", "Ian"],
        "family2@example.com": ["Zoe", "Max", "Ivy"],
    }
    for email, names in plan.items():
        family = people[email]
        if Intake.objects.filter(case__family=family, child_legal_first_name=names[0]).exists():
            continue  # already seeded
        cases = {name: _submitted(family, name) for name in names}
        for name, case in cases.items():
            specialist = specialists[len(made) % 2]
            if name == "Ava":
                case = services.triage_take(case=case, by=coordinator)
            elif name == "Leo":
                case = services.triage_take(case=case, by=coordinator)
                services.record_request_create(
                    case=case,
                    by=coordinator,
                    what="Echocardiogram images on CD",
                    requested_from="family",
                    by_mail=True,
                )
            elif name == "Mia":
                case = services.triage_take(case=case, by=coordinator)
                case = services.proposal_make(case=case, by=coordinator, specialist=specialist)
            elif name in ("Eli", "Zoe"):
                case = _assigned(case, coordinator, specialist, family)
            elif name == "Max":
                case = _assigned(case, coordinator, specialist, family, clock="at_risk")
            elif name == "Ivy":
                case = _assigned(case, coordinator, specialist, family, clock="overdue")
            elif name == "Ian":
                case = _assigned(case, coordinator, specialist, family)
                services.hold_start(
                    case=case, by=coordinator, reason="Waiting for the physician's notes"
                )
            made.append(case)
    return made
