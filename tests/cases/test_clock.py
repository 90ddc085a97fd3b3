"""The turnaround clock (``cases.clock``).

Worked examples are counted by hand in the comments. The properties compare the calculator
with the independent slow model in ``tests/cases/clock_reference.py`` over thousands of
random start times in 2025-2029, biased toward daylight saving changes, holidays that fall
on a weekend (observed on the Friday or Monday), year ends, and starts outside business
hours.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.clock import (
    BUSINESS_DAY,
    BusinessCalendar,
    clock_state,
    due_at,
    explain,
    federal_holidays,
    format_pacific,
    format_pacific_date,
)
from cases.models import HospitalClosure, TurnaroundPolicy

from . import clock_reference as ref

# Calendar arithmetic needs no database; the few tests that read closures and the policy
# from it ask for one themselves.
pytestmark = pytest.mark.no_db

LA = ZoneInfo("America/Los_Angeles")
POLICY = TurnaroundPolicy()  # the defaults: 10 business days, +5 for review, at risk at 2
CALENDAR = BusinessCalendar()


def pacific(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LA)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def due(
    records_complete_at: datetime,
    *,
    assigned_at: datetime | None = None,
    review_extension: bool = False,
    holds: list[tuple[datetime, datetime | None]] | None = None,
    calendar: BusinessCalendar = CALENDAR,
    now: datetime | None = None,
) -> datetime | None:
    return due_at(
        assigned_at=assigned_at or records_complete_at - timedelta(days=2),
        records_complete_at=records_complete_at,
        review_extension=review_extension,
        holds=holds or [],
        policy=POLICY,
        calendar=calendar,
        now=now,
    )


def test_policy_defaults_are_the_promise() -> None:
    assert (POLICY.business_days, POLICY.review_extension_days, POLICY.at_risk_days) == (10, 5, 2)


# Holidays and business days.


def test_federal_holidays_are_observed_on_weekdays() -> None:
    h2026, h2027 = federal_holidays(2026), federal_holidays(2027)
    assert date(2026, 7, 3) in h2026  # July 4 2026 is a Saturday: observed Friday July 3
    assert date(2026, 6, 19) in h2026  # Juneteenth
    assert date(2026, 11, 26) in h2026  # Thanksgiving
    assert date(2027, 6, 18) in h2027  # Juneteenth 2027 is a Saturday
    assert date(2027, 7, 5) in h2027  # July 4 2027 is a Sunday: observed Monday July 5
    assert date(2027, 12, 24) in h2027  # Christmas 2027 is a Saturday
    # New Year's Day 2028 is a Saturday: observed Friday December 31 2027, in 2027's list.
    assert date(2027, 12, 31) in h2027
    assert date(2028, 1, 1) in federal_holidays(2028)
    assert date(2027, 12, 31) not in federal_holidays(2028)
    assert date(2028, 11, 10) in federal_holidays(2028)  # Veterans Day on a Saturday
    # Not federal, so business days: the day after Thanksgiving, Christmas Eve 2026, and
    # California's Cesar Chavez Day (a state holiday; no state is asked for).
    for day in (date(2026, 11, 27), date(2026, 12, 24), date(2026, 3, 31)):
        assert day not in h2026
        assert CALENDAR.is_business_day(day)


def test_business_days_match_the_statute_day_by_day_2025_to_2029() -> None:
    day = date(2025, 1, 1)
    off = 0
    while day.year < 2030:
        assert CALENDAR.is_business_day(day) == ref.is_work_day(day), day
        off += day.weekday() < 5 and not ref.is_work_day(day)
        day += timedelta(days=1)
    assert off == 55  # 11 holidays a year, each on (or observed on) a weekday


def test_closures_are_not_business_days() -> None:
    calendar = BusinessCalendar({date(2026, 11, 27)})
    assert not calendar.is_business_day(date(2026, 11, 27))
    assert calendar.next_business_day(date(2026, 11, 25)) == date(2026, 11, 30)
    assert CALENDAR.next_business_day(date(2026, 11, 25)) == date(2026, 11, 27)


@pytest.mark.parametrize(
    ("moment", "starts"),
    [
        (pacific(2026, 11, 25, 10), pacific(2026, 11, 25, 10)),  # inside hours: as is
        (pacific(2026, 11, 25, 7, 45), pacific(2026, 11, 25, 9)),  # early: 9:00 that day
        (pacific(2026, 11, 25, 17), pacific(2026, 11, 27, 9)),  # 17:00 sharp: day is over
        (pacific(2026, 11, 25, 23), pacific(2026, 11, 27, 9)),  # Thanksgiving skipped
        (pacific(2026, 1, 9, 17, 30), pacific(2026, 1, 12, 9)),  # Friday 17:30: Monday
        (pacific(2026, 5, 16, 11), pacific(2026, 5, 18, 9)),  # Saturday: Monday
        (pacific(2026, 1, 16, 18), pacific(2026, 1, 20, 9)),  # Friday before MLK Day
        (pacific(2026, 3, 8, 2, 30), pacific(2026, 3, 9, 9)),  # in the DST gap, a Sunday
        (pacific(2026, 11, 1, 1, 30), pacific(2026, 11, 2, 9)),  # the repeated hour
    ],
)
def test_next_business_start(moment: datetime, starts: datetime) -> None:
    assert CALENDAR.next_business_start(moment) == starts
    assert CALENDAR.next_business_start(moment).tzinfo is UTC


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CALENDAR.next_business_start(datetime(2026, 11, 25, 16))  # noqa: DTZ001
    with pytest.raises(ValueError, match="negative"):
        CALENDAR.add_business_days(pacific(2026, 11, 25, 16), -1)


# "10 business days after": the same business-hour moment, 80 business hours later.


def test_add_business_days_keeps_the_business_hour_moment() -> None:
    # Wed 11-25 16:00 PST: 1 hour left that day; Thanksgiving 11-26 skipped; day 10 after
    # is Thu 12-10 (Fri 27, Mon 30, Tue 1, Wed 2, Thu 3, Fri 4, Mon 7, Tue 8, Wed 9, Thu 10).
    assert CALENDAR.add_business_days(pacific(2026, 11, 25, 16), 10) == pacific(2026, 12, 10, 16)
    # Mon 12-07 9:00 + 10: Monday is day 1, so the time runs out at 17:00 on Friday 12-18
    # (the same business moment as 9:00 Monday 12-21, given as the earlier).
    assert CALENDAR.add_business_days(pacific(2026, 12, 7, 9), 10) == pacific(2026, 12, 18, 17)
    # A Saturday start counts from Monday 9:00 the same way.
    assert CALENDAR.add_business_days(pacific(2026, 12, 5, 12), 10) == pacific(2026, 12, 18, 17)
    assert CALENDAR.add_business_days(pacific(2026, 12, 7, 9), 0) == pacific(2026, 12, 7, 9)


def test_add_business_days_across_the_spring_dst_change() -> None:
    # Fri 2026-03-06 10:00 PST (18:00 UTC) + 10 business days = Fri 03-20 10:00 PDT, which
    # is 17:00 UTC: adding 14 days in UTC would be an hour late.
    start = pacific(2026, 3, 6, 10)
    assert start == utc(2026, 3, 6, 18)
    assert CALENDAR.add_business_days(start, 10) == utc(2026, 3, 20, 17)


def test_business_time_between_is_signed_and_skips_nights_and_holidays() -> None:
    between = CALENDAR.business_time_between
    assert between(pacific(2026, 11, 25, 16), pacific(2026, 11, 27, 10)) == timedelta(hours=2)
    assert between(pacific(2026, 11, 27, 10), pacific(2026, 11, 25, 16)) == -timedelta(hours=2)
    assert between(pacific(2026, 11, 25, 17), pacific(2026, 11, 27, 9)) == timedelta(0)
    assert between(pacific(2026, 11, 25, 16), pacific(2026, 12, 10, 16)) == 10 * BUSINESS_DAY


# Due dates, worked by hand. A due date is close of business on the day the time runs out.


def test_thanksgiving_worked_example() -> None:
    # Assigned Mon 11-23; records complete Wed 2026-11-25 16:00 PST. Ten business days
    # after (see above) is Thu 12-10 at 16:00; due by close of business that day.
    result = due(pacific(2026, 11, 25, 16), assigned_at=pacific(2026, 11, 23, 10))
    assert result == pacific(2026, 12, 10, 17) == utc(2026, 12, 11, 1)
    assert result is not None and result.tzinfo is UTC
    assert format_pacific(result) == "Thursday, December 10, 2026, 5:00 PM Pacific"


def test_thanksgiving_records_complete_before_opening() -> None:
    # Records complete Tue 11-24 at 18:00: the clock starts Wed 11-25 at 9:00, so that
    # whole Wednesday is day 1: Wed 25 (1), Fri 27 (2), Mon 30 (3), Tue 1 (4), Wed 2 (5),
    # Thu 3 (6), Fri 4 (7), Mon 7 (8), Tue 8 (9), Wed 9 (10).
    result = due(pacific(2026, 11, 24, 18))
    assert result is not None
    assert format_pacific(result) == "Wednesday, December 9, 2026, 5:00 PM Pacific"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("closed", "expected"),
    [
        # No closure row: Friday 11-27 is a business day (not a federal holiday).
        (False, pacific(2026, 12, 10, 17)),
        # The hospital enters Friday 11-27 as a closure: one business day later, Fri 12-11.
        (True, pacific(2026, 12, 11, 17)),
    ],
)
def test_thanksgiving_with_and_without_a_closure_on_black_friday(
    closed: bool, expected: datetime
) -> None:
    if closed:
        HospitalClosure.objects.create(date=date(2026, 11, 27), reason="Day after Thanksgiving")
    calendar = BusinessCalendar.from_db()
    assert due(pacific(2026, 11, 25, 16), calendar=calendar) == expected


def test_assigned_after_records_complete_starts_at_assignment() -> None:
    # Records complete Mon 11-23; assigned Wed 11-25 16:00: the later one starts the clock.
    result = due(pacific(2026, 11, 23, 10), assigned_at=pacific(2026, 11, 25, 16))
    assert result == pacific(2026, 12, 10, 17)


def test_friday_evening_start_crossing_mlk_day() -> None:
    # Fri 2026-01-09 17:30: starts Mon 01-12 9:00. Mon 12 (1), Tue 13, Wed 14, Thu 15,
    # Fri 16 (5), Mon 19 is MLK Day, Tue 20 (6), Wed 21, Thu 22, Fri 23 (9), Mon 26 (10).
    assert due(pacific(2026, 1, 9, 17, 30)) == pacific(2026, 1, 26, 17)


def test_saturday_start_crossing_memorial_day() -> None:
    # Sat 2026-05-16: starts Mon 05-18 9:00. Mon 18 (1) .. Fri 22 (5), Mon 25 is Memorial
    # Day, Tue 26 (6) .. Fri 29 (9), Mon 06-01 (10): 17:00 PDT = 00:00 UTC on 06-02.
    assert due(pacific(2026, 5, 16, 11)) == utc(2026, 6, 2, 0)


def test_across_christmas_and_new_year_2026_27() -> None:
    # Mon 2026-12-21 13:00 PST, 4 hours left that day. After it: Tue 22 (1), Wed 23 (2),
    # Thu 24 (3, Christmas Eve is a working day), Fri 25 Christmas, Mon 28 (4), Tue 29 (5),
    # Wed 30 (6), Thu 31 (7), Fri 01-01 New Year, Mon 4 (8), Tue 5 (9), Wed 6 (10).
    assert due(pacific(2026, 12, 21, 13)) == pacific(2027, 1, 6, 17)


def test_across_christmas_and_new_year_2027_28_observed_on_fridays() -> None:
    # Sun 2027-12-19: starts Mon 12-20 9:00. Mon 20 (1), Tue 21, Wed 22, Thu 23 (4),
    # Fri 24 is Christmas observed, Mon 27 (5) .. Thu 30 (8), Fri 31 is New Year's Day 2028
    # observed, Mon 2028-01-03 (9), Tue 01-04 (10).
    assert due(pacific(2027, 12, 19, 15)) == pacific(2028, 1, 4, 17)


def test_independence_day_observed_on_friday_july_3_2026() -> None:
    # Mon 2026-06-22 8:00: starts 9:00. Mon 22 (1) .. Fri 26 (5), Mon 29 (6), Tue 30 (7),
    # Wed 07-01 (8), Thu 07-02 (9), Fri 07-03 observed holiday, Mon 07-06 (10).
    assert due(pacific(2026, 6, 22, 8)) == pacific(2026, 7, 6, 17) == utc(2026, 7, 7, 0)


def test_dst_start_2026_03_08() -> None:
    # Fri 03-06 10:00 PST: 7 hours that day, then Mon 9 (1) .. Fri 20 (10) at 10:00 PDT; due
    # 17:00 PDT Friday 03-20 = 00:00 UTC on 03-21.
    assert due(pacific(2026, 3, 6, 10)) == utc(2026, 3, 21, 0)


def test_dst_end_2026_11_01() -> None:
    # Thu 10-29 14:00 PDT. After it: Fri 30 (1), Mon 11-02 (2) .. Tue 10 (8), Wed 11-11 is
    # Veterans Day, Thu 12 (9), Fri 13 (10) at 14:00 PST; due 17:00 PST = 01:00 UTC 11-14.
    assert due(pacific(2026, 10, 29, 14)) == utc(2026, 11, 14, 1)


def test_review_extension_adds_five_business_days() -> None:
    # Thanksgiving example, 15 business days: after Thu 12-10 (10): Fri 11 (11), Mon 14,
    # Tue 15, Wed 16, Thu 17 (15).
    assert due(pacific(2026, 11, 25, 16), review_extension=True) == pacific(2026, 12, 17, 17)


THREE_DAY_HOLD = (pacific(2026, 11, 30, 12), pacific(2026, 12, 3, 12))


def test_hold_of_three_business_days() -> None:
    # On hold Mon 11-30 12:00 to Thu 12-03 12:00: 5 + 8 + 8 + 3 hours = 3 business days.
    # Thu 12-10 16:00 + 3 business days = Tue 12-15 16:00; due Tue 12-15 17:00.
    assert CALENDAR.business_time_between(*THREE_DAY_HOLD) == 3 * BUSINESS_DAY
    assert due(pacific(2026, 11, 25, 16), holds=[THREE_DAY_HOLD]) == pacific(2026, 12, 15, 17)
    # With the review extension too: Thu 12-17 16:00 + 3 = Tue 12-22.
    both = due(pacific(2026, 11, 25, 16), review_extension=True, holds=[THREE_DAY_HOLD])
    assert both == pacific(2026, 12, 22, 17)


def test_holds_count_once_and_only_after_the_clock_starts() -> None:
    records = pacific(2026, 11, 25, 16)
    before = (pacific(2026, 11, 20, 9), pacific(2026, 11, 24, 17))  # clock not running yet
    assert due(records, holds=[before]) == pacific(2026, 12, 10, 17)
    overlapping = [THREE_DAY_HOLD, (pacific(2026, 12, 1, 9), pacific(2026, 12, 2, 9))]
    assert due(records, holds=overlapping) == pacific(2026, 12, 15, 17)
    weekend = (pacific(2026, 12, 4, 17), pacific(2026, 12, 7, 9))
    assert due(records, holds=[weekend]) == pacific(2026, 12, 10, 17)


def test_hold_straddling_the_moment_time_runs_out() -> None:
    # The time runs out Thu 12-10 at 16:00. On hold Thu 15:00 to Fri 12-11 11:00: 2 + 2
    # business hours, so it runs out Fri 12:00 instead: due Fri 12-11 17:00.
    hold = (pacific(2026, 12, 10, 15), pacific(2026, 12, 11, 11))
    assert due(pacific(2026, 11, 25, 16), holds=[hold]) == pacific(2026, 12, 11, 17)


def test_hold_after_the_time_ran_out_moves_nothing() -> None:
    # The time runs out Thu 12-10 at 16:00; a hold from 16:30 does not excuse the case: still
    # due 17:00 that day, overdue from then on, and no reason given.
    records = pacific(2026, 11, 25, 16)
    late_hold = (pacific(2026, 12, 10, 16, 30), pacific(2026, 12, 14, 12))
    result = due(records, holds=[late_hold])
    assert result == pacific(2026, 12, 10, 17)
    assert clock_state(result, pacific(2026, 12, 11, 9), policy=POLICY, calendar=CALENDAR) == (
        "overdue"
    )
    reasons = explain(
        assigned_at=records,
        records_complete_at=records,
        review_extension=False,
        holds=[late_hold],
        policy=POLICY,
        calendar=CALENDAR,
    )
    assert reasons == []


def test_open_hold_counts_up_to_now() -> None:
    # On hold since Tue 12-01 9:00; now Wed 12-02 13:00: 8 + 4 = 12 business hours so far.
    # Thu 12-10 16:00 + 12 hours: 1 on Thu, 8 on Fri 12-11, 3 on Mon 12-14: due Mon 12-14.
    hold = (pacific(2026, 12, 1, 9), None)
    now = pacific(2026, 12, 2, 13)
    assert due(pacific(2026, 11, 25, 16), holds=[hold], now=now) == pacific(2026, 12, 14, 17)
    later = pacific(2026, 12, 4, 13)  # 2 more business days on hold: due Wed 12-16
    assert due(pacific(2026, 11, 25, 16), holds=[hold], now=later) == pacific(2026, 12, 16, 17)


def test_extend_for_hold_is_exact_business_time() -> None:
    thursday_4pm = pacific(2026, 12, 10, 16)
    assert CALENDAR.extend_for_hold(thursday_4pm, *THREE_DAY_HOLD) == pacific(2026, 12, 15, 16)
    three_hours = (pacific(2026, 12, 1, 9), pacific(2026, 12, 1, 12))
    assert CALENDAR.extend_for_hold(pacific(2026, 12, 10, 17), *three_hours) == pacific(
        2026, 12, 11, 12
    )
    with pytest.raises(ValueError, match="before it starts"):
        CALENDAR.extend_for_hold(thursday_4pm, THREE_DAY_HOLD[1], THREE_DAY_HOLD[0])


def test_no_due_date_until_assigned_and_records_complete() -> None:
    common = {"review_extension": False, "holds": [], "policy": POLICY, "calendar": CALENDAR}
    moment = pacific(2026, 11, 25, 16)
    assert due_at(assigned_at=None, records_complete_at=moment, **common) is None
    assert due_at(assigned_at=moment, records_complete_at=None, **common) is None
    assert explain(assigned_at=moment, records_complete_at=None, **common) == []


# On track, at risk, overdue. Due Wed 2026-12-09 17:00 PST.

DUE = pacific(2026, 12, 9, 17)


@pytest.mark.parametrize(
    ("now", "days_left", "state"),
    [
        (pacific(2026, 12, 4, 16), 4, "on_track"),  # Fri 1h + Mon, Tue, Wed
        (pacific(2026, 12, 4, 17), 3, "on_track"),  # Mon, Tue, Wed
        (pacific(2026, 12, 6, 12), 3, "on_track"),  # Sunday
        (pacific(2026, 12, 7, 9), 3, "on_track"),
        (pacific(2026, 12, 7, 9, 1), 3, "on_track"),  # Monday is still a day with time left
        (pacific(2026, 12, 7, 17), 2, "at_risk"),  # Tue, Wed
        (pacific(2026, 12, 8, 12), 2, "at_risk"),
        (pacific(2026, 12, 9, 9), 1, "at_risk"),
        (pacific(2026, 12, 9, 16, 59), 1, "at_risk"),
        (pacific(2026, 12, 9, 17), 0, "at_risk"),  # the due moment itself is not late
        (pacific(2026, 12, 9, 17, 1), 0, "overdue"),
        (pacific(2026, 12, 10, 12), -1, "overdue"),
        (pacific(2026, 12, 12, 10), -2, "overdue"),  # Thu and Fri have passed
        (pacific(2026, 12, 14, 9, 30), -3, "overdue"),
    ],
)
def test_days_left_and_clock_state(now: datetime, days_left: int, state: str) -> None:
    assert CALENDAR.business_days_between(now, DUE) == days_left
    assert clock_state(DUE, now, policy=POLICY, calendar=CALENDAR) == state


def test_at_risk_threshold_follows_the_policy() -> None:
    strict = TurnaroundPolicy(at_risk_days=3)
    assert clock_state(DUE, pacific(2026, 12, 7, 9), policy=strict, calendar=CALENDAR) == (
        "at_risk"
    )


# Why the date moved.


def test_explain_lists_extension_and_holds() -> None:
    reasons = explain(
        assigned_at=pacific(2026, 11, 23, 10),
        records_complete_at=pacific(2026, 11, 25, 16),
        review_extension=True,
        holds=[THREE_DAY_HOLD, (pacific(2026, 12, 8, 10), pacific(2026, 12, 8, 10, 30))],
        policy=POLICY,
        calendar=CALENDAR,
    )
    assert reasons == [
        "Imaging or pathology review is needed: 5 business days added.",
        "On hold from Monday, November 30, 2026 to Thursday, December 3, 2026: "
        "3 business days added.",
        "On hold on Tuesday, December 8, 2026: 30 business minutes added.",
    ]


def test_explain_an_open_hold_and_nothing_for_weekend_holds() -> None:
    reasons = explain(
        assigned_at=pacific(2026, 11, 23, 10),
        records_complete_at=pacific(2026, 11, 25, 16),
        review_extension=False,
        holds=[
            (pacific(2026, 11, 28, 9), pacific(2026, 11, 29, 20)),  # a weekend: no time
            (pacific(2026, 12, 1, 9), None),
        ],
        policy=POLICY,
        calendar=CALENDAR,
        now=pacific(2026, 12, 2, 13),
    )
    assert reasons == [
        "On hold since Tuesday, December 1, 2026: 1 business day and 4 business hours added "
        "so far, and the date moves on while the hold lasts."
    ]


def test_explain_nothing_moved() -> None:
    reasons = explain(
        assigned_at=pacific(2026, 11, 23, 10),
        records_complete_at=pacific(2026, 11, 25, 16),
        review_extension=False,
        holds=[],
        policy=POLICY,
        calendar=CALENDAR,
    )
    assert reasons == []


# Showing times.


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        (utc(2026, 12, 10, 1), "Wednesday, December 9, 2026, 5:00 PM Pacific"),  # PST
        (utc(2026, 7, 7, 0), "Monday, July 6, 2026, 5:00 PM Pacific"),  # PDT
        (utc(2026, 3, 8, 9, 30), "Sunday, March 8, 2026, 1:30 AM Pacific"),  # PST, then
        (utc(2026, 3, 8, 10, 30), "Sunday, March 8, 2026, 3:30 AM Pacific"),  # PDT
        (utc(2026, 1, 1, 8), "Thursday, January 1, 2026, 12:00 AM Pacific"),
        (utc(2026, 1, 1, 20, 5), "Thursday, January 1, 2026, 12:05 PM Pacific"),
    ],
)
def test_format_pacific(moment: datetime, shown: str) -> None:
    assert format_pacific(moment) == shown
    assert format_pacific_date(moment) == shown.rsplit(", ", 1)[0]


# Queries: one for the closures, one for the policy, however many cases.


def _fifty_cases() -> list[dict]:
    first = pacific(2026, 11, 2, 10)
    return [
        {
            "assigned_at": first + timedelta(hours=5 * i),
            "records_complete_at": first + timedelta(hours=7 * i),
            "review_extension": i % 3 == 0,
            "holds": [(first + timedelta(days=i % 9), first + timedelta(days=i % 9 + 2))],
        }
        for i in range(50)
    ]


def _compute(cases: list[dict]) -> list[tuple[datetime | None, str, list[str]]]:
    calendar = BusinessCalendar.from_db()
    policy = TurnaroundPolicy.current()
    now = pacific(2026, 12, 1, 12)
    results = []
    for case in cases:
        result = due_at(**case, policy=policy, calendar=calendar, now=now)
        assert result is not None
        state = clock_state(result, now, policy=policy, calendar=calendar)
        results.append((result, state, explain(**case, policy=policy, calendar=calendar)))
    return results


@pytest.mark.django_db
def test_fifty_cases_take_a_constant_number_of_queries() -> None:
    TurnaroundPolicy.current()  # the row exists, as in production
    for day in (date(2026, 11, 27), date(2026, 12, 24), date(2026, 12, 31)):
        HospitalClosure.objects.create(date=day, reason="Closed")
    with CaptureQueriesContext(connection) as one:
        _compute(_fifty_cases()[:1])
    with CaptureQueriesContext(connection) as fifty:
        results = _compute(_fifty_cases())
    # The closures are read once (the policy was cached when it was made); then neither.
    assert len(one) == 1 and "cases_hospitalclosure" in one.captured_queries[0]["sql"]
    assert len(fifty) == 0
    assert len(results) == 50


@pytest.mark.django_db
def test_the_cached_closures_and_policy_follow_edits_in_the_console() -> None:
    day = date(2026, 12, 28)  # a Monday
    assert BusinessCalendar.from_db().is_business_day(day)
    closure = HospitalClosure.objects.create(date=day, reason="Winter closure")
    assert not BusinessCalendar.from_db().is_business_day(day)
    closure.delete()
    assert BusinessCalendar.from_db().is_business_day(day)

    policy = TurnaroundPolicy.current()
    assert policy.business_days == 10
    policy.business_days = 12
    policy.save()
    with CaptureQueriesContext(connection) as read:
        assert TurnaroundPolicy.current().business_days == 12
    assert len(read) == 1  # read again after the save, then cached
    with CaptureQueriesContext(connection) as cached:
        assert TurnaroundPolicy.current().business_days == 12
    assert len(cached) == 0


# Properties against the slow reference.


def _transition_days() -> list[date]:
    days, day = [], date(2025, 1, 1)
    while day.year < 2030:
        if (
            datetime.combine(day, time(0), LA).utcoffset()
            != datetime.combine(day, time(12), LA).utcoffset()
        ):
            days.append(day)
        day += timedelta(days=1)
    return days


DST_DAYS = _transition_days()
STATUTORY = [day for year in range(2025, 2030) for day in ref.statutory_holidays(year)]
WEEKEND_HOLIDAYS = [day for day in STATUTORY if day.weekday() >= 5]
YEAR_ENDS = [date(year, 12, 31) for year in range(2025, 2030)]
ANCHORS = sorted({*DST_DAYS, *WEEKEND_HOLIDAYS, *YEAR_ENDS, *STATUTORY})
MICROS = [0, 0, 0, 1, 500_000, 999_999]


def _clock(seconds: int) -> time:
    return time(seconds // 3600, seconds // 60 % 60, seconds % 60)


EDGE_TIMES = [
    time(0),
    time(1, 30),
    time(2, 30),
    time(8, 59, 59, 999999),
    time(9),
    time(9, 0, 0, 1),
    time(12),
    time(16, 59, 59),
    time(17),
    time(17, 0, 0, 1),
    time(17, 30),
    time(23, 59, 59),
]


def test_the_strategies_cover_what_they_claim() -> None:
    assert len(DST_DAYS) == 10 and date(2026, 3, 8) in DST_DAYS and date(2026, 11, 1) in DST_DAYS
    assert date(2026, 7, 4) in WEEKEND_HOLIDAYS and date(2028, 1, 1) in WEEKEND_HOLIDAYS


FIRST_MOMENT = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_SECONDS = int((datetime(2029, 12, 20, tzinfo=UTC) - FIRST_MOMENT).total_seconds())


def _uniform_moment(seconds: int, micros: int) -> datetime:
    return FIRST_MOMENT + timedelta(seconds=seconds, microseconds=micros)


def _moment_near(anchor: date, days: int, clock: time, fold: int) -> datetime:
    local = datetime.combine(anchor + timedelta(days=days), clock, LA).replace(fold=fold)
    return local.astimezone(UTC)


# A UTC moment in 2025-2029: half uniform, half within three weeks before (or days after) a
# DST change, a holiday (on a weekend or not) or a year end, at a time of day at or around
# the business-hour edges, or any time. Built once at import: strategies made inside a
# composite per example cost more than the clock itself.
MOMENTS = st.one_of(
    st.builds(_uniform_moment, st.integers(0, SPAN_SECONDS), st.sampled_from(MICROS)),
    st.builds(
        _moment_near,
        st.sampled_from(ANCHORS),
        st.integers(-21, 3),
        st.one_of(st.sampled_from(EDGE_TIMES), st.integers(0, 86399).map(_clock)),
        st.integers(0, 1),
    ),
)


def _case(
    records: datetime,
    assigned_offset: int,
    closure_offsets: frozenset[int],
    hold_offsets: list[tuple[int, int]],
    review: bool,
) -> dict:
    assigned = records + timedelta(seconds=assigned_offset)
    first_day = max(records, assigned).astimezone(LA).date()
    return {
        "assigned_at": assigned,
        "records_complete_at": records,
        "review_extension": review,
        "holds": [
            (records + timedelta(seconds=offset), records + timedelta(seconds=offset + length))
            for offset, length in hold_offsets
        ],
        "closures": frozenset(first_day + timedelta(days=k) for k in closure_offsets),
    }


# A case: records complete at a random moment, assigned up to 10 days before or 2 days
# after, up to 3 closures near the start, up to 3 holds (possibly overlapping, possibly
# starting before the clock or lasting no time at all), with or without review.
CASES = st.builds(
    _case,
    MOMENTS,
    st.integers(-10 * 86400, 2 * 86400),
    st.frozensets(st.integers(-2, 30), max_size=3),
    st.lists(st.tuples(st.integers(-3 * 86400, 25 * 86400), st.integers(0, 8 * 86400)), max_size=3),
    st.booleans(),
)


def _due(inputs: dict, **changes: object) -> datetime:
    inputs = {**inputs, **changes}
    result = due_at(
        assigned_at=inputs["assigned_at"],
        records_complete_at=inputs["records_complete_at"],
        review_extension=inputs["review_extension"],
        holds=inputs["holds"],
        policy=POLICY,
        calendar=BusinessCalendar(inputs["closures"]),
    )
    assert result is not None
    return result


def _reference_due(inputs: dict) -> datetime:
    return ref.reference_due(
        assigned_at=inputs["assigned_at"],
        records_complete_at=inputs["records_complete_at"],
        days=10 + (5 if inputs["review_extension"] else 0),
        holds=inputs["holds"],
        closures=inputs["closures"],
    )


def _is_close_of_business(moment: datetime, closures: frozenset[date]) -> bool:
    local = moment.astimezone(LA)
    return local.time() == time(17) and ref.is_work_day(local.date(), closures)


MANY = settings(
    max_examples=1500,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SOME = settings(MANY, max_examples=500)


@MANY
@given(CASES)
def test_due_matches_the_reference(inputs: dict) -> None:
    result = _due(inputs)
    assert result == _reference_due(inputs)
    assert result.tzinfo is UTC
    assert _is_close_of_business(result, inputs["closures"])


@MANY
@given(MOMENTS, st.integers(0, 20), st.frozensets(st.integers(0, 25), max_size=3))
def test_add_business_days_matches_the_reference(
    start: datetime, days: int, closure_offsets: frozenset[int]
) -> None:
    first_day = start.astimezone(LA).date()
    closures = frozenset(first_day + timedelta(days=k) for k in closure_offsets)
    calendar = BusinessCalendar(closures)
    begins = calendar.next_business_start(start)
    assert begins == ref.clock_starts(start, closures)
    end = calendar.add_business_days(start, days)
    assert end == ref.consume(begins, days * BUSINESS_DAY, closures)
    assert calendar.business_time_between(start, end) == days * BUSINESS_DAY
    if days:
        local = end.astimezone(LA)
        assert time(9) < local.time() <= time(17)
        assert ref.is_work_day(local.date(), closures)


@settings(MANY, max_examples=1000)
@given(MOMENTS, MOMENTS)
def test_business_time_between_matches_the_reference(a: datetime, b: datetime) -> None:
    if abs(a - b) > timedelta(days=120):
        b = a + (b - a) / 20
    span = CALENDAR.business_time_between(a, b)
    assert span == ref.business_time(a, b, frozenset())
    assert CALENDAR.business_time_between(b, a) == -span
    # Business days between: part days count as days, away from zero either way.
    days = CALENDAR.business_days_between(a, b)
    if span >= timedelta(0):
        assert max(days - 1, 0) * BUSINESS_DAY <= span <= days * BUSINESS_DAY
    else:
        assert days * BUSINESS_DAY <= span < (days + 1) * BUSINESS_DAY
    assert (days == 0) == (span == timedelta(0))


@SOME
@given(CASES, st.integers(0, 5 * 86400))
def test_later_start_never_gives_an_earlier_due(inputs: dict, delay: int) -> None:
    later = inputs["records_complete_at"] + timedelta(seconds=delay)
    assert _due(inputs) <= _due(inputs, records_complete_at=later)


@SOME
@given(CASES, MOMENTS, st.integers(0, 10 * 86400))
def test_holds_never_make_the_due_earlier(inputs: dict, begins: datetime, length: int) -> None:
    hold = (begins, begins + timedelta(seconds=length))
    without = _due(inputs, holds=[])
    with_holds = _due(inputs)
    assert without <= with_holds <= _due(inputs, holds=[*inputs["holds"], hold])


@SOME
@given(CASES, st.integers(-2, 30))
def test_closures_push_the_due_later(inputs: dict, offset: int) -> None:
    before = _due(inputs)
    start = CALENDAR.next_business_start(max(inputs["assigned_at"], inputs["records_complete_at"]))
    closed = start.astimezone(LA).date() + timedelta(days=offset)
    after = _due(inputs, closures=inputs["closures"] | {closed})
    assert after >= before
    # Closing a business day after the start day, up to the due day, takes a whole business
    # day away, unless the case was on hold then anyway. (Closing the start day itself takes
    # only what was left of it, which need not move the close-of-business promise.)
    if (not inputs["holds"] and ref.is_work_day(closed, inputs["closures"])) and (
        start.astimezone(LA).date() < closed <= before.astimezone(LA).date()
    ):
        assert after > before


@SOME
@given(CASES, st.integers(-25 * 86400, 25 * 86400))
def test_clock_state_agrees_with_the_reference(inputs: dict, offset: int) -> None:
    result = _due(inputs)
    now = result + timedelta(seconds=offset)
    left = ref.business_time(now, result, inputs["closures"])
    calendar = BusinessCalendar(inputs["closures"])
    state = clock_state(result, now, policy=POLICY, calendar=calendar)
    if now > result:
        assert state == "overdue"
    elif left <= 2 * BUSINESS_DAY:
        assert state == "at_risk"
    else:
        assert state == "on_track"


@settings(MANY, max_examples=40)
@given(MOMENTS, st.booleans())
def test_ten_business_days_match_a_minute_by_minute_walk(start: datetime, review: bool) -> None:
    start = start.replace(second=0, microsecond=0)
    days = 15 if review else 10
    walked = ref.minute_walk_end(start, days * 8 * 60, frozenset())
    assert CALENDAR.add_business_days(start, days) == walked
    assert due(start, assigned_at=start, review_extension=review) == ref.close_of_that_day(walked)
