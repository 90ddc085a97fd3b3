"""What the audit log says about a case, for tests that check a refusal was recorded."""

from typing import Any

from cases.models import AccessEvent, Case


def refusals(case: Case) -> list[tuple[Any, str, str]]:
    """The case's denied accesses, oldest first: (user id, action, object type)."""
    return list(
        AccessEvent.objects.filter(case=case, outcome=AccessEvent.Outcome.DENIED)
        .order_by("pk")
        .values_list("user", "action", "object_type")
    )
