"""Starts and stops the gunicorn under test, bound to loopback on a free port.

Served as the production image serves the portal (Dockerfile: gunicorn's default sync workers,
heartbeat files in /dev/shm), with 2 workers: one per core of the 2-core machines the project
is built for, which the load generator and PostgreSQL share.

Sync workers also keep the figures steady: they close the connection after each response, so
every request is accepted afresh by whichever worker is free. Threaded workers keep a client's
connection for its whole life, and the one that wakes first usually accepts all of the load
generator's connections, leaving the other idle: rounds then came out at full or at half speed
depending on that draw.
"""

import concurrent.futures
import contextlib
import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .loadgen import HOST

# PROJECT_ROOT and stop_process: the other benchmarks reach them through this module.
from .processes import PROJECT_ROOT as PROJECT_ROOT
from .processes import child_process
from .processes import stop_process as stop_process

WORKERS = 2
WORKER_CLASS = "sync"
# Generous: on a machine at eight times its core count in load, importing Django and the
# project in two workers has taken over 30 s.
READY_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def gunicorn_command() -> list[str]:
    beside_python = Path(sys.executable).with_name("gunicorn")
    if beside_python.exists():
        return [str(beside_python)]
    return [sys.executable, "-m", "gunicorn"]


@dataclass(frozen=True)
class Served:
    """A running gunicorn: its port and its master's process id."""

    port: int
    master_pid: int

    def worker_pids(self) -> list[int]:
        """The master's children (its workers), from /proc."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # ended meanwhile
                continue
            # The name, in parentheses, may hold spaces: the fields after it are fixed.
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.master_pid:
                pids.append(int(entry.name))
        return sorted(pids)


@contextlib.contextmanager
def serve(
    app: str,
    log_path: Path,
    probe_path: str,
    *,
    workers: int = WORKERS,
    env: Mapping[str, str] | None = None,
    timeout: int | None = None,
) -> Iterator[Served]:
    """Serves ``app`` until the block ends; yields the port and the master's pid (to find
    the workers) once ``probe_path`` answers.

    ``env`` replaces the environment the server starts with (default: this process's);
    ``timeout`` gunicorn's worker timeout (default: gunicorn's, 30 s).
    """
    port = free_port()
    cmd = [
        *gunicorn_command(),
        app,
        f"--bind={HOST}:{port}",
        f"--workers={workers}",
        f"--worker-class={WORKER_CLASS}",
        "--worker-tmp-dir=/dev/shm",
        "--log-level=warning",
        "--graceful-timeout=5",
        *([f"--timeout={timeout}"] if timeout is not None else []),
    ]
    env = {**(os.environ if env is None else env), "DJANGO_SETTINGS_MODULE": "benchmarks.settings"}
    with child_process(cmd, env=env, log_path=log_path) as proc:
        _wait_ready(proc, port, probe_path, log_path)
        yield Served(port, proc.pid)


DRAIN_TIMEOUT_S = 180


def drain(served: Served, path: str, *, timeout: float = DRAIN_TIMEOUT_S) -> None:
    """Returns once every worker of ``served`` has answered a request sent now.

    A sync worker serves one request at a time, in the order the listen queue hands them
    out; ``path`` answers with the worker's pid. A worker that answers has finished every
    request it took before, and the queue has handed out everything sent before the probe:
    when all workers have answered, the previous load's backlog is gone.
    """
    workers = set(served.worker_pids())
    seen: set[int] = set()
    deadline = time.monotonic() + timeout

    def probe(_: int) -> int | None:
        conn = http.client.HTTPConnection(HOST, served.port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
        except OSError:
            return None
        finally:
            conn.close()
        return int(body) if response.status == 200 and body.isdigit() else None

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(workers))) as pool:
        while not workers <= seen:
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn on port {served.port} did not drain in {timeout} s")
            # As many at once as there are workers, so a busy one cannot hold them all up.
            for pid in pool.map(probe, range(len(workers))):
                if pid is not None:
                    seen.add(pid)
            # A worker restarted meanwhile (max-requests, a crash) has a new pid.
            workers = set(served.worker_pids())
            if not workers <= seen:
                time.sleep(0.05)


def _wait_ready(proc: subprocess.Popen, port: int, path: str, log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {log_path}")
        conn = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
        finally:
            conn.close()
    raise RuntimeError(f"gunicorn did not answer within {READY_TIMEOUT_S} s; see {log_path}")
