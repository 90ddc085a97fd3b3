"""The console's words: each status as the coordinator reads it, and the groups of states
the queue, the dashboard and the buttons share."""

from ..models import Status

S = Status

# The console's words for each status. The model's labels are the family's ("Waiting for
# your confirmation"); the coordinator needs to know who the case waits on and what is next.
CONSOLE_STATUS_LABELS: dict[str, str] = {
    S.DRAFT: "Draft (not submitted)",
    S.SUBMITTED: "New: to triage",
    S.IN_TRIAGE: "In triage",
    S.AWAITING_RECORDS: "Waiting for records",
    S.DECLINED: "Declined",
    S.AWAITING_FAMILY_CONFIRMATION: "Waiting for the family to confirm",
    S.WITHDRAWN: "Withdrawn by the family",
    S.PAYMENT_NEEDED: "Charge failed: waiting for the family to pay",
    S.ASSIGNED: "With the specialist, to accept",
    S.IN_REVIEW: "Specialist reviewing",
    S.REPORT_FINAL: "Report signed, being delivered",
    S.DELIVERED: "Report delivered",
    S.CLOSED: "Closed",
    S.ON_HOLD: "On hold",
}
STATUS_LABELS: dict[str, str] = {
    str(value): label for value, label in CONSOLE_STATUS_LABELS.items()
}


def console_status(status: str) -> str:
    return STATUS_LABELS.get(status, status)


# A case is with a specialist (counts towards their load) in these states.
SPECIALIST_LOAD_STATES = (S.ASSIGNED, S.IN_REVIEW)
# Waiting on the family: their confirmation, their payment, or records asked of them.
WAITING_ON_FAMILY_STATES = (S.AWAITING_FAMILY_CONFIRMATION, S.PAYMENT_NEEDED)
# States with a running (or paused) turnaround clock worth flagging.
CLOCK_STATES = (S.ASSIGNED, S.IN_REVIEW, S.ON_HOLD)
# The clock no longer matters once the report is signed (or the case ended).
CLOCK_STOPPED = frozenset({S.REPORT_FINAL, S.DELIVERED, S.CLOSED, S.DECLINED, S.WITHDRAWN})
