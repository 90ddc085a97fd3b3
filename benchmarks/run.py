"""Runs the scenarios of benchmarks.scenarios side by side and prints their ratios.

    python -m benchmarks.run [--duration S] [--rounds N] [--concurrency C] [--json PATH]
                             [--only NAME ...] [--generator auto|wrk|python]
                             [--upload [--upload-size-mb MIB]]

Creates and migrates the bench database, runs each scenario's setup, serves each WSGI app with
its own gunicorn, and drives them in alternating rounds with wrk (or the Python client), on
127.0.0.1 only. With --upload, then runs benchmarks.upload (the large-file path, about two
minutes more) and adds its results to the JSON under "upload".
"""

import argparse
import contextlib
import http.client
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import loadgen, server
from .loadgen import HOST, Measurement
from .scenarios import DJANGO_APP, REFERENCE_LEVELS, Scenario, Target, by_name
from .scenarios import SCENARIOS as ALL_SCENARIOS

RESULTS_DIR = Path(__file__).resolve().parent / "results"
# Per scenario: 10 timed seconds in 5 rounds of 2 s, after 2 s of warm-up. Three levels take
# about 36 s of load; each page scenario added costs about 12 s more. Many short rounds rather
# than a few long ones give each scenario more chances of a round nothing else disturbed.
DEFAULT_DURATION_S = 10.0
DEFAULT_ROUNDS = 5
DEFAULT_WARMUP_S = 2.0
# Two requests in flight per sync worker: one being served, one waiting in the listen queue,
# so that no worker idles while the client reconnects. More only adds queueing to the latencies.
DEFAULT_CONCURRENCY = 4
# Far above what one round can reach on loopback, so that time is what normally ends a round;
# it bounds a round even if the clock misbehaves.
DEFAULT_MAX_REQUESTS = 1_000_000
# --queue: the console at a thousand and a hundred thousand cases; a million is opt-in.
DEFAULT_SIZES = [1_000, 100_000]
# Before each load the runner waits until every worker of every Django server has answered
# a request sent after the last load ended (server.drain), then idles this long, so that
# the closed sockets leave TIME_WAIT handling before the next one is timed.
DRAIN_SECONDS = 0.5
DRAIN_PATH = "/_bench/pid/"
# A round lasts until it has made this many requests (at the warm-up's rate), within
# MAX_ROUND_S: otherwise a slow page's round of 2 s is a handful of requests.
DEFAULT_MIN_REQUESTS = 40
MAX_ROUND_S = 20

# Above this, something else took a large share of the CPU during some rounds.
NOISY_SPREAD = 0.25


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument(
        "--duration",
        type=float,
        default=DEFAULT_DURATION_S,
        help="seconds timed per scenario, split over the rounds (whole seconds per round)",
    )
    parser.add_argument(
        "--rounds", type=int, default=DEFAULT_ROUNDS, help="alternating rounds; the best is kept"
    )
    parser.add_argument(
        "--warmup", type=float, default=DEFAULT_WARMUP_S, help="untimed seconds per scenario"
    )
    parser.add_argument(
        "--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="open connections"
    )
    parser.add_argument(
        "--max-requests", type=int, default=DEFAULT_MAX_REQUESTS, help="cap per round"
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=RESULTS_DIR / "latest.json",
        help="where to write the results (default: benchmarks/results/latest.json)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="run these scenarios (L0, L1 and their baselines are added, for the ratios)",
    )
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--drain",
        type=float,
        default=DRAIN_SECONDS,
        help="idle seconds between two loads, so the last one's requests and sockets drain",
    )
    parser.add_argument(
        "--min-requests",
        type=int,
        default=DEFAULT_MIN_REQUESTS,
        help="lengthen a slow scenario's rounds until each makes about this many requests "
        f"(at its warm-up's rate; default {DEFAULT_MIN_REQUESTS})",
    )
    parser.add_argument(
        "--max-round",
        type=int,
        default=MAX_ROUND_S,
        help=f"the longest a round may grow to, in seconds (default {MAX_ROUND_S})",
    )
    parser.add_argument(
        "--upload",
        action="store_true",
        help="then run benchmarks.upload, the large-file path (about two minutes more)",
    )
    parser.add_argument(
        "--upload-size-mb",
        type=int,
        default=1024,
        help="with --upload: the file's size in MiB (default 1024)",
    )
    parser.add_argument(
        "--queue",
        action="store_true",
        help="the coordinator console (queue and searches) at each of --sizes cases, "
        "against L2, instead of the page scenarios",
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=DEFAULT_SIZES,
        help="with --queue: comma-separated numbers of cases, ascending (default 1000,100000; "
        "add 1000000 for the million, about 15 minutes to create the first time)",
    )
    parser.add_argument(
        "--summary",
        nargs="+",
        type=Path,
        metavar="JSON",
        help="print the --queue summary across the JSON files of earlier --queue runs "
        "(one per size, e.g. each made on a database of its own) and exit",
    )
    args = parser.parse_args(argv)
    if min(args.duration, args.rounds, args.concurrency, args.max_requests, args.max_round) <= 0:
        parser.error(
            "--duration, --rounds, --concurrency, --max-requests and --max-round must be positive"
        )
    if args.min_requests < 0:
        parser.error("--min-requests cannot be negative")
    if args.warmup < 0:
        parser.error("--warmup cannot be negative")
    return args


def _sizes(raw: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("--sizes takes numbers: 1000,100000") from None
    if not sizes or min(sizes) <= 0 or sizes != sorted(sizes):
        # Ascending, because bench_cases only ever adds cases to the one bench table.
        raise argparse.ArgumentTypeError("--sizes must be positive and ascending")
    return sizes


def check_registry() -> dict[str, Scenario]:
    known = by_name()
    if len(known) != len(ALL_SCENARIOS):
        raise SystemExit("benchmarks.scenarios: two scenarios share a name.")
    for name in REFERENCE_LEVELS:
        if name not in known:
            raise SystemExit(f"benchmarks.scenarios: the reference level {name} is missing.")
    for scenario in ALL_SCENARIOS:
        if scenario.baseline is not None and scenario.baseline not in known:
            raise SystemExit(f"{scenario.name}: unknown baseline {scenario.baseline}.")
    return known


def select(only: list[str] | None, *, queue: bool = False) -> list[Scenario]:
    known = check_registry()
    if not only:
        group = "queue" if queue else "pages"
        only = [s.name for s in ALL_SCENARIOS if s.group == group]
        if not only:
            return [s for s in ALL_SCENARIOS if s.name in REFERENCE_LEVELS]
    unknown = [name for name in only if name not in known]
    if unknown:
        raise SystemExit(f"Unknown scenario(s) {', '.join(unknown)}; known: {', '.join(known)}")
    wanted: set[str] = set()
    for start in [*REFERENCE_LEVELS, *only]:
        name: str | None = start
        while name is not None and name not in wanted:
            wanted.add(name)
            name = known[name].baseline
    return [scenario for scenario in ALL_SCENARIOS if scenario.name in wanted]


# Database ---------------------------------------------------------------------------------


def ensure_database() -> None:
    """Creates the bench database when it is missing, through the server's ``postgres`` db."""
    import psycopg
    from django.conf import settings
    from psycopg import sql

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("BENCH_DATABASE_URL must point at PostgreSQL: the benchmarks are for it.")
    given = {
        key: db.get(name)
        for key, name in [
            ("host", "HOST"),
            ("port", "PORT"),
            ("user", "USER"),
            ("password", "PASSWORD"),
        ]
        if db.get(name)
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **given) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]
        ).fetchone()
        if not exists:
            print(f"Creating database {db['NAME']}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))


def prepare(
    scenarios: list[Scenario],
    *,
    cases: int | None = None,
    counted: dict[str, int] | None = None,
) -> dict[str, Target]:
    """Migrates, runs each scenario's setup, and checks its status and query count in-process.

    With ``cases``, first grows the bench database's case table to that many rows
    (``manage.py bench_cases``). ``counted`` receives each Django scenario's query count."""
    import django
    from django.core.management import call_command
    from django.db import connection, connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    # WhiteNoise warns once per process when STATIC_ROOT is empty, as it is until a deploy's
    # collectstatic; the scenarios time pages, not static files.
    warnings.filterwarnings("ignore", message="No directory at", module="django.core.handlers")
    django.setup()
    check_cache()
    ensure_database()
    print("Migrating the bench database")
    call_command("migrate", interactive=False, verbosity=0)
    if cases is not None:
        call_command("bench_cases", str(cases), "--yes")
    targets: dict[str, Target] = {}
    # Every scenario is checked before the run stops, so one run lists every count to update.
    failures: list[str] = []
    for scenario in scenarios:
        target = scenario.prepare()
        targets[scenario.name] = target
        if not scenario.is_django:
            continue
        # A client of its own, so that cookies one page sets never reach the next.
        client = Client(HTTP_HOST=HOST)
        # Twice: the first request may fill caches (templates, content types) the server has
        # warm during the timed run anyway.
        client.get(target.path, headers=dict(target.headers))
        with CaptureQueriesContext(connection) as queries:
            response = client.get(target.path, headers=dict(target.headers))
        if response.status_code != scenario.expect_status:
            raise SystemExit(
                f"{scenario.name}: {target.path} answered {response.status_code}, "
                f"expected {scenario.expect_status}"
            )
        if counted is not None:
            counted[scenario.name] = len(queries)
        expected = scenario.expected_queries(cases)
        if expected is not None and len(queries) != expected:
            listing = "".join(f"\n  {q['sql']}" for q in queries.captured_queries)
            failures.append(
                f"{scenario.name}: {len(queries)} queries, expected {expected}:{listing}"
            )
    connections.close_all()
    if failures:
        raise SystemExit("\n".join(failures))
    return targets


# Running ----------------------------------------------------------------------------------


# The first request of a page through gunicorn: a slow page on a loaded machine may take
# longer than the load generator's per-request timeout, and should fail as "slow", below.
CHECK_TIMEOUT_S = 120


def check_status(port: int, scenario: Scenario, target: Target) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=CHECK_TIMEOUT_S)
    try:
        conn.request("GET", target.path, headers=dict(target.headers))
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if response.status != scenario.expect_status:
        raise SystemExit(
            f"{scenario.name}: gunicorn answered {response.status} for {target.path}, expected "
            f"{scenario.expect_status}:\n{body[:500].decode(errors='replace')}"
        )


@dataclass(frozen=True)
class Summary:
    """A scenario's rounds, reported by its best one (highest requests/s).

    Best rather than mean or median for the reason timeit reports the minimum: another process
    on the machine can only take CPU away from a round, never give it any, so the fastest round
    is the closest to what the code costs.
    """

    rounds: list[Measurement]
    # Per round, the baseline's req/s over this scenario's, the two timed back to back.
    paired: list[float] = field(default_factory=list)

    @property
    def best(self) -> Measurement:
        return max(self.rounds, key=lambda m: m.rps)

    @property
    def rps(self) -> float:
        return self.best.rps

    @property
    def p50_ms(self) -> float:
        return self.best.p50_ms

    @property
    def p99_ms(self) -> float:
        return self.best.p99_ms

    @property
    def median_rps(self) -> float:
        return statistics.median(m.rps for m in self.rounds)

    @property
    def requests(self) -> int:
        return sum(m.requests for m in self.rounds)

    @property
    def errors(self) -> int:
        return sum(m.errors for m in self.rounds)

    @property
    def spread(self) -> float:
        """(max - min) / max of the rounds' requests/s: how much else was using the machine."""
        values = [m.rps for m in self.rounds]
        return (max(values) - min(values)) / max(values) if max(values) else 0.0


def round_seconds(args: argparse.Namespace) -> int:
    # wrk takes whole seconds only.
    return max(1, round(args.duration / args.rounds))


def round_length(warm_rps: float, seconds: int, args: argparse.Namespace) -> float:
    """Seconds per round for a scenario whose warm-up ran at ``warm_rps``."""
    if warm_rps <= 0:
        return float(args.max_round)
    wanted = args.min_requests / warm_rps
    # Whole seconds: wrk takes no fractions.
    return float(min(args.max_round, max(seconds, math.ceil(wanted))))


def run_all(
    scenarios: list[Scenario], targets: dict[str, Target], args: argparse.Namespace, generator: str
) -> dict[str, Summary]:
    rounds: dict[str, list[Measurement]] = {scenario.name: [] for scenario in scenarios}
    with contextlib.ExitStack() as stack:
        # Every app's server is up for the whole run, so the rounds can alternate between
        # levels: drift on the machine then lands on all of them instead of on one.
        served: dict[str, server.Served] = {}
        for scenario in scenarios:
            if scenario.app not in served:
                log_path = RESULTS_DIR / f"gunicorn-{scenario.name}.log"
                probe = targets[scenario.name].path
                served[scenario.app] = stack.enter_context(
                    server.serve(scenario.app, log_path, probe)
                )
        ports = {app: s.port for app, s in served.items()}

        def load(scenario: Scenario, seconds: float) -> Measurement:
            return loadgen.run(
                generator,
                ports[scenario.app],
                targets[scenario.name],
                duration=seconds,
                concurrency=args.concurrency,
                max_requests=args.max_requests,
                expect_status=scenario.expect_status,
            )

        def drain() -> None:
            # Every server, not only the last one loaded: a page's backlog (requests the
            # load generator sent before it stopped) is still being served when the next
            # load starts, and would be timed as the next scenario's slowness.
            for app, one in served.items():
                if app == DJANGO_APP:
                    server.drain(one, DRAIN_PATH)
            time.sleep(args.drain)

        seconds = round_seconds(args)
        # Each scenario's round length: at least the round's seconds, and long enough for
        # --min-requests at the rate its warm-up ran (at most --max-round seconds), so a
        # page at 5 req/s is not judged on ten requests while L0 makes thousands.
        lengths: dict[str, float] = {}
        for scenario in scenarios:
            check_status(ports[scenario.app], scenario, targets[scenario.name])
            lengths[scenario.name] = float(seconds)
            if args.warmup > 0:
                # Opens each worker's database connection and fills Django's caches.
                drain()
                warm = load(scenario, args.warmup)
                lengths[scenario.name] = round_length(warm.rps, seconds, args)
                print(
                    f"  warm-up {scenario.name}: {warm.rps:,.1f} req/s, rounds of "
                    f"{lengths[scenario.name]:g} s",
                    flush=True,
                )
        named = {scenario.name: scenario for scenario in scenarios}
        paired: dict[str, list[float]] = {scenario.name: [] for scenario in scenarios}
        for number in range(1, args.rounds + 1):
            cells = []
            for scenario in scenarios:
                length = lengths[scenario.name]
                drain()
                base = named.get(scenario.baseline or "")
                before = None
                if base is not None:
                    # The baseline again, right before the page and for as long: a busy
                    # spell on the shared machine then hits both halves of the pair, and
                    # the pair's ratio holds where the absolute req/s do not.
                    before = load(base, length)
                    drain()
                measured = load(scenario, length)
                if measured.requests >= args.max_requests:
                    # wrk's main thread sleeps out the whole duration even when the cap stopped
                    # its workers, so such a round's req/s is understated.
                    print(f"  {scenario.name} reached --max-requests: raise it for true req/s")
                rounds[scenario.name].append(measured)
                if before is not None and measured.rps > 0:
                    paired[scenario.name].append(before.rps / measured.rps)
                cells.append(f"{scenario.name} {measured.rps:,.0f}")
            print(f"  round {number}/{args.rounds} (req/s): {', '.join(cells)}", flush=True)
        drain()
    return {name: Summary(measured, paired[name]) for name, measured in rounds.items()}


# Reporting --------------------------------------------------------------------------------


def cost_ratio(results: dict[str, Summary], name: str, reference: str | None) -> float | None:
    """How many times more server time a request of ``name`` costs than one of ``reference``."""
    if reference is None or reference not in results or results[name].rps == 0:
        return None
    return results[reference].rps / results[name].rps


def build_report(
    scenarios: list[Scenario],
    targets: dict[str, Target],
    results: dict[str, Summary],
    args: argparse.Namespace,
    generator: str,
    report_cases: int | None = None,
) -> dict[str, Any]:
    rows = []
    for scenario in scenarios:
        m = results[scenario.name]
        ratios: dict[str, dict[str, float | None]] = {}
        for reference in dict.fromkeys([*REFERENCE_LEVELS, scenario.baseline]):
            if reference is None or reference not in results:
                continue
            ref = results[reference]
            ratios[reference] = {
                "cost": _round(cost_ratio(results, scenario.name, reference)),
                "p50": _round(m.p50_ms / ref.p50_ms if ref.p50_ms else None),
                "p99": _round(m.p99_ms / ref.p99_ms if ref.p99_ms else None),
            }
        rows.append(
            {
                "name": scenario.name,
                "description": scenario.description,
                "app": scenario.app,
                "path": targets[scenario.name].path,
                "baseline": scenario.baseline,
                "queries": scenario.expected_queries(report_cases),
                "requests": m.requests,
                "errors": m.errors,
                "requests_per_second": round(m.rps, 1),
                "p50_ms": round(m.p50_ms, 3),
                "p99_ms": round(m.p99_ms, 3),
                "median_requests_per_second": round(m.median_rps, 1),
                "spread": round(m.spread, 3),
                "ratios": ratios,
                # The baseline's req/s over this one's, per round, each pair timed back to
                # back: the steadier figure on a shared machine.
                "paired_cost": (
                    {
                        "baseline": scenario.baseline,
                        "median": round(statistics.median(m.paired), 3),
                        "min": round(min(m.paired), 3),
                        "max": round(max(m.paired), 3),
                        "rounds": [round(r, 3) for r in m.paired],
                    }
                    if m.paired
                    else None
                ),
                "rounds": [
                    {
                        "requests": r.requests,
                        "errors": r.errors,
                        "seconds": round(r.seconds, 3),
                        "requests_per_second": round(r.rps, 1),
                        "p50_ms": round(r.p50_ms, 3),
                        "p99_ms": round(r.p99_ms, 3),
                        "max_ms": round(r.max_ms, 3),
                    }
                    for r in m.rounds
                ],
            }
        )
    return {
        "schema": 1,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": _git_commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "versions": _versions(),
        "server": {"workers": server.WORKERS, "worker_class": server.WORKER_CLASS},
        "load": {
            "generator": generator,
            "duration_s": args.duration,
            "rounds": args.rounds,
            "round_s": round_seconds(args),
            "warmup_s": args.warmup,
            "concurrency": args.concurrency,
            "max_requests": args.max_requests,
            "drain_s": args.drain,
            "min_requests": args.min_requests,
            "max_round_s": args.max_round,
        },
        "cache": _cache_backend(),
        "load_average": list(os.getloadavg()),
        "scenarios": rows,
    }


def format_table(report: dict[str, Any]) -> str:
    header = [
        "scenario",
        "req/s",
        "p50 ms",
        "p99 ms",
        "spread",
        "errors",
        "x L0",
        "x L1",
        "x base",
        "paired (range)",
    ]
    lines = []
    for row in report["scenarios"]:
        ratios = row["ratios"]
        baseline = row["baseline"]
        base_cell = "-"
        if baseline and baseline in ratios:
            base_cell = f"{_fmt_ratio(ratios[baseline]['cost'])} {baseline}"
        lines.append(
            [
                row["name"],
                f"{row['requests_per_second']:,.0f}",
                f"{row['p50_ms']:.2f}",
                f"{row['p99_ms']:.2f}",
                f"{row['spread']:.0%}",
                str(row["errors"]),
                _fmt_ratio(ratios.get("L0", {}).get("cost")),
                _fmt_ratio(ratios.get("L1", {}).get("cost")),
                base_cell,
                _fmt_paired(row.get("paired_cost")),
            ]
        )
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines, strict=False)]
    out = []
    for i, cells in enumerate([header, *lines]):
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        out.append("  ".join([first, *rest]))
        if i == 0:
            out.append("  ".join("-" * width for width in widths))
    descriptions = [f"{row['name']}: {row['description']}" for row in report["scenarios"]]
    load = report["load"]
    srv = report["server"]
    footer = (
        "x N: a request costs N times the server time of one of that level "
        "(its req/s / this req/s).\n"
        "Figures of each scenario's best round; spread: (max - min) / max req/s of its rounds.\n"
        "paired: the baseline's req/s over the page's, each round timing the two back to "
        "back; the median of the rounds, and their range.\n"
        f"{load['generator']}, {load['concurrency']} connections, {load['rounds']} rounds of "
        f"{load['round_s']} s per scenario (longer for a slow one, to make about "
        f"{load.get('min_requests', 0)} requests); gunicorn with {srv['workers']} "
        f"{srv['worker_class']} workers."
    )
    return "\n".join([*out, "", *descriptions, "", footer])


def _fmt_paired(paired: dict[str, Any] | None) -> str:
    if not paired:
        return "-"
    return f"{paired['median']:.2f} ({paired['min']:.2f}-{paired['max']:.2f})"


def _fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _git_commit() -> str | None:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=server.PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=server.PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        return f"{commit}-dirty" if dirty else commit
    return None


def _cache_backend() -> dict[str, str]:
    from django.conf import settings

    cache = settings.CACHES["default"]
    return {"backend": cache["BACKEND"], "location": str(cache.get("LOCATION", ""))}


def check_cache() -> None:
    """The bench settings cache in Redis, as production does: fail before any timing when it
    does not answer, rather than in every gunicorn worker's first request."""
    from django.conf import settings
    from django.core.cache import cache

    where = settings.CACHES["default"]["LOCATION"]
    try:
        cache.set("bench:ping", "1", 10)
        answered = cache.get("bench:ping") == "1"
    except Exception as error:  # redis-py's errors, whatever the failure
        raise SystemExit(
            f"The bench cache (Redis at {where}) does not answer: {error}. "
            "Start Redis or set BENCH_REDIS_URL."
        ) from error
    if not answered:
        raise SystemExit(f"The bench cache (Redis at {where}) lost a key.")


def _versions() -> dict[str, str | None]:
    from importlib.metadata import version

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (postgres,) = cursor.fetchone()
    connection.close()
    return {
        "django": version("django"),
        "gunicorn": version("gunicorn"),
        "psycopg": version("psycopg"),
        "postgresql": postgres,
    }


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM unwinds like an error, so that the gunicorn servers are stopped, not orphaned.
    signal.signal(signal.SIGTERM, _terminated)
    if args.summary:
        print(format_queue_summary(load_queue_reports(args.summary)))
        return 0
    # Always the bench settings: the runner must never migrate or seed another database.
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
    sys.path.insert(0, str(server.PROJECT_ROOT))
    scenarios = select(args.only, queue=args.queue)
    generator = loadgen.choose(args.generator)
    if args.queue:
        return run_queue(scenarios, args, generator)
    targets = prepare(scenarios)
    total = len(scenarios) * (args.warmup + args.rounds * round_seconds(args))
    print(f"Running {len(scenarios)} scenarios with {generator}, about {total:.0f} s of load")
    load_start = list(os.getloadavg())
    results = run_all(scenarios, targets, args, generator)
    report = build_report(scenarios, targets, results, args, generator)
    report["load_average_start"] = load_start
    print()
    print(format_table(report))
    upload_status = 0
    if args.upload:
        upload_status, report["upload"] = run_upload(args)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nJSON: {args.json}")
    noisy = [row["name"] for row in report["scenarios"] if row["spread"] > NOISY_SPREAD]
    if noisy:
        print(
            f"Spread above {NOISY_SPREAD:.0%} in {', '.join(noisy)}: something else was using "
            "the CPU. The best rounds are kept, but before relying on these ratios rerun on a "
            "quiet machine or with more --rounds and check that they hold."
        )
    failed = [row["name"] for row in report["scenarios"] if row["errors"]]
    if failed:
        print(f"Errors in {', '.join(failed)}: their figures are not valid.", file=sys.stderr)
        return 1
    return upload_status


# The coordinator console at several sizes ------------------------------------------------

# The issue's goals: the queue at >= 0.15 of L2's requests/s, and each console request at a
# million cases costing at most 1.2 times what it costs at a thousand.
QUEUE_GOAL_VS_L2 = 0.15
GROWTH_GOAL = 1.2


def run_queue(scenarios: list[Scenario], args: argparse.Namespace, generator: str) -> int:
    """For each size: grow the table, time the console scenarios against the levels, print
    the table with each page's queries; then the goals across sizes. The JSON holds one
    report per size under ``sizes``."""
    reports: dict[int, dict[str, Any]] = {}
    failed: list[str] = []
    for size in args.sizes:
        print(f"\n=== {size:,} cases ===", flush=True)
        counted: dict[str, int] = {}
        targets = prepare(scenarios, cases=size, counted=counted)
        total = len(scenarios) * (args.warmup + args.rounds * round_seconds(args))
        print(f"Running {len(scenarios)} scenarios with {generator}, about {total:.0f} s of load")
        load_start = list(os.getloadavg())
        results = run_all(scenarios, targets, args, generator)
        report = build_report(scenarios, targets, results, args, generator, size)
        report["load_average_start"] = load_start
        for row in report["scenarios"]:
            row["queries_seen"] = counted.get(row["name"])
        report["cases"] = size
        reports[size] = report
        print()
        print(format_table(report))
        print("queries per request: " + ", ".join(f"{n} {q}" for n, q in counted.items()))
        failed += [f"{row['name']} at {size:,}" for row in report["scenarios"] if row["errors"]]
    print()
    print(format_queue_summary(reports))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps({"schema": 1, "kind": "queue", "sizes": reports}, indent=2) + "\n"
    )
    print(f"\nJSON: {args.json}")
    if failed:
        print(f"Errors in {', '.join(failed)}: their figures are not valid.", file=sys.stderr)
        return 1
    return 0


def load_queue_reports(paths: list[Path]) -> dict[int, dict[str, Any]]:
    """The per-size reports of --queue JSON files; a size measured twice keeps the later
    file's report."""
    reports: dict[int, dict[str, Any]] = {}
    for path in paths:
        data = json.loads(path.read_text())
        if data.get("kind") != "queue":
            raise SystemExit(f"{path}: not the JSON of a --queue run")
        for size, report in data["sizes"].items():
            reports[int(size)] = report
    return reports


def format_queue_summary(reports: dict[int, dict[str, Any]]) -> str:
    """Per console scenario and size: req/s as a fraction of L2's in the same run, and the
    cost relative to the smallest size (each run's cost taken against its own L2, so that
    drift of the machine between sizes cancels)."""
    sizes = sorted(reports)
    smallest = sizes[0]
    names = [
        row["name"]
        for row in reports[smallest]["scenarios"]
        if row["name"] not in ("L0", "L1", "L2")
    ]

    def row_of(size: int, name: str) -> dict[str, Any]:
        return next(r for r in reports[size]["scenarios"] if r["name"] == name)

    header = [
        "scenario",
        "cases",
        "queries",
        "req/s",
        "L2 requests (range)",
        "÷ L2",
        "cost vs " + f"{smallest:,}",
        "load",
    ]

    def cost_of(row: dict[str, Any]) -> float | None:
        # The paired median where the run has one (each round's page against its L2 timed
        # right before it); else the best rounds' ratio of older JSON files.
        paired = row.get("paired_cost")
        return paired["median"] if paired else row["ratios"]["L2"]["cost"]

    lines = []
    for name in names:
        base_cost = cost_of(row_of(smallest, name))
        for size in sizes:
            row = row_of(size, name)
            cost = cost_of(row)
            paired = row.get("paired_cost")
            spread = f" ({paired['min']:.1f}-{paired['max']:.1f})" if paired else ""
            load = reports[size].get("load_average_start"), reports[size].get("load_average")
            lines.append(
                [
                    name,
                    f"{size:,}",
                    str(row.get("queries_seen", "-")),
                    f"{row['requests_per_second']:,.0f}",
                    f"{cost:.1f}{spread}" if cost else "-",
                    f"{1 / cost:.3f}" if cost else "-",
                    f"{cost / base_cost:.2f}" if cost and base_cost else "-",
                    "-".join(f"{one[0]:.1f}" for one in load if one) or "-",
                ]
            )
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines, strict=False)]
    out = []
    for i, cells in enumerate([header, *lines]):
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        out.append("  ".join([first, *rest]))
        if i == 0:
            out.append("  ".join("-" * width for width in widths))
    out.append("")
    out.append(
        "L2 requests: the page's cost in L2 requests, the median of the paired rounds "
        "(range). "
        f"÷ L2: its inverse (goal for admin-queue >= {QUEUE_GOAL_VS_L2}). "
        f"cost vs {smallest:,}: the median cost over its cost at "
        f"{smallest:,} cases (goal at 1,000,000 <= {GROWTH_GOAL}). "
        "load: the 1-minute load average at the start and end of that size's run."
    )
    return "\n".join(out)


# After the pages, so that the S3 server's load never overlaps their rounds; in a process of
# its own, because it configures Django for S3 storage before setting it up.
UPLOAD_TIMEOUT_S = 3600


def run_upload(args: argparse.Namespace) -> tuple[int, dict[str, Any] | None]:
    path = args.json.parent / "upload.json"
    path.unlink(missing_ok=True)
    print("\nThe upload benchmark (python -m benchmarks.upload)", flush=True)
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.upload",
        f"--size-mb={args.upload_size_mb}",
        f"--json={path}",
    ]
    with subprocess.Popen(cmd, cwd=server.PROJECT_ROOT) as proc:
        try:
            returncode = proc.wait(timeout=UPLOAD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            # SIGTERM lets it stop its S3 server and gunicorn and delete its files.
            proc.terminate()
            returncode = proc.wait(timeout=60)
            print("The upload benchmark ran out of time.", file=sys.stderr)
    data = json.loads(path.read_text()) if path.exists() else None
    return (returncode or (0 if data else 1)), data


if __name__ == "__main__":
    sys.exit(main())
