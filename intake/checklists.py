"""What records usually help, by specialty: shown on the records step as a checklist."""

from accounts.models import Specialty

GENERAL = [
    "Recent clinic notes from the physicians treating your child",
    "Discharge summaries from any hospital stays",
    "Recent lab results",
    "A list of current medicines",
]


def checklist_for(specialty: Specialty | None) -> list[str]:
    """The specialty's own items (admin-editable, Specialty.records_checklist), then GENERAL."""
    return specialty.records_checklist_items + GENERAL if specialty else GENERAL
