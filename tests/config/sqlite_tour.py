"""Every role's pages of every demo case, on the database `make run` uses (SQLite).

Run in a child process by tests/config/test_make_run.py after `migrate` and `seed_demo`
with the local settings, because the test suite itself runs on PostgreSQL: a query only
PostgreSQL accepts (a limited part of a UNION, say) passes every other test and fails every
page of `make run`. Prints one JSON list of the requests that did not answer as expected.
"""

import json
import traceback

from django.test import Client
from django.urls import reverse

from accounts.models import Role, User
from cases.models import Case, Status
from tests.conftest import login


def _get(client: Client, path: str, expected: tuple[int, ...], found: list[dict]) -> None:
    try:
        status = client.get(path, HTTP_HOST="127.0.0.1").status_code
    except Exception:  # every failure is reported, with its traceback
        found.append({"path": path, "error": traceback.format_exc()[-1500:]})
        return
    if status not in expected:
        found.append({"path": path, "status": status})


def tour() -> list[dict]:
    found: list[dict] = []
    coordinator = User.objects.filter(role=Role.COORDINATOR, is_active=True).first()
    assert coordinator is not None, "seed_demo made no coordinator"
    console = login(Client(), coordinator)
    _get(console, reverse("admin:index"), (200,), found)
    _get(console, reverse("admin:cases_case_changelist"), (200,), found)
    cases = list(Case.objects.select_related("family", "assigned_specialist").order_by("pk"))
    assert cases, "seed_demo made no cases"
    physicians = {user.email.lower(): user for user in User.objects.filter(role=Role.PHYSICIAN)}
    for case in cases:
        _get(console, reverse("admin:cases_case_change", args=[case.pk]), (200,), found)
        if case.family is not None and case.status != Status.DRAFT:
            family = login(Client(), case.family)
            _get(family, reverse("case_detail", args=[case.reference]), (200,), found)
            _get(family, reverse("case_messages", args=[case.reference]), (200,), found)
        physician = physicians.get((case.physician_email or "").lower())
        if physician is not None and case.status != Status.DRAFT:
            # A physician who has not verified this address sees no case: 404, not an error.
            _get(
                login(Client(), physician),
                reverse("case_detail", args=[case.reference]),
                (200, 404),
                found,
            )
        if case.assigned_specialist is not None:
            specialist = login(Client(), case.assigned_specialist)
            _get(specialist, reverse("workspace"), (200,), found)
            _get(specialist, reverse("workspace_case", args=[case.reference]), (200,), found)
    return found


def main() -> None:
    print(json.dumps(tour()))
