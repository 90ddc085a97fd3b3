"""The demo scenario that needs more than one app: requests submitted through the request
form (intake) and then moved along the coordinator's lifecycle (cases). ``seed_demo``
strings it together with each app's own demo steps."""

from accounts.models import User
from cases import services as case_services
from cases.demo import demo_case_assign
from cases.models import Case
from intake.demo import demo_free_request_submit
from intake.models import Intake


def demo_lifecycle_ensure(people: dict[str, User]) -> list[Case]:
    """Requests spread over the coordinator's lifecycle, for both demo families: in triage,
    waiting for records, waiting for the family's confirmation, assigned (on track, at risk,
    overdue) and on hold."""
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
        cases = {name: demo_free_request_submit(family, name) for name in names}
        for name, case in cases.items():
            specialist = specialists[len(made) % 2]
            if name == "Ava":
                case = case_services.triage_take(case=case, by=coordinator)
            elif name == "Leo":
                case = case_services.triage_take(case=case, by=coordinator)
                case_services.record_request_create(
                    case=case,
                    by=coordinator,
                    what="Echocardiogram images on CD",
                    requested_from="family",
                    by_mail=True,
                )
            elif name == "Mia":
                case = case_services.triage_take(case=case, by=coordinator)
                case = case_services.proposal_make(case=case, by=coordinator, specialist=specialist)
            elif name in ("Eli", "Zoe"):
                case = demo_case_assign(case, coordinator, specialist, family)
            elif name == "Max":
                case = demo_case_assign(case, coordinator, specialist, family, clock="at_risk")
            elif name == "Ivy":
                case = demo_case_assign(case, coordinator, specialist, family, clock="overdue")
            elif name == "Ian":
                case = demo_case_assign(case, coordinator, specialist, family)
                case_services.hold_start(
                    case=case, by=coordinator, reason="Waiting for the physician's notes"
                )
            made.append(case)
    return made
