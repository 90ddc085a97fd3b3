"""The clock sweep: tell the coordinators, once per threshold, when a case is at risk or
overdue. Run by Celery beat every 15 minutes (``cases.tasks.clock_sweep``).

Safe when two beats run at once: each case's alert is claimed with a conditional update
on ``clock_alerted`` (only one sweep gets rowcount 1), and the email's dedupe key is unique
per case, threshold and coordinator. Due dates live in the database, so a restart loses
nothing.
"""

import logging

from django.db import transaction
from django.utils import timezone

from .clock import BusinessCalendar, clock_state, format_pacific
from .models import Case, Status, TurnaroundPolicy

logger = logging.getLogger(__name__)

# The clock runs only while the specialist has the case (held cases are not in these).
CLOCK_RUNNING = (Status.ASSIGNED, Status.IN_REVIEW)
RANK = {"": 0, "at_risk": 1, "overdue": 2}


def clock_alerts_send() -> int:
    """Alert on every case that crossed a threshold since the last sweep. Returns how many."""
    from .notifications import coordinator_addresses, email_render_and_enqueue

    now = timezone.now()
    policy = TurnaroundPolicy.current()
    calendar = BusinessCalendar.from_db()
    coordinators = coordinator_addresses()
    sent = 0
    running = Case.objects.filter(status__in=CLOCK_RUNNING, due_at__isnull=False).only(
        "pk", "reference", "due_at", "clock_alerted"
    )
    for case in running.iterator():
        assert case.due_at is not None
        state = clock_state(case.due_at, now, policy=policy, calendar=calendar)
        if state == "on_track" or RANK[state] <= RANK[case.clock_alerted]:
            continue
        with transaction.atomic():
            claimed = Case.objects.filter(pk=case.pk, clock_alerted=case.clock_alerted).update(
                clock_alerted=state
            )
            if claimed != 1:
                continue  # another sweep got there first
            what = (
                f"This case is overdue: it was due {format_pacific(case.due_at)}."
                if state == "overdue"
                else f"This case is at risk: it is due {format_pacific(case.due_at)}."
            )
            for email in coordinators:
                email_render_and_enqueue(
                    template="coordinator_alert",
                    to=email,
                    case=case,
                    context={"what": what},
                    dedupe_key=f"clock:{case.pk}:{state}:{email}",
                )
        sent += 1
    return sent
