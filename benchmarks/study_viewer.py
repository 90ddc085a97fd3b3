"""B10, the study viewer: a 300-slice 512x512 CT series in headless Chromium against gunicorn.

    python -m benchmarks.study_viewer [--slices 300] [--size 512] [--visits 3] [--json PATH]

Measures, per visit of the study page (``imaging/viewer_views.py``, ``static/js/study-viewer.js``):

- time to first slice: from navigation start to cornerstone's first ``cornerstoneimagerendered``
  event (goal ≤ 1 s), and the same from the page's ``load`` event;
- the time until every instance has been fetched (the page prefetches nearest first, 4 at a time);
- scroll rate: one ``ArrowDown`` at a time, each waited for until its slice is drawn; the
  per-slice latency's median and p95, and slices per second (goal ≥ 20), cold (right after the
  first slice, while prefetching) and warm (every file fetched);
- the web workers' RSS (gunicorn, 2 sync workers, from /proc) before the first visit and after
  each, to see whether serving a study leaves memory behind.

Everything runs on 127.0.0.1: gunicorn with ``benchmarks.settings`` on the bench database
(``BENCH_DATABASE_URL``, default ``…/bench_study_viewer``: created and migrated when missing),
files in a temporary ``VAR_DIR`` (static files collected there, instances stored there), and
Debian's Chromium (``CHROMIUM_PATH``, default /usr/bin/chromium) through Playwright. Missed
goals are printed, not failed. See "The study viewer (B10)" in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_DB = "postgres://postgres:postgres@127.0.0.1:5432/bench_study_viewer"
FIRST_SLICE_GOAL_MS = 1000.0
SCROLL_GOAL_PER_S = 20.0
COLD_STEPS = 30
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Runs before the page's own scripts (through CDP, so the page's CSP does not apply to it):
# notes when the first slice is drawn, and keeps every request's timing.
INIT_SCRIPT = """
// The default buffer holds 250 entries: too few to see 300 instance requests.
performance.setResourceTimingBufferSize(5000);
window.__bench = {first: null};
document.addEventListener('DOMContentLoaded', () => {
  const el = document.getElementById('study-viewport');
  if (!el) return;
  el.addEventListener('cornerstoneimagerendered', () => {
    if (window.__bench.first === null) window.__bench.first = performance.now();
  });
});
"""

# Steps through ``n`` slices with the keyboard, each waited for until drawn; per-step ms.
SCROLL_SCRIPT = """
async ([n, key]) => {
  const el = document.getElementById('study-viewport');
  el.focus();
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const drawn = new Promise(
      r => el.addEventListener('cornerstoneimagerendered', r, {once: true}));
    el.dispatchEvent(new KeyboardEvent('keydown', {key, bubbles: true}));
    await drawn;
    times.push(performance.now() - t0);
  }
  return times;
}
"""


def setup_django(var_dir: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
    os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_DB)
    os.environ["VAR_DIR"] = str(var_dir)
    os.environ.pop("AWS_STORAGE_BUCKET_NAME", None)  # instances on local disk, in VAR_DIR
    sys.path.insert(0, str(PROJECT_ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from benchmarks.run import ensure_database

    ensure_database()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


def seed(slices: int, size: int) -> tuple[str, Any]:
    """A case with a generated CT study; its page path and its specialist."""
    from accounts.models import Role
    from cases.models import Status
    from tests.conftest import _person
    from tests.factories import CaseFactory
    from tests.imaging.builders import build_study

    stamp = str(int(time.time() * 1000))
    specialist = _person(f"bench-viewer-{stamp}@example.org", Role.SPECIALIST)
    family = _person(f"bench-viewer-family-{stamp}@example.org", Role.FAMILY)
    case = CaseFactory(family=family, assigned_specialist=specialist, status=Status.IN_REVIEW)
    started = time.perf_counter()
    built = build_study(case, slices=slices, size=size)
    print(f"Generated {slices} slices of {size}x{size} in {time.perf_counter() - started:.1f} s")
    return f"/workspace/{case.reference}/studies/{built.study.pk}/", specialist


def session_cookie(user: Any) -> tuple[str, str]:
    from django.conf import settings
    from django.test import Client

    from tests.conftest import login

    client = login(Client(), user)
    return settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def stats(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "steps": len(times),
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(p95, 1),
        "slices_per_s": round(len(times) / (sum(times) / 1000), 1),
    }


def visit(context: Any, base: str, path: str, slices: int) -> dict[str, Any]:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + path)
    page.wait_for_function("() => window.__bench && window.__bench.first !== null", timeout=30_000)
    first = page.evaluate("window.__bench.first")
    load_end = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
    cold = page.evaluate(SCROLL_SCRIPT, [COLD_STEPS, "ArrowDown"])
    # A function, not a string: a string would be eval'd in the page, which its CSP forbids.
    page.wait_for_function(
        """(n) => performance.getEntriesByType('resource')
            .filter(e => e.name.endsWith('.dcm') && e.responseEnd > 0).length >= n""",
        arg=slices,
        timeout=300_000,
        polling=100,
    )
    fetched = page.evaluate(
        "Math.max(...performance.getEntriesByType('resource')"
        ".filter(e => e.name.endsWith('.dcm')).map(e => e.responseEnd))"
    )
    page.keyboard.press("Home")
    page.evaluate(SCROLL_SCRIPT, [1, "Home"])
    warm = page.evaluate(SCROLL_SCRIPT, [slices - 1, "ArrowDown"])
    page.close()
    return {
        "first_slice_ms": round(first, 1),
        "first_slice_after_load_ms": round(first - load_end, 1) if load_end else None,
        "all_fetched_ms": round(fetched, 1),
        "cold_scroll": stats(cold),
        "warm_scroll": stats(warm),
        "errors": errors,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from benchmarks import server
    from benchmarks.scenarios import DJANGO_APP

    path, specialist = seed(args.slices, args.size)
    cookie_name, cookie_value = session_cookie(specialist)
    env = {**os.environ}
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
            "python": platform.python_version(),
        },
        "slices": args.slices,
        "size": args.size,
        "visits": [],
    }
    log = RESULTS_DIR / "gunicorn-study-viewer.log"
    with server.serve(DJANGO_APP, log, "/healthz", env=env) as served:
        base = f"http://{server.HOST}:{served.port}"
        pids = served.worker_pids()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
                headless=True,
                args=CHROMIUM_ARGS,
            )
            context = browser.new_context(base_url=base)
            context.add_cookies([{"name": cookie_name, "value": cookie_value, "url": base}])
            context.add_init_script(INIT_SCRIPT)
            # One untimed request so the workers have imported everything the page needs.
            warmup = context.new_page()
            warmup.goto(base + path)
            warmup.close()
            results["rss_mb_before"] = round(rss_mb(pids), 1)
            for n in range(args.visits):
                figures = visit(context, base, path, args.slices)
                figures["rss_mb_after"] = round(rss_mb(pids), 1)
                results["visits"].append(figures)
                print(f"visit {n + 1}: {json.dumps(figures)}")
            browser.close()
        results["machine"]["load_average_after"] = os.getloadavg()
    return results


def goals(results: dict[str, Any]) -> list[str]:
    missed = []
    for n, v in enumerate(results["visits"], 1):
        if v["first_slice_ms"] > FIRST_SLICE_GOAL_MS:
            missed.append(f"visit {n}: first slice {v['first_slice_ms']} ms > 1000 ms")
        if v["warm_scroll"]["slices_per_s"] < SCROLL_GOAL_PER_S:
            missed.append(f"visit {n}: warm scroll {v['warm_scroll']['slices_per_s']}/s < 20/s")
    return missed


def table(results: dict[str, Any]) -> str:
    lines = [
        f"{results['slices']} slices of {results['size']}x{results['size']}, "
        f"load average {results['machine']['load_average'][0]:.1f}",
        "visit | first slice ms (after load) | all fetched ms | cold median/p95 ms (/s) | "
        "warm median/p95 ms (/s) | RSS MB",
    ]
    lines.append(f"before |  |  |  |  | {results['rss_mb_before']}")
    for n, v in enumerate(results["visits"], 1):
        c, w = v["cold_scroll"], v["warm_scroll"]
        lines.append(
            f"{n} | {v['first_slice_ms']} ({v['first_slice_after_load_ms']}) | "
            f"{v['all_fetched_ms']} | {c['median_ms']}/{c['p95_ms']} ({c['slices_per_s']}) | "
            f"{w['median_ms']}/{w['p95_ms']} ({w['slices_per_s']}) | {v['rss_mb_after']}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--visits", type=int, default=3)
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "study_viewer.json")
    args = parser.parse_args(argv)
    # Ended from outside (timeout, kill): unwind, so gunicorn and Chromium are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-viewer-") as var_dir:
        setup_django(Path(var_dir))
        results = run(args)
    args.json.write_text(json.dumps(results, indent=2))
    print(table(results))
    for line in goals(results):
        print("MISSED:", line)
    return 0


if __name__ == "__main__":
    # Run as a module from the project root: python -m benchmarks.study_viewer
    sys.exit(main())
