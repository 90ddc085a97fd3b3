"""The turnaround clock: when a second opinion is due, and whether it is on track.

The promise: the report is due 10 business days after the later of assignment and records
complete, plus ``review_extension_days`` (default 5) business days when the coordinator flags
imaging or pathology review, plus the business time the case spent on hold. The numbers come
from ``TurnaroundPolicy``; nothing here is hard-coded except the calendar rules.

Calendar
    A business day is Monday to Friday, except US federal holidays on the dates they are
    observed (a Saturday holiday is observed the Friday before, a Sunday one the Monday
    after: July 4 2026 is a Saturday, so Friday July 3 2026 is off; New Year's Day 2028 is a
    Saturday, so Friday December 31 2027 is off) and except ``HospitalClosure`` dates.
    Business hours are 9:00 to 17:00 America/Los_Angeles, PST or PDT as the date requires;
    one business day is those eight hours. Daylight saving changes happen at 2:00, outside
    business hours, so a business day is always eight real hours long.

Definitions
    Clock start (``BusinessCalendar.next_business_start``): a moment inside business hours
    stays as it is; before 9:00 on a business day it moves to 9:00 that day; at or after
    17:00, or on a day that is not a business day, it moves to 9:00 on the next business day.

    "n business days after t" (``BusinessCalendar.add_business_days``): the same
    business-hour moment n business days later, which is exactly n x 8 business hours after
    t. When that lands on a day boundary it is given as 17:00 of the last day counted (the
    earliest moment the time has run out), not 9:00 of the day after.

    Holds: the clock stops while the case is on hold. Each hold that begins before the
    turnaround has run out moves that moment later by the business time the hold lasted
    (``BusinessCalendar.extend_for_hold``); hold time before the clock start does not count,
    overlapping holds count once, and a hold that begins after the time has run out moves
    nothing (the case was already due).

    Due (``due_at``): the turnaround (days plus any review extension) is added to the clock
    start as above, holds move it as just said, and the promise is close of business, 17:00
    Pacific, on the business day the time runs out. The specialist always gets at least the
    full turnaround, and families get a date with a plainly stated time: "by 5:00 PM
    Pacific". Every due moment is therefore 17:00 Pacific on a business day, stored in UTC.

    Business days left (``BusinessCalendar.business_days_between``): the business days on
    which time remains before the due moment, counting today while business hours are not
    over; 0 at the due moment; negative once business time has passed since it. A case is
    at risk when this is at most ``at_risk_days`` (so, with the default 2 and a Wednesday
    due date, from close of business on Monday), and overdue once ``now`` is past the due
    moment.

Worked example
    Assigned Monday 2026-11-23; records complete Wednesday 2026-11-25 at 16:00 PST, the day
    before Thanksgiving. The clock starts then, with one business hour left that Wednesday.
    Thursday 11-26 is Thanksgiving, not a business day; Friday 11-27 is a business day
    unless the hospital enters it as a closure. Counting business days after the Wednesday:
    Fri 11-27 (1), Mon 11-30 (2), Tue 12-01 (3), Wed 12-02 (4), Thu 12-03 (5), Fri 12-04 (6),
    Mon 12-07 (7), Tue 12-08 (8), Wed 12-09 (9), Thu 12-10 (10). Ten business days after is
    Thursday 12-10 at 16:00 PST, so the report is due "Thursday, December 10, 2026,
    5:00 PM Pacific" (stored as 2026-12-11 01:00 UTC). Had the records been complete by
    9:00 that Wednesday, the whole Wednesday would count as day 1 and the report would be due
    Wednesday, December 9, 5:00 PM Pacific. With a closure on Friday 11-27 everything moves
    one business day: Friday, December 11, 5:00 PM Pacific.

All datetimes passed in must be timezone-aware; every datetime returned is in UTC. The only
database access is ``BusinessCalendar.from_db`` (the closures) and the caller's
``TurnaroundPolicy.current()``: build both once and reuse them for every case. Both are
read from the cache (Redis in production) and from the database only when the cache does
not have them: nearly every page shows a due date, and the two rows change a few times a
year. Saving or deleting a closure or the policy (the console does both with ``save()``
and ``delete()``) drops the cached copy; an edit that bypasses the model's signals (a
queryset ``update()``, SQL) shows after ``CACHE_SECONDS`` at the latest.
"""

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

import holidays
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .clock_cache import CACHE_SECONDS, CLOSURES_KEY, POLICY_KEY
from .models import HospitalClosure

PACIFIC = ZoneInfo("America/Los_Angeles")
OPENS = time(9)
CLOSES = time(17)
BUSINESS_DAY = timedelta(hours=8)
_NOTHING = timedelta(0)
_ONE_DAY = timedelta(days=1)

ClockState = Literal["on_track", "at_risk", "overdue"]
# (started, ended); ended is None while the case is still on hold.
Hold = tuple[datetime, datetime | None]

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class TurnaroundTerms(Protocol):
    """What the clock reads from ``TurnaroundPolicy`` (any object with these will do)."""

    @property
    def business_days(self) -> int: ...

    @property
    def review_extension_days(self) -> int: ...

    @property
    def at_risk_days(self) -> int: ...


def _forget(key: str) -> None:
    # Now, and again at commit: a request that reads the old row before the edit commits
    # would otherwise put it back in the cache for an hour.
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


@receiver(post_save, sender="cases.HospitalClosure")
@receiver(post_delete, sender="cases.HospitalClosure")
def _closures_changed(**kwargs: object) -> None:
    _forget(CLOSURES_KEY)


@receiver(post_save, sender="cases.TurnaroundPolicy")
@receiver(post_delete, sender="cases.TurnaroundPolicy")
def _policy_changed(**kwargs: object) -> None:
    _forget(POLICY_KEY)


@functools.lru_cache(maxsize=64)
def federal_holidays(year: int) -> frozenset[date]:
    """The US federal holidays of ``year``: the holidays themselves and the weekdays they
    are observed on (which can be December 31 of ``year`` for the next New Year's Day).

    The ``holidays`` package's US calendar without a state is the federal list (its default
    "public" category); state holidays only appear when a ``subdiv`` is given.
    """
    return frozenset(holidays.country_holidays("US", years=year, observed=True).keys())


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"the turnaround clock needs timezone-aware datetimes, got {moment!r}")
    return moment.astimezone(UTC)


class BusinessCalendar:
    """Business days and hours, with the hospital's closures.

    Build it once (``BusinessCalendar.from_db()``) and use it for any number of cases: the
    closures are read once, and federal holidays are looked up once per year.
    """

    def __init__(self, closures: Iterable[date] = ()) -> None:
        self.closures: frozenset[date] = frozenset(closures)
        self._holidays_by_year: dict[int, frozenset[date]] = {}

    @classmethod
    def from_db(cls) -> "BusinessCalendar":
        """The calendar with every ``HospitalClosure`` date, cached (see the module's notes)."""
        closures = cache.get(CLOSURES_KEY)
        if closures is None:
            closures = list(HospitalClosure.objects.values_list("date", flat=True))
            cache.set(CLOSURES_KEY, closures, CACHE_SECONDS)
        return cls(closures)

    # Days.

    def federal_holidays(self, year: int) -> frozenset[date]:
        found = self._holidays_by_year.get(year)
        if found is None:
            found = self._holidays_by_year[year] = federal_holidays(year)
        return found

    def is_business_day(self, day: date) -> bool:
        return (
            day.weekday() < 5
            and day not in self.closures
            and day not in self.federal_holidays(day.year)
        )

    def next_business_day(self, day: date) -> date:
        """The first business day strictly after ``day``."""
        day += _ONE_DAY
        while not self.is_business_day(day):
            day += _ONE_DAY
        return day

    def _business_day_after(self, day: date, count: int) -> date:
        """The ``count``-th business day after ``day`` (``day`` itself when count is 0)."""
        for _ in range(count):
            day = self.next_business_day(day)
        return day

    def _business_days_from(self, first: date, last: date) -> int:
        """How many business days ``d`` have ``first <= d < last`` (``first`` a business day)."""
        count = 0
        while first < last:
            count += 1
            first = self.next_business_day(first)
        return count

    # Moments. A moment's business position is (business day, business time elapsed that
    # day, from 0 up to but excluding 8 hours); moments outside business hours take the
    # position of the next opening.

    @staticmethod
    def _opening(day: date) -> datetime:
        return datetime.combine(day, OPENS, tzinfo=PACIFIC).astimezone(UTC)

    @staticmethod
    def _closing(day: date) -> datetime:
        return datetime.combine(day, CLOSES, tzinfo=PACIFIC).astimezone(UTC)

    def _position(self, moment: datetime) -> tuple[date, timedelta]:
        day = moment.astimezone(PACIFIC).date()
        if self.is_business_day(day):
            elapsed = moment - self._opening(day)
            if elapsed < _NOTHING:
                return day, _NOTHING
            if elapsed < BUSINESS_DAY:
                return day, elapsed
        return self.next_business_day(day), _NOTHING

    def next_business_start(self, moment: datetime) -> datetime:
        """Where a clock starting at ``moment`` starts: ``moment`` itself inside business
        hours, else the next 9:00 Pacific on a business day (the same day if before 9:00)."""
        day, elapsed = self._position(_utc(moment))
        return self._opening(day) + elapsed

    def close_of_business(self, moment: datetime) -> datetime:
        """The first 17:00 Pacific on a business day at or after ``moment``."""
        moment = _utc(moment)
        day = moment.astimezone(PACIFIC).date()
        if self.is_business_day(day) and moment <= self._closing(day):
            return self._closing(day)
        return self._closing(self.next_business_day(day))

    def add_business_time(self, moment: datetime, amount: timedelta) -> datetime:
        """The earliest moment by which ``amount`` of business time has passed since
        ``moment`` (``moment`` itself for no time). A result on a day boundary is given as
        17:00 of the last day, not 9:00 of the next business day."""
        if amount < _NOTHING:
            raise ValueError(f"business time to add must not be negative, got {amount}")
        moment = _utc(moment)
        if not amount:
            return moment
        day, elapsed = self._position(moment)
        whole_days, rest = divmod(elapsed + amount, BUSINESS_DAY)
        if not rest:
            return self._closing(self._business_day_after(day, whole_days - 1))
        return self._opening(self._business_day_after(day, whole_days)) + rest

    def add_business_days(self, moment: datetime, days: int) -> datetime:
        """The same business-hour moment ``days`` business days after ``moment`` (after
        moving ``moment`` into business hours as ``next_business_start`` does).

        Wednesday 2026-11-25 16:00 PST + 10 gives Thursday 2026-12-10 16:00 PST (Thanksgiving
        skipped); Monday 9:00 + 10 gives 17:00 on the tenth business day counting that Monday.
        """
        if days < 0:
            raise ValueError(f"business days to add must not be negative, got {days}")
        return self.add_business_time(self.next_business_start(moment), days * BUSINESS_DAY)

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """The business time from ``start`` to ``end``; negative when ``end`` is earlier."""
        start, end = _utc(start), _utc(end)
        if end < start:
            return -self.business_time_between(end, start)
        start_day, start_elapsed = self._position(start)
        end_day, end_elapsed = self._position(end)
        whole_days = self._business_days_from(start_day, end_day)
        return whole_days * BUSINESS_DAY + end_elapsed - start_elapsed

    def business_days_between(self, start: datetime, end: datetime) -> int:
        """Business days from ``start`` to ``end``, a part day counting as a day: for a due
        moment at 17:00, the business days on which time remains, today included while
        business hours are not over. 0 when no business time lies between them; negative,
        counted the same way, when ``end`` is before ``start``."""
        span = self.business_time_between(start, end)
        whole_days, rest = divmod(abs(span), BUSINESS_DAY)
        days = whole_days + (1 if rest else 0)
        return days if span >= _NOTHING else -days

    def extend_for_hold(
        self, due: datetime, hold_started: datetime, hold_ended: datetime
    ) -> datetime:
        """``due`` moved later by the business time between ``hold_started`` and
        ``hold_ended``. Exact business-time arithmetic: ``due_at`` applies it to the moment
        the time runs out, before rounding to close of business, so use ``due_at`` for the
        promised date."""
        if _utc(hold_ended) < _utc(hold_started):
            raise ValueError("a hold cannot end before it starts")
        return self.add_business_time(due, self.business_time_between(hold_started, hold_ended))


# Whole cases.


@dataclass(frozen=True)
class _HoldSpan:
    started: datetime
    ended: datetime
    ongoing: bool


def clock_start(
    assigned_at: datetime | None, records_complete_at: datetime | None, calendar: BusinessCalendar
) -> datetime | None:
    """When the clock starts: the later of the two, moved into business hours; None until
    both have happened."""
    if assigned_at is None or records_complete_at is None:
        return None
    return calendar.next_business_start(max(_utc(assigned_at), _utc(records_complete_at)))


def _hold_spans(holds: Sequence[Hold], start: datetime, now: datetime | None) -> list[_HoldSpan]:
    """The holds after the clock started, overlapping ones merged, an open one up to now."""
    spans: list[_HoldSpan] = []
    for started, ended in holds:
        ongoing = ended is None
        if ended is None:
            ended = datetime.now(UTC) if now is None else now
        started, ended = _utc(started), _utc(ended)
        if not ongoing and ended < started:
            raise ValueError(f"a hold cannot end before it starts: {started} > {ended}")
        started = max(started, start)
        if ended > started:
            spans.append(_HoldSpan(started, ended, ongoing))
    spans.sort(key=lambda span: span.started)
    merged: list[_HoldSpan] = []
    for span in spans:
        if merged and span.started <= merged[-1].ended:
            last = merged[-1]
            ended = max(last.ended, span.ended)
            ongoing = any(s.ongoing and s.ended == ended for s in (last, span))
            merged[-1] = _HoldSpan(last.started, ended, ongoing)
        else:
            merged.append(span)
    return merged


def _runs_out(
    start: datetime,
    turnaround: timedelta,
    holds: Sequence[Hold],
    calendar: BusinessCalendar,
    now: datetime | None,
) -> tuple[datetime, list[tuple[_HoldSpan, timedelta]]]:
    """The moment the turnaround runs out with the clock stopped during holds, and the holds
    that stopped it with the business time each took."""
    runs_out = calendar.add_business_time(start, turnaround)
    counted: list[tuple[_HoldSpan, timedelta]] = []
    for span in _hold_spans(holds, start, now):
        if span.started >= runs_out:
            break  # the time had run out before this hold (and any later one) began
        spent = calendar.business_time_between(span.started, span.ended)
        runs_out = calendar.add_business_time(runs_out, spent)
        counted.append((span, spent))
    return runs_out, counted


def _turnaround(policy: TurnaroundTerms, review_extension: bool) -> timedelta:
    days = policy.business_days + (policy.review_extension_days if review_extension else 0)
    return days * BUSINESS_DAY


def due_at(
    *,
    assigned_at: datetime | None,
    records_complete_at: datetime | None,
    review_extension: bool,
    holds: Sequence[Hold],
    policy: TurnaroundTerms,
    calendar: BusinessCalendar,
    now: datetime | None = None,
) -> datetime | None:
    """When the report is due: 17:00 Pacific (in UTC) on the business day the turnaround
    runs out, or None until the case is both assigned and has its records complete.

    The clock stops while the case is on hold: each hold that begins before the time has run
    out moves that moment later by the business time the hold lasted (``extend_for_hold``).
    Only hold time after the clock start counts, overlapping holds count once, and a hold
    still open (ended None) counts up to ``now`` (default: the current time), so while a
    case is on hold its due date moves on and its business time left stays put. A hold that
    begins after the time has run out moves nothing: the case was already due.
    """
    start = clock_start(assigned_at, records_complete_at, calendar)
    if start is None:
        return None
    turnaround = _turnaround(policy, review_extension)
    runs_out, _ = _runs_out(start, turnaround, holds, calendar, now)
    return calendar.close_of_business(runs_out)


def clock_state(
    due: datetime, now: datetime, *, policy: TurnaroundTerms, calendar: BusinessCalendar
) -> ClockState:
    """ "overdue" once ``now`` is past ``due``; "at_risk" with at most ``policy.at_risk_days``
    business days left (see ``business_days_between``); else "on_track"."""
    if _utc(now) > _utc(due):
        return "overdue"
    if calendar.business_days_between(now, due) <= policy.at_risk_days:
        return "at_risk"
    return "on_track"


def explain(
    *,
    assigned_at: datetime | None,
    records_complete_at: datetime | None,
    review_extension: bool,
    holds: Sequence[Hold],
    policy: TurnaroundTerms,
    calendar: BusinessCalendar,
    now: datetime | None = None,
) -> list[str]:
    """Plain sentences, for the family and the physician, on why the expected completion
    date is later than the standard turnaround. Takes the same arguments as ``due_at``;
    empty when nothing moved it (or the clock has not started)."""
    start = clock_start(assigned_at, records_complete_at, calendar)
    if start is None:
        return []
    reasons: list[str] = []
    if review_extension and policy.review_extension_days:
        added = _business_days(policy.review_extension_days)
        reasons.append(f"Imaging or pathology review is needed: {added} added.")
    _, counted = _runs_out(start, _turnaround(policy, review_extension), holds, calendar, now)
    for span, spent in counted:
        if spent <= _NOTHING:
            continue
        since = format_pacific_date(span.started)
        if span.ongoing:
            reasons.append(
                f"On hold since {since}: {_business_time(spent)} added so far, and the date "
                "moves on while the hold lasts."
            )
        else:
            until = format_pacific_date(span.ended)
            period = f"on {since}" if since == until else f"from {since} to {until}"
            reasons.append(f"On hold {period}: {_business_time(spent)} added.")
    return reasons


# Wording.


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _business_days(count: int) -> str:
    return _plural(count, "business day")


def _business_time(span: timedelta) -> str:
    """3 business days; 1 business day and 4 business hours; 30 business minutes."""
    minutes = -(-span // timedelta(minutes=1))  # part minutes round up: never say "0"
    days, minutes = divmod(minutes, 8 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if days:
        parts.append(_business_days(days))
    if hours:
        parts.append(_plural(hours, "business hour"))
    if minutes:
        parts.append(_plural(minutes, "business minute"))
    return " and ".join(parts) if len(parts) < 3 else f"{parts[0]}, {parts[1]} and {parts[2]}"


def format_pacific_date(moment: datetime) -> str:
    """ "Wednesday, December 9, 2026": the Pacific date of ``moment``."""
    local = _utc(moment).astimezone(PACIFIC)
    return f"{_WEEKDAYS[local.weekday()]}, {_MONTHS[local.month - 1]} {local.day}, {local.year}"


def format_pacific(moment: datetime) -> str:
    """ "Wednesday, December 9, 2026, 5:00 PM Pacific": ``moment`` in Pacific time, PST or
    PDT as that date requires, with the time zone stated."""
    local = _utc(moment).astimezone(PACIFIC)
    hour = local.hour % 12 or 12
    half = "AM" if local.hour < 12 else "PM"
    return f"{format_pacific_date(local)}, {hour}:{local.minute:02d} {half} Pacific"
