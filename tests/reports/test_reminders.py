"""One reminder to the physician who has not opened the report 5 business days after
delivery (``reports.services.physician_reminders_send``, the hourly beat task)."""

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from accounts.models import User
from cases.models import Case, Status, TimelineEvent
from core.models import OutboundEmail
from reports import services
from reports.models import Report
from reports.tasks import physician_reminders
from tests.factories import CaseFactory
from tests.reports.matrix_reports import delivered_report
from tests.services import need_postgres

PACIFIC = ZoneInfo("America/Los_Angeles")
# Wednesday before Thanksgiving (Thursday 2026-11-26, a federal holiday).
DELIVERED = datetime(2026, 11, 25, 10, 0, tzinfo=PACIFIC)
# Fri 27, Mon 30, Tue 1 and part of Wed 2, after part of Wed 25: 4 business days, though
# 5 weekdays if Thanksgiving were counted.
FOUR_DAYS = datetime(2026, 12, 2, 9, 30, tzinfo=PACIFIC)
FIVE_DAYS = datetime(2026, 12, 3, 12, 0, tzinfo=PACIFIC)


@pytest.fixture
def report(family: User, specialist: User, physician: User) -> Report:
    case = CaseFactory(
        family=family,
        assigned_specialist=specialist,
        physician_email=physician.email,
        status=Status.DELIVERED,
    )
    return delivered_report(case, delivered_at=DELIVERED)


def _reminders(case: Case) -> list[tuple[str, str]]:
    return list(
        OutboundEmail.objects.filter(case=case, kind="report_reminder").values_list("to", "kind")
    )


def test_nothing_after_four_business_days(report: Report) -> None:
    with time_machine.travel(FOUR_DAYS, tick=False):
        assert services.physician_reminders_send() == 0
    report.refresh_from_db()
    assert report.physician_reminded_at is None
    assert _reminders(report.case) == []


def test_one_reminder_after_five_business_days(report: Report, physician: User) -> None:
    with time_machine.travel(FIVE_DAYS, tick=False):
        assert physician_reminders.delay().get() == 1
    report.refresh_from_db()
    assert report.physician_reminded_at == FIVE_DAYS
    assert _reminders(report.case) == [(physician.email, "report_reminder")]
    email = OutboundEmail.objects.get(case=report.case, kind="report_reminder")
    assert report.summary not in email.text and report.summary not in email.html
    assert TimelineEvent.objects.filter(
        case=report.case, note="The physician was reminded to read the report."
    ).exists()
    with time_machine.travel(FIVE_DAYS.replace(hour=13), tick=False):
        assert services.physician_reminders_send() == 0
    assert len(_reminders(report.case)) == 1


def test_no_reminder_once_the_physician_opened_it(report: Report, physician: User) -> None:
    assert services.report_opened(report, physician)
    with time_machine.travel(FIVE_DAYS, tick=False):
        assert services.physician_reminders_send() == 0
    assert _reminders(report.case) == []


def test_the_family_opening_it_does_not_count(report: Report, family: User) -> None:
    services.report_opened(report, family)
    with time_machine.travel(FIVE_DAYS, tick=False):
        assert services.physician_reminders_send() == 1


def test_a_replaced_version_is_not_reminded_twice(report: Report, physician: User) -> None:
    delivered_report(report.case, version=2, supersedes=report, delivered_at=DELIVERED)
    with time_machine.travel(FIVE_DAYS, tick=False):
        assert services.physician_reminders_send() == 1
    assert _reminders(report.case) == [(physician.email, "report_reminder")]


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_one_email(report: Report, physician: User) -> None:
    need_postgres()
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def sweep() -> None:
        try:
            barrier.wait(timeout=10)
            counts.append(services.physician_reminders_send(now=FIVE_DAYS))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(counts) == [0, 1]
    assert _reminders(report.case) == [(physician.email, "report_reminder")]
    assert (
        TimelineEvent.objects.filter(case=report.case, note__contains="was reminded").count() == 1
    )


def test_sweeps_in_a_row_send_one_email(report: Report, physician: User) -> None:
    assert services.physician_reminders_send(now=FIVE_DAYS) == 1
    assert services.physician_reminders_send(now=FIVE_DAYS) == 0
    assert len(_reminders(report.case)) == 1
