"""Load generators: wrk when installed, else a threaded client in Python (http.client).

Both are bounded by time and by request count and stop by themselves. They only ever talk to
127.0.0.1. Figures from the two are not comparable with each other: the Python client is
GIL-bound and saturates well before wrk does, which compresses the ratios against L0.
"""

import http.client
import itertools
import json
import math
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .scenarios import Target

HOST = "127.0.0.1"
WRK = "/usr/bin/wrk"
REQUEST_TIMEOUT_S = 10

# wrk runs one Lua state per thread: each counts its own responses against its share of the
# request cap, and the unexpected statuses (wrk itself only counts those of 400 and up); done()
# collects them through setup()'s thread handles and prints one JSON line for the runner.
WRK_SCRIPT = """
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  cap = tonumber(args[1]) or 0
  expected = tonumber(args[2]) or 200
  count = 0
  unexpected = 0
end

function response(status, headers, body)
  count = count + 1
  if status ~= expected then
    unexpected = unexpected + 1
  end
  if cap > 0 and count >= cap then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local unexpected_total = 0
  for _, thread in ipairs(threads) do
    unexpected_total = unexpected_total + thread:get("unexpected")
  end
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"socket_errors":%d,"status_errors":%d,'
    .. '"p50_us":%d,"p99_us":%d,"max_us":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    unexpected_total, latency:percentile(50), latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True)
class Measurement:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def choose(preference: str) -> str:
    if preference == "auto":
        return "wrk" if Path(WRK).exists() else "python"
    if preference == "wrk" and not Path(WRK).exists():
        raise SystemExit(f"--generator wrk: {WRK} is missing (Debian package 'wrk').")
    return preference


def run(
    generator: str,
    port: int,
    target: Target,
    *,
    duration: float,
    concurrency: int,
    max_requests: int,
    expect_status: int,
) -> Measurement:
    if generator == "wrk":
        return _run_wrk(port, target, duration, concurrency, max_requests, expect_status)
    return _run_python(port, target, duration, concurrency, max_requests, expect_status)


def _run_wrk(
    port: int,
    target: Target,
    duration: float,
    concurrency: int,
    max_requests: int,
    expect_status: int,
) -> Measurement:
    # One thread is plenty for loopback at these rates and leaves the second core to gunicorn.
    threads = 1
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        cmd = [
            WRK,
            f"--threads={threads}",
            f"--connections={concurrency}",
            f"--duration={max(1, math.ceil(duration))}s",
            f"--timeout={REQUEST_TIMEOUT_S}s",
            f"--script={script.name}",
        ]
        for name, value in target.headers.items():
            cmd += ["--header", f"{name}: {value}"]
        url = f"http://{HOST}:{port}{target.path}"
        cmd += [url, "--", str(max_requests // threads), str(expect_status)]
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=duration + REQUEST_TIMEOUT_S + 30,
            check=False,
        )
    finally:
        Path(script.name).unlink(missing_ok=True)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    return Measurement(
        requests=data["requests"],
        errors=data["socket_errors"] + data["status_errors"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )


def _run_python(
    port: int,
    target: Target,
    duration: float,
    concurrency: int,
    max_requests: int,
    expect_status: int,
) -> Measurement:
    tickets = itertools.count()  # next() on it is atomic under the GIL: a lock-free request cap
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    headers = dict(target.headers)
    start = time.perf_counter()
    deadline = start + duration

    def worker(slot: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
        own = latencies[slot]
        try:
            while time.perf_counter() < deadline and next(tickets) < max_requests:
                sent = time.perf_counter()
                try:
                    conn.request("GET", target.path, headers=headers)
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException):
                    errors[slot] += 1
                    conn.close()  # http.client reopens it on the next request
                    continue
                own.append(time.perf_counter() - sent)
                if response.status != expect_status:
                    errors[slot] += 1
        finally:
            conn.close()

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=duration + REQUEST_TIMEOUT_S + 5)
    elapsed = time.perf_counter() - start
    merged = sorted(itertools.chain.from_iterable(latencies))
    return Measurement(
        requests=len(merged),
        errors=sum(errors),
        seconds=elapsed,
        p50_ms=_percentile(merged, 50) * 1000,
        p99_ms=_percentile(merged, 99) * 1000,
        max_ms=(merged[-1] if merged else 0.0) * 1000,
    )


def _percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]
