"""Queries per request of the busiest pages: a fixed budget each, the same at two data sizes.

A page whose count grows with the family's cases, the case's records or messages, or the
audit log would pass a single-size test; each budget is checked with few and with many rows.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from billing.models import CaseBilling
from cases.models import AccessEvent, Case, CaseMember, CaseMessage, Status
from intake.models import Intake, Question, Record
from reports.services import report_draft_for
from tests.cases.budgets import BUDGETS, GOALS
from tests.conftest import _person, login
from tests.factories import specialty
from tests.services import need_redis

pytestmark = pytest.mark.django_db


def _case(family: User, n: int, *, status: str = Status.IN_REVIEW, **fields: Any) -> Case:
    now = timezone.now()
    case = Case.objects.create(
        family=family,
        created_by=family,
        status=status,
        specialty=specialty(),
        physician_email="physician@example.com",
        submitted_at=now - timedelta(days=3, minutes=n),
        due_at=now + timedelta(days=n % 20 - 5),
        **fields,
    )
    Intake.objects.create(
        case=case,
        child_legal_first_name=f"Robin{n}",
        child_legal_last_name="Budget",
        residence_id="CA",
    )
    CaseBilling.objects.create(case=case, state=CaseBilling.State.PAID)  # as at submission
    return case


def _grow(case: Case, family: User, n: int) -> None:
    """Questions, clean records, messages and audit rows on ``case``: ``n`` more each."""
    asked = case.questions.count()
    Question.objects.bulk_create(
        Question(case=case, position=i + 1, text=f"Question {i}?", asked_by=family)
        for i in range(asked, min(asked + n, Question.MAX_PER_CASE))
    )
    have = case.records.count()
    Record.objects.bulk_create(
        Record(
            case=case,
            kind=Record.Kind.CLINICAL_NOTES,
            description=f"Letter {i}",
            original_name=f"letter{i}.pdf",
            file=f"records/budget{case.pk:08d}{i:024d}",
            size=1000 + i,
            sha256=f"{case.pk:032x}{i:032x}",
            content_type="application/pdf",
            detected_kind="pdf",
            state=Record.State.AVAILABLE,
            scan_status=Record.Scan.CLEAN,
            uploaded_by=family,
        )
        for i in range(have, have + n)
    )
    CaseMessage.objects.bulk_create(
        CaseMessage(case=case, author=family, body=f"Message {i}") for i in range(n)
    )
    AccessEvent.objects.bulk_create(
        AccessEvent(case=case, user=family, object_type="case", action="view", outcome="allowed")
        for _ in range(n)
    )


def _world(family: User, specialist: User, cases: int, rows: int) -> Case:
    """``cases`` cases of ``family`` (and one it is invited onto), each with ``rows`` rows of
    everything; returns the first, assigned to ``specialist`` and with a draft report."""
    other = User.objects.filter(email="family2@example.com").first() or _person(
        "family2@example.com", "family"
    )
    EmailAddress.objects.get_or_create(
        user=family, email=family.email, defaults={"verified": True, "primary": True}
    )
    invited = _case(other, 999)
    CaseMember.objects.create(
        case=invited, role=CaseMember.Role.GUARDIAN, email=family.email, invited_by=other
    )
    first = None
    for n in range(cases):
        case = _case(family, n, assigned_specialist=specialist, assigned_at=timezone.now())
        _grow(case, family, rows)
        CaseMember.objects.create(
            case=case, role=CaseMember.Role.GUARDIAN, email=f"g{n}@example.com", invited_by=family
        )
        first = first or case
    assert first is not None
    report_draft_for(case=first, by=specialist)
    return first


def _count(client: Client, url: str) -> tuple[int, list[str]]:
    client.get(url)  # a first request may store the session's or the policy's rows
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response
    return len(captured), [q["sql"] for q in captured.captured_queries]


PAGES: dict[str, Callable[[Case], str]] = {
    "family-dashboard": lambda case: reverse("dashboard"),
    "family-case": lambda case: reverse("case_detail", args=[case.reference]),
    "specialist-case": lambda case: reverse("workspace_case", args=[case.reference]),
    "workspace": lambda case: reverse("workspace"),
    "console-queue": lambda case: reverse("admin:cases_case_changelist"),
    "console-case": lambda case: reverse("admin:cases_case_change", args=[case.pk]),
}
WHO = {
    "family-dashboard": "family",
    "family-case": "family",
    "specialist-case": "specialist",
    "workspace": "specialist",
    "console-queue": "coordinator",
    "console-case": "coordinator",
}


@pytest.mark.parametrize("page", list(PAGES))
def test_page_stays_within_its_query_budget_at_two_sizes(
    page: str, family: User, specialist: User, coordinator: User, client: Client
) -> None:
    # The budgets count production's session store, read from Redis (config/settings/base.py).
    need_redis()
    user = {"family": family, "specialist": specialist, "coordinator": coordinator}[WHO[page]]
    login(client, user)
    case = _world(family, specialist, cases=2, rows=2)
    small, _ = _count(client, PAGES[page](case))
    for n in range(2, 12):
        _grow(_case(family, 100 + n, assigned_specialist=specialist), family, 8)
    _grow(case, family, 8)
    views_before = AccessEvent.objects.filter(case=case, user=user, action="view").count()
    large, sql = _count(client, PAGES[page](case))
    assert large == small, "\n".join(sql)
    assert large == BUDGETS[page], f"{page}: {large} queries\n" + "\n".join(sql)
    if page in ("family-case", "specialist-case"):
        # Lean, but each view of the case still leaves its one audit row (two requests).
        views = AccessEvent.objects.filter(case=case, user=user, action="view").count()
        assert views == views_before + 2
        assert sum(q.startswith('INSERT INTO "cases_accessevent"') for q in sql) == 1


def test_every_page_is_within_its_goal() -> None:
    assert BUDGETS.keys() == GOALS.keys()
    over = {page: (BUDGETS[page], GOALS[page]) for page in BUDGETS if BUDGETS[page] > GOALS[page]}
    assert not over, over
