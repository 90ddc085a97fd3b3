"""Run untrusted-input work (decoders, renderers) in a child process with hard limits.

The record viewer, the imaging indexer and the slide tiler all parse files that families
upload: a crafted file can make a decoder allocate without bound, loop, or crash. Each such
job runs in a fresh interpreter (``python -I script``) with a CPU and an address-space limit
(``setrlimit`` in the child), a wall-clock timeout (kill in the parent), no secrets in its
environment and one thread per math library, so its memory limit is predictable.

The protocol is small: the parent writes one JSON job to the child's stdin; the child writes
its result bytes to stdout and exits 0, or exits 2 with a one-line JSON refusal
(``{"kind": "refused", "message": ...}``: the file is fine but we won't do this with it, the
message is for people), or exits 1 with ``{"kind": "error", "message": <exception type>}``.
Nothing of the file's content is ever logged: decoders' messages may quote its bytes.

No kept library does "subprocess + rlimits + JSON job" for arbitrary scripts (multiprocessing
pools reuse processes, so a limit or a crash would carry over between files); this is ~100
lines written by hand for that reason.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

REFUSED_EXIT = 2


class ChildRefused(Exception):
    """The child declined the job with a message meant for people (exit status 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ChildFailed(RuntimeError):
    """The child crashed, ran out of memory or CPU, or took too long."""

    def __init__(self, reason: str, *, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timed_out = timed_out


def child_env() -> dict[str, str]:
    """No secrets reach the decoders; one thread each, so the memory limit is predictable."""
    keep = ("PATH", "HOME", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["LANG"] = env["LC_ALL"] = "C.UTF-8"
    for threads in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[threads] = "1"
    return env


def run_script(
    target: str,
    job: dict[str, Any],
    *,
    seconds: float,
    memory_bytes: int,
    label: str = "child process",
) -> bytes:
    """Run ``target`` ("package.module:function") on ``job`` in a child under the limits.

    The function takes the job dict and returns bytes; it may raise ChildRefused (or a
    subclass) to decline with a message for people. The child is ``core/child.py`` run with
    ``-I`` (no user site, no PYTHONPATH), which puts the project on ``sys.path`` itself.
    Returns the function's bytes, or raises ChildRefused / ChildFailed.
    """
    job = {
        **job,
        "target": target,
        "cpu_seconds": math.ceil(seconds) + 1,
        "memory_bytes": memory_bytes,
    }
    # The context manager closes all three pipes, even after a kill mid-write.
    with subprocess.Popen(  # noqa: S603 - our own interpreter running our own file
        [sys.executable, "-I", str(Path(__file__).with_name("child.py"))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
        close_fds=True,
        start_new_session=True,
    ) as proc:
        try:
            out, err = proc.communicate(json.dumps(job).encode(), timeout=seconds)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            logger.warning("%s stopped after %.1f s (time limit)", label, seconds)
            raise ChildFailed("time limit", timed_out=True) from None
        finally:
            if proc.poll() is None:  # interrupted some other way: never leave a decoder behind
                proc.kill()
                proc.wait()
    if proc.returncode == 0:
        return out
    last = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
    try:
        line = json.loads(last[0])
    except ValueError:
        line = {}
    if not isinstance(line, dict):
        line = {}
    if proc.returncode == REFUSED_EXIT and line.get("kind") == "refused":
        raise ChildRefused(str(line.get("message") or ""))
    # The child's message names an exception type, never file content.
    reason = str(line.get("message") or f"exit status {proc.returncode}")[:300]
    if proc.returncode < 0:
        reason = f"killed by signal {-proc.returncode} (CPU or memory limit)"
    logger.warning("%s failed: %s", label, reason)
    raise ChildFailed(reason)


def child_main() -> int:  # pragma: no cover - runs in the child; covered through run_script
    """The child's side: apply the limits, run the target, report as the protocol says."""
    try:
        job = json.loads(sys.stdin.buffer.read())
        cpu = int(job["cpu_seconds"])
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        memory = int(job["memory_bytes"])
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        module_name, _, function_name = str(job["target"]).partition(":")
        handler: Callable[[dict[str, Any]], bytes] = getattr(
            importlib.import_module(module_name), function_name
        )
        out = handler(job)
    except ChildRefused as exc:
        sys.stderr.write(json.dumps({"kind": "refused", "message": exc.message}) + "\n")
        return REFUSED_EXIT
    except BaseException as exc:  # MemoryError, RecursionError, anything: report, exit 1
        # The type only: a decoder's message may quote bytes of the file.
        sys.stderr.write(json.dumps({"kind": "error", "message": type(exc).__name__}) + "\n")
        return 1
    sys.stdout.buffer.write(out)
    sys.stdout.buffer.flush()
    return 0
