"""Builders the console queue's tests share (tests/cases/test_admin_console.py,
test_console_queue.py and the browser's test_console.py)."""

from datetime import timedelta
from typing import Any

from django.utils import timezone

from cases.clock import BusinessCalendar
from cases.models import Case
from intake.models import Intake


def intake_for(case: Case, first: str = "Maria", last: str = "Lopez", **kwargs: Any) -> Intake:
    """The case's intake with the child's name (copied onto the case by ``Intake.save``)."""
    born = timezone.localdate() - timedelta(days=365 * 7 + 10)
    return Intake.objects.create(
        case=case,
        child_legal_first_name=first,
        child_legal_last_name=last,
        child_date_of_birth=born,
        residence_id="CA",
        **kwargs,
    )


def due_for(kind: str) -> Any:
    """A due date that puts a running clock in the risk band ``kind``: overdue, at_risk or
    anything else (on track)."""
    now = timezone.now()
    if kind == "overdue":
        return now - timedelta(days=1)
    if kind == "at_risk":
        return BusinessCalendar().close_of_business(now + timedelta(minutes=1))
    return now + timedelta(days=40)


def rows_of(response: Any) -> list[Case]:
    """The cases of a queue page, in its order."""
    assert response.status_code == 200
    return list(response.context["cl"].result_list)
