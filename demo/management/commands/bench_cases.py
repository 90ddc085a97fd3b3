"""Fills a benchmark database with realistic cases, fast: ``manage.py bench_cases 100000 --yes``.

The coordinator queue has to stay quick at a million cases, and that can only be measured
on a table that size. The rows are made in PostgreSQL itself (``INSERT … SELECT`` over
``generate_series``), batch by batch, because creating them through the ORM would take
hours at that size; each batch is one transaction, so an interrupted run leaves whole
cases and the next run tops up from there.

``total`` is the number of cases the table should hold afterwards (cases already there
count, whoever made them), so ``bench_cases 1000`` then ``bench_cases 100000`` grow one
table. What each case gets, as the app would leave it:

- a family account of its own pool (about three requests per family, so an email search
  finds a handful of rows at any size) and a local physician's email from a pool of 2,000;
- an ``Intake`` with the child's legal name, date of birth, sex, state of residence (an
  eligible one), address, guardian and physician;
- a status spread over the lifecycle, most cases old and closed, as in a service that has
  run for years; the timestamps that status implies (submitted, assigned, records
  complete), a specialist from a pool of 40 once assigned, and a due date: past for
  finished cases, around now for open ones, so that some are overdue and some at risk;
- the "submitted" timeline event and a billing row for every case past draft;
- one case in 500 belongs to one large family (``BIG_FAMILY_EMAIL``, 200 requests at
  100,000 cases): the family dashboard's worst case;
- one case in ten has a second guardian invited, the family of the next three cases, so
  most families also see a case they do not own (the access gate's second branch);
- two messages in the coordinator thread (the family's, then the answer) and five rows of
  the access log (the family's views) for every case past draft.

It refuses any database whose name does not contain "bench", and runs only with --yes. The
SQL and the pools it draws from are in ``demo.bench``; this is the command in front.
"""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from cases.models import Case
from demo.bench.batches import (
    active_specialties,
    batch_fill,
    batch_params,
    eligible_states,
    is_superuser,
    old_work_finish,
    tables_analyze,
)
from demo.bench.case_rows import made_so_far

# Imported from here by the benchmark scenarios, which look the bench families up.
from demo.bench.pools import BIG_FAMILY_EMAIL as BIG_FAMILY_EMAIL
from demo.bench.pools import FAMILY_EMAIL as FAMILY_EMAIL

BATCH = 50_000


class Command(BaseCommand):
    help = (
        "Fill a benchmark database with realistic cases until it holds TOTAL: "
        "bench_cases 100000 --yes. Refuses a database whose name lacks 'bench'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("total", type=int, help="cases the table should hold afterwards")
        parser.add_argument(
            "--yes", action="store_true", help="really write to this (benchmark) database"
        )
        parser.add_argument("--batch", type=int, default=BATCH, help="cases per transaction")

    def _finish_old_work(self) -> None:
        finished, dated_back = old_work_finish()
        if finished or dated_back:
            self.stdout.write(
                f"  {finished:,} older open cases finished, {dated_back:,} finished ones dated back"
            )

    def handle(self, *args: Any, total: int, yes: bool, batch: int, **options: Any) -> None:
        verbosity = options.get("verbosity", 1)
        name = str(connection.settings_dict["NAME"])
        if connection.vendor != "postgresql":
            raise CommandError("bench_cases needs PostgreSQL (it generates rows in SQL).")
        if "bench" not in name.lower():
            raise CommandError(
                f"Refusing to fill {name!r}: only a database whose name contains 'bench'."
            )
        if not yes:
            raise CommandError(f"This adds up to {total:,} cases to {name!r}; add --yes.")
        if batch <= 0:
            raise CommandError("--batch must be positive.")
        missing = total - Case.objects.count()
        if missing <= 0:
            self.stdout.write(f"{name} already holds {Case.objects.count():,} cases.")
            self._finish_old_work()
            return
        specialties = active_specialties()
        if not specialties:
            raise CommandError("No active specialties: migrate first.")
        fixed = batch_params(specialties, eligible_states())
        superuser = is_superuser()
        if not superuser:
            self.stdout.write(
                "Not a superuser: the access log's rows go through its chain trigger, slowly."
            )
        start = made_so_far() + 1
        end = start + missing - 1
        began = time.monotonic()
        self.stdout.write(f"Adding {missing:,} cases to {name} in batches of {batch:,}")
        for lo in range(start, end + 1, batch):
            hi = min(lo + batch - 1, end)
            steps = batch_fill(fixed=fixed, lo=lo, hi=hi, superuser=superuser)
            if verbosity > 1:
                self.stdout.write("    " + steps.timings())
            elapsed = time.monotonic() - began
            self.stdout.write(f"  {hi - start + 1:,} of {missing:,} ({elapsed:.0f} s)")
        self._finish_old_work()
        tables_analyze()
        self.stdout.write(
            self.style.SUCCESS(
                f"{name} now holds {Case.objects.count():,} cases "
                f"({time.monotonic() - began:.0f} s)."
            )
        )
