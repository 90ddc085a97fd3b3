"""The turnaround clock's risk bands against one calendar per request.

One ``BusinessCalendar`` and one ``TurnaroundPolicy`` per request (``console_clock``),
shared by the console's queue rows, its clock-risk filter and dashboard, and the
specialist's workspace. The bands work on ``due_at`` ranges, not on ``clock_alerted``
(which only changes when the alert task runs): "overdue" is ``due_at`` before now; "at
risk" is ``due_at`` from now up to the last close of business with at most
``at_risk_days`` business days left, exactly the rule of ``cases.clock.clock_state``;
"on track" is later than that.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import cached_property

from .clock import BusinessCalendar, ClockState, clock_state
from .models import TurnaroundPolicy


@dataclass
class ConsoleClock:
    calendar: BusinessCalendar
    policy: TurnaroundPolicy
    now: datetime

    def days_left(self, due: datetime) -> int:
        return self.calendar.business_days_between(self.now, due)

    def state(self, due: datetime) -> ClockState:
        return clock_state(due, self.now, policy=self.policy, calendar=self.calendar)

    @cached_property
    def at_risk_until(self) -> datetime:
        """The latest due moment that is at risk now: the last close of business with at
        most ``at_risk_days`` business days left (see ``clock.clock_state``)."""
        limit = self.policy.at_risk_days
        moment = self.calendar.close_of_business(self.now)
        found = self.now
        for _ in range(limit + 2):
            if self.days_left(moment) > limit:
                break
            found = moment
            moment = self.calendar.close_of_business(moment + timedelta(seconds=1))
        return found

    def risk_q(self, risk: str) -> Q:
        if risk == "overdue":
            return Q(due_at__lt=self.now)
        if risk == "at_risk":
            return Q(due_at__gte=self.now, due_at__lte=self.at_risk_until)
        if risk == "on_track":
            return Q(due_at__gt=self.at_risk_until)
        return Q(due_at__isnull=True)


def console_clock(request: HttpRequest) -> ConsoleClock:
    """The calendar (one query) and policy (one query) for this request, built once."""
    clock = getattr(request, "_console_clock", None)
    if clock is None:
        clock = ConsoleClock(BusinessCalendar.from_db(), TurnaroundPolicy.current(), timezone.now())
        request._console_clock = clock  # type: ignore[attr-defined]
    return clock


RISK_LABELS: dict[str, str] = {
    "on_track": "On track",
    "at_risk": "At risk",
    "overdue": "Overdue",
    "no_clock": "No due date",
}
