"""The benchmarks' child processes (the gunicorn under test, the Celery worker, the upload
benchmark's moto): started one way and stopped one way, so none outlives its benchmark.

Each child runs from the project root (or the working folder given), reads nothing from our
stdin, writes its output to a log file of its own, and leads its own process group
(``start_new_session``): a stuck worker is ended with its master.
"""

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STOP_TIMEOUT_S = 10


@contextlib.contextmanager
def child_process(
    cmd: Sequence[str], *, env: Mapping[str, str], log_path: Path, cwd: Path = PROJECT_ROOT
) -> Iterator[subprocess.Popen]:
    """Runs ``cmd`` in ``cwd`` until the block ends, its output in ``log_path``; then
    ``stop_process``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            stop_process(proc)


def stop_process(proc: subprocess.Popen) -> None:
    """SIGTERM, then after STOP_TIMEOUT_S SIGKILL to its process group (started with
    start_new_session)."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)  # graceful: a master stops its workers
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_TIMEOUT_S)
