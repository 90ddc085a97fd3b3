"""A slow, independent model of the turnaround clock, for checking ``cases.clock``.

It shares no code with the calculator and works differently on purpose:

* federal holidays come from the statute's rules (5 U.S.C. 6103: fixed dates and "third
  Monday in January" style rules, Saturday observed on the Friday before, Sunday on the
  Monday after), not from the ``holidays`` package;
* business time is consumed window by window: each business day's 9:00-17:00 Pacific is
  turned into a UTC interval and the clock eats through them in order, instead of the
  calculator's (day, offset) arithmetic;
* the clock stops during holds by consuming only the pieces of each business window that
  no hold covers (the timeline cut at every hold boundary, each piece tested against every
  hold), instead of the calculator's merging holds and moving the end moment hold by hold;
* ``minute_walk_end`` is the bluntest check of all: it steps minute by minute through
  real time and asks the local wall clock whether each minute is a business minute.
"""

import itertools
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

LA = ZoneInfo("America/Los_Angeles")


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    """The nth (1-based) given weekday (Monday 0) of the month."""
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1)
    while day.weekday() != weekday:
        day -= timedelta(days=1)
    return day


def statutory_holidays(year: int) -> dict[date, str]:
    """The 11 federal holidays of 5 U.S.C. 6103(a) on their actual dates."""
    mon, thu = 0, 3
    return {
        date(year, 1, 1): "New Year's Day",
        _nth_weekday(year, 1, mon, 3): "Birthday of Martin Luther King, Jr.",
        _nth_weekday(year, 2, mon, 3): "Washington's Birthday",
        _last_weekday(year, 5, mon): "Memorial Day",
        date(year, 6, 19): "Juneteenth National Independence Day",
        date(year, 7, 4): "Independence Day",
        _nth_weekday(year, 9, mon, 1): "Labor Day",
        _nth_weekday(year, 10, mon, 2): "Columbus Day",
        date(year, 11, 11): "Veterans Day",
        _nth_weekday(year, 11, thu, 4): "Thanksgiving Day",
        date(year, 12, 25): "Christmas Day",
    }


def observed_days_off(first_year: int, last_year: int) -> set[date]:
    """Weekdays off work in [first_year, last_year] (Saturday holiday: the Friday before;
    Sunday holiday: the Monday after), found by scanning a year either side."""
    off: set[date] = set()
    for year in range(first_year - 1, last_year + 2):
        for day in statutory_holidays(year):
            if day.weekday() == 5:
                day -= timedelta(days=1)
            elif day.weekday() == 6:
                day += timedelta(days=1)
            if first_year <= day.year <= last_year:
                off.add(day)
    return off


# From 2022: Juneteenth became a federal holiday in 2021.
DAYS_OFF = observed_days_off(2022, 2035)


def is_work_day(day: date, closures: frozenset[date] = frozenset()) -> bool:
    return day.isoweekday() <= 5 and day not in DAYS_OFF and day not in closures


def windows(since: datetime, closures: frozenset[date]) -> Iterator[tuple[datetime, datetime]]:
    """Business hours as UTC intervals, in order, from the local day of ``since`` on."""
    day = since.astimezone(LA).date()
    while True:
        if is_work_day(day, closures):
            opens = datetime(day.year, day.month, day.day, 9, tzinfo=LA).astimezone(UTC)
            closes = datetime(day.year, day.month, day.day, 17, tzinfo=LA).astimezone(UTC)
            yield opens, closes
        day = date.fromordinal(day.toordinal() + 1)


def business_time(start: datetime, end: datetime, closures: frozenset[date]) -> timedelta:
    """Business time between two moments, signed."""
    if end < start:
        return -business_time(end, start, closures)
    total = timedelta(0)
    for opens, closes in windows(start, closures):
        if opens >= end:
            break
        overlap = min(closes, end) - max(opens, start)
        if overlap > timedelta(0):
            total += overlap
    return total


def clock_starts(moment: datetime, closures: frozenset[date]) -> datetime:
    for opens, closes in windows(moment, closures):
        if moment < closes:
            return max(opens, moment)
    raise AssertionError("unreachable")


def consume(since: datetime, need: timedelta, closures: frozenset[date]) -> datetime:
    """The first moment by which ``need`` of business time has passed since ``since``."""
    if not need:
        return since
    for opens, closes in windows(since, closures):
        begin = max(opens, since)
        if begin >= closes:
            continue
        if need <= closes - begin:
            return begin + need
        need -= closes - begin
    raise AssertionError("unreachable")


def close_of_that_day(moment: datetime) -> datetime:
    local = moment.astimezone(LA)
    return datetime(local.year, local.month, local.day, 17, tzinfo=LA).astimezone(UTC)


def _off_hold(
    start: datetime, end: datetime, holds: Sequence[tuple[datetime, datetime]]
) -> Iterator[tuple[datetime, datetime]]:
    """The pieces of [start, end] covered by no hold, in order: the timeline is cut at every
    hold boundary and each piece tested against every hold."""
    cuts = sorted({start, end} | {t for hold in holds for t in hold if start < t < end})
    for lo, hi in itertools.pairwise(cuts):
        if not any(begins <= lo and hi <= ends for begins, ends in holds):
            yield lo, hi


def reference_due(
    *,
    assigned_at: datetime,
    records_complete_at: datetime,
    days: int,
    holds: Sequence[tuple[datetime, datetime]] = (),
    closures: frozenset[date] = frozenset(),
) -> datetime:
    """Due: close of business on the day the turnaround runs out, the clock consuming only
    business time off hold."""
    start = clock_starts(max(assigned_at, records_complete_at), closures)
    return close_of_that_day(_consume_off_hold(start, days * timedelta(hours=8), holds, closures))


def _consume_off_hold(
    start: datetime,
    need: timedelta,
    holds: Sequence[tuple[datetime, datetime]],
    closures: frozenset[date],
) -> datetime:
    if not need:
        return start
    for opens, closes in windows(start, closures):
        for lo, hi in _off_hold(max(opens, start), closes, holds):
            if need <= hi - lo:
                return lo + need
            need -= hi - lo
    raise AssertionError("unreachable")


def minute_walk_end(start: datetime, minutes: int, closures: frozenset[date]) -> datetime:
    """Step through real time a minute at a time (``start`` on a whole minute), counting the
    minutes whose local wall-clock time is 9:00-16:59 on a work day; return the moment the
    last needed minute ends."""
    moment, counted = start, 0
    while counted < minutes:
        local = moment.astimezone(LA)
        if 9 <= local.hour < 17 and is_work_day(local.date(), closures):
            counted += 1
        moment += timedelta(minutes=1)
    return moment
