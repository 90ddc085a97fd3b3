"""Who and what the benchmark cases draw from, and the share of each status."""

from cases.models import Status

S = Status

FAMILY_EMAIL = "bench-queue-family-{}@example.org"
SPECIALIST_EMAIL = "bench-queue-specialist-{}@example.org"
SPECIALISTS = 40
PHYSICIANS = 2_000
CASES_PER_FAMILY = 3
BIG_FAMILY_EMAIL = "bench-big-family@example.org"
BIG_FAMILY_EVERY = 500
AUDIT_ROWS_PER_CASE = 5

# Per 100 cases. A service that has run for years: most requests are long finished.
STATUS_MIX: tuple[tuple[str, int], ...] = (
    (S.CLOSED, 42),
    (S.DELIVERED, 8),
    (S.DRAFT, 10),
    (S.SUBMITTED, 4),
    (S.IN_TRIAGE, 5),
    (S.AWAITING_RECORDS, 5),
    (S.DECLINED, 2),
    (S.AWAITING_FAMILY_CONFIRMATION, 3),
    (S.WITHDRAWN, 3),
    (S.PAYMENT_NEEDED, 1),
    (S.ASSIGNED, 6),
    (S.IN_REVIEW, 8),
    (S.REPORT_FINAL, 1),
    (S.ON_HOLD, 2),
)
# Where the specialist has the case, or had it.
ASSIGNED_STATES = (S.ASSIGNED, S.IN_REVIEW, S.ON_HOLD, S.REPORT_FINAL, S.DELIVERED, S.CLOSED)
OPEN_CLOCK_STATES = (S.ASSIGNED, S.IN_REVIEW, S.ON_HOLD)
PAID_STATES = (S.ASSIGNED, S.IN_REVIEW, S.REPORT_FINAL, S.DELIVERED, S.CLOSED, S.ON_HOLD)

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

# A service's work in progress does not grow with its history: only the newest OPEN_WINDOW
# cases made here keep an open status from STATUS_MIX; older ones have long been finished
# (closed once a specialist had them, withdrawn before). Without this, 16 % of every case
# ever made stayed open, so a specialist of the pool of 40 had 4,000 open cases at a
# million and "My cases", which lists all of them, grew with the table as no real one does.
OPEN_WINDOW = 1_000
STILL_OPEN = (
    S.SUBMITTED,
    S.IN_TRIAGE,
    S.AWAITING_RECORDS,
    S.AWAITING_FAMILY_CONFIRMATION,
    S.PAYMENT_NEEDED,
    S.ASSIGNED,
    S.IN_REVIEW,
    S.ON_HOLD,
    S.REPORT_FINAL,
)


def status_case_sql() -> str:
    """A CASE expression mapping ``bucket`` (0 to 99) to a status by STATUS_MIX."""
    if sum(weight for _, weight in STATUS_MIX) != 100:
        raise ValueError("STATUS_MIX is a share of 100 cases: its weights must add up to 100.")
    parts, upto = [], 0
    for status, weight in STATUS_MIX:
        upto += weight
        parts.append(f"WHEN bucket < {upto} THEN '{status}'")
    return "CASE " + " ".join(parts) + " END"


def sql_in(states: tuple[str, ...]) -> str:
    """A SQL list of ``states``, for ``status IN …`` (the states are this module's constants)."""
    return "(" + ",".join(f"'{s}'" for s in states) + ")"
