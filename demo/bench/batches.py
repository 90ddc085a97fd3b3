"""One batch of benchmark cases: its statements in order, in one transaction, and the steps
around the batches (the parameters every batch shares, finishing old work, statistics)."""

import time
from typing import Any

from django.db import connection, transaction

from accounts.models import Specialty
from demo.bench import case_rows, portal_rows
from demo.bench.audit_rows import AUDIT_CHAIN_SQL, AUDIT_INSERT_SQL, AUDIT_SELECT
from demo.bench.names import CITIES, DIAGNOSES, FIRST_NAMES, LAST_NAMES
from demo.bench.pools import (
    AUDIT_ROWS_PER_CASE,
    BIG_FAMILY_EVERY,
    CASES_PER_FAMILY,
    FAMILY_EMAIL,
    OPEN_WINDOW,
    PHYSICIANS,
    REFERENCE_ALPHABET,
    STILL_OPEN,
    sql_in,
)
from intake.models import StateEligibility

# Fresh statistics after a fill, so the planner (and the queue's row-count estimate) sees
# the tables as they now are rather than as autovacuum last left them.
ANALYZED_TABLES = (
    "accounts_user",
    "cases_case",
    "intake_intake",
    "cases_timelineevent",
    "cases_casemember",
    "cases_casemessage",
    "cases_accessevent",
)


class Steps:
    """Runs a batch's statements and keeps how long each took (shown with -v 2)."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.seconds: dict[str, float] = {}

    def run(self, name: str, sql: str, params: Any) -> None:
        began = time.monotonic()
        self.cursor.execute(sql, params)
        self.seconds[name] = time.monotonic() - began

    def timings(self) -> str:
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.seconds.items())


def batch_params(specialties: list[int], states: list[str]) -> dict[str, Any]:
    """The parameters every batch's statements share (each batch adds ``lo`` and ``hi``)."""
    fixed: dict[str, Any] = {
        "family_email": FAMILY_EMAIL,
        "per_family": CASES_PER_FAMILY,
        "alphabet": REFERENCE_ALPHABET,
        "physicians": PHYSICIANS,
        "specialists": case_rows.specialists(),
        "specialties": specialties,
        "first": FIRST_NAMES,
        "last": LAST_NAMES,
        "cities": list(CITIES),
        "diagnoses": list(DIAGNOSES),
        "states": states,
        "every": BIG_FAMILY_EVERY,
        "audit_rows": AUDIT_ROWS_PER_CASE,
    }
    fixed["big"], fixed["coordinator"] = portal_rows.big_family_and_coordinator()
    return fixed


def active_specialties() -> list[int]:
    return list(
        Specialty.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True)
    )


def eligible_states() -> list[str]:
    return list(
        StateEligibility.objects.filter(is_available=True)
        .exclude(code=StateEligibility.OUTSIDE_US)
        .order_by("code")
        .values_list("code", flat=True)
    )


def is_superuser() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        (superuser,) = cursor.fetchone()
    return bool(superuser)


def batch_fill(*, fixed: dict[str, Any], lo: int, hi: int, superuser: bool) -> Steps:
    """Make cases number ``lo`` to ``hi`` and everything they hold, in one transaction."""
    cases_sql, billing_sql = case_rows.cases_sql(), case_rows.billing_sql()
    with transaction.atomic(), connection.cursor() as cursor:
        # Rows nobody waits for: a crash loses at most the batch, which a rerun
        # makes again.
        cursor.execute("SET LOCAL synchronous_commit TO off")
        if superuser:
            # The rows are made consistent by construction; the foreign keys'
            # per-row checks (deferred to each commit) and the audit chain's
            # per-row trigger would cost more than the inserts (see
            # AUDIT_CHAIN_SQL, which keeps the chain).
            cursor.execute("SET LOCAL session_replication_role TO replica")
        cursor.execute(case_rows.MIX_SQL)
        cursor.execute(AUDIT_CHAIN_SQL)
        params = {**fixed, "lo": lo, "hi": hi}
        steps = Steps(cursor)
        steps.run("families", case_rows.FAMILIES_SQL, params)
        steps.run("cases", cases_sql, params)
        first_id, last_id, _made = cursor.fetchone()
        ids = {**fixed, "lo": first_id, "hi": last_id}
        steps.run("intakes", case_rows.INTAKES_SQL, ids)
        steps.run("events", case_rows.EVENTS_SQL, ids)
        steps.run("billing", billing_sql, ids)
        steps.run("big family", portal_rows.BIG_FAMILY_SQL, ids)
        steps.run("invitations", portal_rows.INVITES_SQL, ids)
        steps.run("messages", portal_rows.MESSAGES_SQL, ids)
        if superuser:
            audit_rows = cursor.mogrify(AUDIT_SELECT, ids)
            steps.run("audit", "SELECT pg_temp.bench_audit(%s)", [audit_rows])
        else:
            steps.run("audit", AUDIT_INSERT_SQL, ids)
    return steps


def old_work_finish() -> tuple[int, int]:
    """Finish the open cases older than the newest OPEN_WINDOW (see there); returns how many
    were finished and how many finished ones were dated back."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            case_rows.FINISH_OLD_WORK_SQL.format(still_open=sql_in(STILL_OPEN)),
            {"window": OPEN_WINDOW},
        )
        finished = cursor.rowcount
        cursor.execute(case_rows.AGE_FINISHED_SQL, {"window": OPEN_WINDOW})
        cursor.execute(case_rows.LAST_TOUCHED_SQL.format(still_open=sql_in(STILL_OPEN)))
        dated_back = cursor.rowcount
        if finished or dated_back:
            cursor.execute("ANALYZE cases_case")
    return finished, dated_back


def tables_analyze() -> None:
    with connection.cursor() as cursor:
        for table in ANALYZED_TABLES:
            cursor.execute(f"ANALYZE {table}")
