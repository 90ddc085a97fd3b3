"""Celery: enqueue → start latency of a task, with a real prefork worker on Redis.

    python -m benchmarks.celery_latency [--tasks 200] [--interval-ms 50] [--burst 100]

Starts ``celery -A config.celery_app worker`` as production runs it (the prefork pool, one
child per core, the project's Celery settings: late acks, prefetch 1, JSON) on the broker
the environment names (``BENCH_CELERY_BROKER_URL``, else ``CELERY_BROKER_URL``, else Redis
on 127.0.0.1), on a queue of its own so no other worker takes its tasks, with
``benchmarks.celery_probe`` loaded beside the project's tasks. Then it enqueues a task
that only writes down when it started:

- **paced**: ``--tasks`` tasks, one every ``--interval-ms``: each finds a worker child idle,
  so this is the cost of the trip itself (publish, Redis, the worker's consumer, the pool
  handing the task to a child);
- **burst**: ``--burst`` tasks enqueued at once: later ones wait for the children, so this
  includes queueing, as when a page's save queues several tasks together.

Latency is the task's start (``time.time()`` in the child) minus the time just before
``apply_async``: both clocks are this machine's. Prints p50, p99 and max per phase with the
load average; the JSON (``benchmarks/results/celery_latency.json``) has every sample.
"""

import argparse
import contextlib
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

from .processes import PROJECT_ROOT, child_process

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
READY_TIMEOUT_S = 90
COLLECT_TIMEOUT_S = 120
# The worker's first tasks fork-warm its children and open its connections: not timed.
WARMUP_TASKS = 10


def broker_url() -> str:
    return (
        os.environ.get("BENCH_CELERY_BROKER_URL")
        or os.environ.get("CELERY_BROKER_URL")
        or os.environ.get("REDIS_URL")
        or DEFAULT_BROKER
    )


def celery_env(broker: str, queue: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        "CELERY_BROKER_URL": broker,
        # base.py makes Celery eager without REDIS_URL; a benchmark of the queue must queue.
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_QUEUE": queue,
    }


@contextlib.contextmanager
def worker(env: dict[str, str], log_path: Path, concurrency: int) -> Any:
    cmd = [
        str(Path(sys.executable).with_name("celery")),
        "-A",
        "config.celery_app",
        "worker",
        "--pool=prefork",
        f"--concurrency={concurrency}",
        "--loglevel=WARNING",
        "-I",
        "benchmarks.celery_probe",
        "-n",
        f"bench-latency-{os.getpid()}@%h",
    ]
    with child_process(cmd, env=env, log_path=log_path) as proc:
        yield proc


def send(probe: Any, broker: str, key: str) -> None:
    probe.apply_async(args=[broker, key, time.time()])


def collect(client: redis.Redis, key: str, count: int, proc: subprocess.Popen) -> list[float]:
    """The latencies (s) of ``count`` tasks, as they report to ``key``."""
    samples: list[float] = []
    deadline = time.monotonic() + COLLECT_TIMEOUT_S
    while len(samples) < count:
        if proc.poll() is not None:
            raise RuntimeError(f"the worker exited with {proc.returncode}")
        left = deadline - time.monotonic()
        if left <= 0:
            raise RuntimeError(f"only {len(samples)} of {count} tasks started in time")
        item = client.blpop([key], timeout=max(1, math.ceil(min(left, 5))))
        if item is not None:
            sent_at, started_at = json.loads(item[1])
            samples.append(started_at - sent_at)
    return samples


def stats(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1] * 1000

    return {
        "tasks": len(ordered),
        "p50_ms": round(pct(50), 2),
        "p99_ms": round(pct(99), 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
        "samples_ms": [round(s * 1000, 2) for s in samples],
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.celery_latency", description=None)
    parser.add_argument("--tasks", type=int, default=200, help="paced tasks (default 200)")
    parser.add_argument(
        "--interval-ms", type=float, default=50, help="between two paced tasks (default 50)"
    )
    parser.add_argument("--burst", type=int, default=100, help="tasks enqueued at once")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=os.cpu_count() or 2,
        help="worker children (default: the CPU count, as celery's own default)",
    )
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "celery_latency.json")
    args = parser.parse_args(argv)
    if min(args.tasks, args.burst, args.concurrency) <= 0 or args.interval_ms < 0:
        parser.error("--tasks, --burst and --concurrency must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    broker = broker_url()
    queue = f"bench-latency-{uuid.uuid4().hex[:8]}"
    key = f"bench:latency:{queue}"
    env = celery_env(broker, queue)
    os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL")})
    os.environ.update({k: env[k] for k in ("CELERY_TASK_ALWAYS_EAGER", "CELERY_QUEUE")})
    sys.path.insert(0, str(PROJECT_ROOT))
    import django

    django.setup()
    # After setup: the task module's app reads the settings chosen above.
    from benchmarks.celery_probe import probe

    client = redis.Redis.from_url(broker)
    client.delete(key)
    load_start = os.getloadavg()
    results: dict[str, Any] = {
        "schema": 1,
        "kind": "celery_latency",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "broker": broker.split("@")[-1],
        "worker": {"pool": "prefork", "concurrency": args.concurrency},
        "load_average_start": list(load_start),
    }
    log_path = RESULTS_DIR / "celery-latency-worker.log"
    try:
        with worker(env, log_path, args.concurrency) as proc:
            started = time.monotonic()
            # Ready when the first task comes back: the worker has connected, its children
            # are forked and its consumer takes from the queue.
            send(probe, broker, key)
            deadline = started + READY_TIMEOUT_S
            while client.llen(key) == 0:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"The Celery worker did not start; see {log_path}")
                time.sleep(0.1)
            results["worker"]["ready_s"] = round(time.monotonic() - started, 2)
            client.delete(key)
            for _ in range(WARMUP_TASKS):
                send(probe, broker, key)
            collect(client, key, WARMUP_TASKS, proc)
            paced: list[float] = []
            for _ in range(args.tasks):
                send(probe, broker, key)
                paced += collect(client, key, 1, proc)
                time.sleep(args.interval_ms / 1000)
            results["paced"] = {"interval_ms": args.interval_ms, **stats(paced)}
            for _ in range(args.burst):
                send(probe, broker, key)
            results["burst"] = stats(collect(client, key, args.burst, proc))
    finally:
        client.delete(key)
        client.close()
    results["load_average"] = list(os.getloadavg())
    print(f"Celery enqueue → start, prefork worker ({args.concurrency} children), {broker}")
    print(f"{'phase':<8} {'tasks':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for phase in ("paced", "burst"):
        row = results[phase]
        print(
            f"{phase:<8} {row['tasks']:>5} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} "
            f"{row['max_ms']:>8.2f}"
        )
    print(
        f"paced: one task every {args.interval_ms:g} ms, each waited for; burst: {args.burst} "
        f"at once. Load average {load_start[0]:.1f} → {results['load_average'][0]:.1f}."
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"JSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
