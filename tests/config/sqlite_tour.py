"""Every role's pages of every demo case, on the database `make run` uses (SQLite).

Run in a child process by tests/config/test_make_run.py after `migrate` and `seed_demo`
with the local settings, because the test suite itself runs on PostgreSQL: a query only
PostgreSQL accepts (a limited part of a UNION, say) passes every other test and fails every
page of `make run`. Prints, as JSON, the requests that did not answer as expected and how
many pages each kind of person was shown.
"""

import json
import traceback
from collections import Counter

from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from accounts.models import Role, User
from cases.models import Case, Status
from tests.conftest import login


class Tour:
    def __init__(self) -> None:
        self.failed: list[dict] = []
        self.visited: Counter[str] = Counter()

    def get(self, who: str, client: Client, path: str, expected: tuple[int, ...] = (200,)) -> None:
        self.visited[who] += 1
        try:
            status = client.get(path, HTTP_HOST="127.0.0.1").status_code
        except Exception:  # every failure is reported, with its traceback
            self.failed.append({"path": path, "error": traceback.format_exc()[-1500:]})
            return
        if status not in expected:
            self.failed.append({"path": path, "status": status})


def tour() -> Tour:
    seen = Tour()
    coordinator = User.objects.filter(role=Role.COORDINATOR, is_active=True).first()
    assert coordinator is not None, "seed_demo made no coordinator"
    console = login(Client(), coordinator)
    seen.get("coordinator", console, reverse("admin:index"))
    queue = reverse("admin:cases_case_changelist")
    seen.get("coordinator", console, queue)
    named = Case.objects.exclude(child_first_name="").order_by("pk").first()
    assert named is not None, "seed_demo named no child"
    for term in (named.child_first_name[:3], named.child_last_name, named.reference):
        seen.get("coordinator", console, f"{queue}?q={term}")  # the queue's searches
    cases = list(Case.objects.select_related("family", "assigned_specialist").order_by("pk"))
    assert cases, "seed_demo made no cases"
    physicians = {user.email.lower(): user for user in User.objects.filter(role=Role.PHYSICIAN)}
    for case in cases:
        seen.get("coordinator", console, reverse("admin:cases_case_change", args=[case.pk]))
        if case.family is not None and case.status != Status.DRAFT:
            family = login(Client(), case.family)
            seen.get("family", family, reverse("case_detail", args=[case.reference]))
            seen.get("family", family, reverse("case_messages", args=[case.reference]))
        physician = physicians.get((case.physician_email or "").lower())
        if physician is not None and case.status != Status.DRAFT:
            # Named on the case by a verified address: they see it (unverified: the gate's 404).
            verified = EmailAddress.objects.filter(
                user=physician, email__iexact=case.physician_email, verified=True
            ).exists()
            seen.get(
                "physician",
                login(Client(), physician),
                reverse("case_detail", args=[case.reference]),
                (200,) if verified else (404,),
            )
        if case.assigned_specialist is not None:
            specialist = login(Client(), case.assigned_specialist)
            seen.get("specialist", specialist, reverse("workspace"))
            seen.get("specialist", specialist, reverse("workspace_case", args=[case.reference]))
    return seen


def main() -> None:
    seen = tour()
    print(json.dumps({"failed": seen.failed, "visited": dict(seen.visited)}))
