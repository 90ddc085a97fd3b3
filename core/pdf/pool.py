"""This process's warm renderers: each a ``python -I core/pdf/renderer.py`` process that has
imported WeasyPrint and rendered a warm-up page, and forks a fresh child for every job (see
``worker``). A thread takes an idle renderer (or starts one), runs one job on it, and puts it
back; a renderer found dead is replaced, and one inherited through a fork is left alone.
"""

import atexit
import contextlib
import json
import logging
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .errors import PdfRenderError
from .wire import RendererGone, read_frame, redact, write_frame

logger = logging.getLogger("core.pdf")

# Idle renderers a process keeps: one per render that ran at the same time, up to this.
# Each holds WeasyPrint in memory; one more render in parallel starts one more for a while.
IDLE_RENDERERS = 2
# Importing WeasyPrint and the warm-up render: not part of any render's time limit.
_START_SECONDS = 60
# How long past a job's own limit we wait for its renderer to kill the child and answer
# before the renderer itself is killed.
_GRACE_SECONDS = 5
_ENTRY = Path(__file__).resolve().with_name("renderer.py")


def stop_renderers() -> None:
    """Stop this process's idle renderers (the next render starts one again). Renderers
    in use by other threads stop when their render ends."""
    with _pool.lock:
        idle, _pool.idle = _pool.idle, []
        _pool.generation += 1
    for renderer in idle:
        renderer.stop()


def _child_env() -> dict[str, str]:
    """Only what fontconfig and the C libraries need: no secrets reach the renderer."""
    keep = ("PATH", "HOME", "TMPDIR", "FONTCONFIG_FILE", "FONTCONFIG_PATH", "XDG_CACHE_HOME")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.setdefault("HOME", "/tmp")  # noqa: S108 - fontconfig wants a home for its cache
    env["LANG"] = env["LC_ALL"] = "C.UTF-8"
    return env


class Outcome:
    def __init__(self, header: dict[str, Any], stderr: bytes, pdf: bytes) -> None:
        self.returncode = int(header.get("returncode", 1))
        self.timed_out = bool(header.get("timed_out"))
        self.seconds = float(header.get("seconds", 0.0))
        self.peak_rss_kb = int(header.get("peak_rss_kb", 0))
        self.stderr = stderr
        self.pdf = pdf


class _Renderer:
    """One renderer process and the pipe pair to it (its stdin and stdout)."""

    def __init__(self) -> None:
        self.owner = os.getpid()
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter running our own file
            [sys.executable, "-I", str(_ENTRY)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # Its own output is not relayed (it could hold anything unredacted); what a
            # render logs comes back framed, through _relay.
            stderr=subprocess.DEVNULL,
            env=_child_env(),
            close_fds=True,
            start_new_session=True,
            bufsize=0,
        )
        if self.proc.stdin is None or self.proc.stdout is None:  # both are PIPE above
            raise RuntimeError("the PDF worker was started without its pipes")
        self.to_fd = self.proc.stdin.fileno()
        self.from_fd = self.proc.stdout.fileno()
        try:
            ready = json.loads(read_frame(self.from_fd, time.monotonic() + _START_SECONDS))
        except BaseException as exc:
            self.stop()
            if isinstance(exc, RendererGone | TimeoutError):
                raise PdfRenderError("The PDF render failed: the renderer did not start") from None
            raise
        if not ready.get("ready"):
            self.stop()
            failure = redact(str(ready.get("error", "")))
            raise PdfRenderError(f"The PDF render failed: the renderer did not start: {failure}")

    def alive(self) -> bool:
        """Without reaping it: while it is unreaped its pid (and process group) stay ours."""
        if self.proc.returncode is not None:
            return False
        try:
            return os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
        except ChildProcessError:
            return False

    def run(self, job: dict[str, Any], deadline: float) -> Outcome | None:
        """The job's outcome, or None when the renderer did not answer in time (then it has
        been stopped, with the child it was running)."""
        job = {**job, "seconds": max(0.0, deadline - time.monotonic())}
        try:
            write_frame(self.to_fd, json.dumps(job).encode())
        except OSError:  # a broken pipe: it died while idle
            raise RendererGone from None
        reply_by = deadline + _GRACE_SECONDS
        try:
            header = json.loads(read_frame(self.from_fd, reply_by))
            stderr = read_frame(self.from_fd, reply_by)
            pdf = read_frame(self.from_fd, reply_by)
        except TimeoutError:
            self.stop()
            return None
        return Outcome(header, stderr, pdf)

    def stop(self) -> None:
        """Kill it and whatever child it is running (one process group), then reap it."""
        if self.owner != os.getpid():  # inherited through a fork: not ours to stop or reap
            self.close_pipes()
            return
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.close_pipes()
        with contextlib.suppress(ChildProcessError):
            self.proc.wait()

    def close_pipes(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()


class _Pool:
    """This process's idle renderers. A renderer is used by one thread at a time: a thread
    takes one out of ``idle`` (or starts one), and puts it back when its job is done."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: list[_Renderer] = []
        self.pid = os.getpid()
        self.generation = 0
        # Renderers a forked child inherited: kept referenced, never stopped or reaped here.
        self.inherited: list[_Renderer] = []


_pool = _Pool()


def _take() -> tuple[_Renderer, int, bool]:
    """A renderer for one job, the pool's generation, and whether it is a fresh one."""
    with _pool.lock:
        if _pool.pid != os.getpid():
            _forget_inherited()
        generation = _pool.generation
        while _pool.idle:
            renderer = _pool.idle.pop()
            if renderer.alive():
                return renderer, generation, False
            renderer.stop()
    return _Renderer(), generation, True  # outside the lock: other threads need not wait


def _give_back(renderer: _Renderer, generation: int) -> None:
    with _pool.lock:
        keep = (
            renderer.owner == os.getpid() == _pool.pid
            and generation == _pool.generation
            and len(_pool.idle) < IDLE_RENDERERS
        )
        if keep:
            _pool.idle.append(renderer)
    if not keep:
        renderer.stop()


def run(job: dict[str, Any], seconds: float) -> Outcome | None:
    """Run the job on a renderer; None when it ran out of time. The time starts when a
    renderer is ready (starting one has a limit of its own). A renderer that dies under a
    job (killed, or found dead on reuse) is replaced and the job sent once more, within
    the same time."""
    deadline = math.inf
    for attempt in (1, 2):
        renderer, generation, fresh = _take()
        deadline = min(deadline, time.monotonic() + seconds)
        try:
            outcome = renderer.run(job, deadline)
        except RendererGone:
            renderer.stop()
            if attempt == 1 and not fresh and time.monotonic() < deadline:
                logger.warning("PDF renderer stopped unexpectedly; starting another")
                continue
            raise PdfRenderError(
                "The PDF render failed: the renderer stopped unexpectedly"
            ) from None
        except BaseException:  # interrupted (a soft time limit, KeyboardInterrupt): no leftovers
            renderer.stop()
            raise
        if outcome is not None:
            _give_back(renderer, generation)
        return outcome
    raise AssertionError("unreachable")  # pragma: no cover


def _forget_inherited() -> None:
    """In a forked child: the parent's renderers are the parent's. Close our copies of their
    pipes (so that a renderer sees its channel close when its own process exits) and start
    afresh. Called with the lock held, or from the fork hook (one thread, no lock needed)."""
    for renderer in _pool.idle:
        renderer.close_pipes()
    _pool.inherited.extend(_pool.idle)
    _pool.idle = []
    _pool.pid = os.getpid()


def _after_fork_in_child() -> None:
    # The lock may have been held by a thread that does not exist in the child.
    _pool.lock = threading.Lock()
    _forget_inherited()


def _stop_at_exit() -> None:
    if _pool.pid == os.getpid():
        stop_renderers()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_stop_at_exit)
