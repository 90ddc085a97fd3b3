"""The starting eligibility rules (seeded by migration 0002; admins edit them afterwards)."""

from typing import Any

from localflavor.us.us_states import US_STATES, US_TERRITORIES

POLICY = (
    "Because of state regulations, we are not able to provide online second opinions to "
    "children who live in {name} at this time."
)
CALIFORNIA = (
    "This online service is for children who live outside California. Families in "
    "California are welcome to schedule an in-person appointment instead."
)
NOT_YET = (
    "We currently offer this service only to children who live in the United States "
    "(outside California). We plan to offer it in more places soon."
)
EXCLUDED_BY_POLICY = {"AL", "AK", "ME", "NM", "TN"}


def eligibility_seed(model: Any) -> None:
    """Create the rows that do not exist, never overwriting what an administrator changed.
    ``model`` is the model class (the historical one in migrations)."""
    rows = []
    for code, name in US_STATES:
        name = str(name)
        if code == "CA":
            rows.append((code, name, False, CALIFORNIA, 10))
        elif code in EXCLUDED_BY_POLICY:
            rows.append((code, name, False, POLICY.format(name=name), 10))
        else:
            rows.append((code, name, True, "", 10))
    for code, name in US_TERRITORIES:
        rows.append((code, str(name), False, NOT_YET, 20))
    rows.append(("XX", "Outside the United States", False, NOT_YET, 30))
    for code, name, available, reason, order in rows:
        model.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "is_available": available,
                "reason": reason,
                "sort_order": order,
            },
        )
