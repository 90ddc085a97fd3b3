"""PDF rendering for the whole project: a Django template in, a tagged PDF out (WeasyPrint).

Every PDF the portal produces (reports, receipts, superbills, statements) goes through
``render_pdf``. What it guarantees:

- **Tagged PDF.** Rendered as PDF/UA-1 (``pdf_variant="pdf/ua-1"``, which turns on
  ``pdf_tags``): the catalog carries ``/MarkInfo`` and ``/StructTreeRoot`` so screen readers
  get headings, tables and reading order. Templates must set ``<html lang>`` and
  ``<title>`` (the PDF title) and use real headings and table headers.
- **Fonts** come from the system (Debian's DejaVu through fontconfig) or from our own static
  files via ``@font-face``; never from anywhere else.
- **Resources only from our own static files.** The URL fetcher answers only URLs under
  ``STATIC_URL`` on the render's own origin, read from the static directories Django serves
  (the staticfiles finders, then ``STATIC_ROOT``), and ``data:`` URLs (bytes already in the
  document: no I/O). Everything else — ``file://``, any network address, our own non-static
  paths, path traversal — is refused and logged without the URL's query or fragment, and
  the document renders without it.
- **A time limit, in a process of its own.** Each render runs in a fresh child process,
  forked for that render alone and gone when it ends, with CPU and memory rlimits inside
  it and a wall-clock limit: when the limit passes the child is killed and the caller gets
  ``PdfRenderTimeout``. The memory limit counts the whole child, WeasyPrint and its
  libraries included (about 240 MB of address space before any document), so a limit below
  that fails every render. A child process rather than ``signal.alarm`` or a thread:
  alarms only work in the main thread (not in threaded servers or thread-pool workers), a
  thread cannot be stopped, and ``multiprocessing`` cannot start children from Celery's
  daemonic prefork workers.
- **Renderer processes.** The children are forked by a *renderer*: this file run as a
  script (``subprocess``, isolated mode, a new session) that imports WeasyPrint once and
  warms it up on a fixed document with no URLs, then for each job forks the child, enforces
  its time limit, kills it when it is exceeded, reaps it and sends back its PDF, its log
  lines and its exit status. So a render does not pay for starting an interpreter and
  importing WeasyPrint (about half a second on a quiet machine, several on a busy one).
  The renderer itself never renders a job (it only reads jobs and relays what the children
  send), so every child starts from the same warmed-up WeasyPrint, with nothing cached from
  another document. The renderer gets a minimal environment (no secrets) and loads neither
  Django nor the database. Each process that renders has its own renderers, used by one
  thread at a time: a thread that finds none idle starts one, so threads render side by
  side, and up to ``_IDLE_RENDERERS`` are kept for the next renders. A renderer found
  dead is replaced, and a job whose renderer died under it is sent once more to a fresh
  one within the same time limit; a process forked from one with renderers (Celery's
  prefork pool) starts its own. Renderers stop when their process exits (their channel
  closes) or calls ``stop_renderers``; a caller interrupted mid-render (a Celery soft time
  limit, for instance) kills its renderer and the child with it, never leaving one behind.
- **No request needed**: a Celery task can call ``render_pdf`` as well as a view.

Tunables (optional settings): ``PDF_RENDER_SECONDS`` (default 20),
``PDF_RENDER_SECONDS_PER_PAGE`` (default 1.5), ``PDF_RENDER_MAX_SECONDS`` (default 120),
``PDF_RENDER_MEMORY_MB`` (default 1024), ``PDF_MAX_RESOURCE_BYTES`` (default 10 MB).

The time limit scales with the document: ``PDF_RENDER_SECONDS`` covers a report of up to
``BASE_PAGES`` pages, each page past that adds ``PDF_RENDER_SECONDS_PER_PAGE``, and
``PDF_RENDER_MAX_SECONDS`` is the hard ceiling. The pages are estimated before the render
from the document's text (``estimated_pages``): a long report (40 pages took 6 to 14 s on
the loaded 2-core machine, benchmarks/README.md) gets the time it needs, while a document
that would take longer than the ceiling is still stopped.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import json
import logging
import math
import mimetypes
import os
import re
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_to_bytes, urljoin, urlsplit

logger = logging.getLogger("reports.pdf")

PDF_VARIANT = "pdf/ua-1"
DEFAULT_SECONDS = 20
DEFAULT_SECONDS_PER_PAGE = 1.5
DEFAULT_MAX_SECONDS = 120
# The pages PDF_RENDER_SECONDS alone covers, and the characters of text a page of the
# report holds (its body type on Letter paper; measured on the benchmark's reports).
BASE_PAGES = 10
CHARS_PER_PAGE = 3_000
DEFAULT_MEMORY_MB = 1024
DEFAULT_MAX_RESOURCE_BYTES = 10 * 1024 * 1024
_MAX_LOG_CHARS = 300
_MAX_LOG_LINES = {"warning": 200, "debug": 50}
# Idle renderers a process keeps: one per render that ran at the same time, up to this.
# Each holds WeasyPrint in memory; one more render in parallel starts one more for a while.
_IDLE_RENDERERS = 2
# Importing WeasyPrint and the warm-up render: not part of any render's time limit.
_START_SECONDS = 60
# How long past a job's own limit we wait for its renderer to kill the child and answer
# before the renderer itself is killed.
_GRACE_SECONDS = 5
_FRAME = struct.Struct("!Q")


class PdfRenderError(RuntimeError):
    """The PDF could not be produced."""


class PdfRenderTimeout(PdfRenderError):
    """The render took longer than its time limit and was stopped."""


def pdf_sha256(pdf: bytes) -> str:
    """The hex SHA-256 of a PDF's bytes (what we store to prove which file was issued)."""
    return hashlib.sha256(pdf).hexdigest()


def render_pdf(
    *,
    template: str,
    context: dict[str, Any] | None = None,
    base_url: str | None = None,
    timeout: float | None = None,
) -> bytes:
    """Render the Django ``template`` with ``context`` (no request, no context processors)
    to PDF bytes. ``base_url`` resolves relative URLs; it defaults to ``SITE_URL``."""
    from django.template.loader import render_to_string

    html = render_to_string(template, context or {})
    return html_to_pdf(html, base_url=base_url, timeout=timeout)


_INVISIBLE = re.compile(r"<(style|script|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def estimated_pages(html: str) -> int:
    """How many pages ``html`` will make, from its visible text (at least one)."""
    text = _SPACE.sub(" ", _TAG.sub(" ", _INVISIBLE.sub(" ", html))).strip()
    return max(1, math.ceil(len(text) / CHARS_PER_PAGE))


def render_seconds(html: str) -> float:
    """The time limit for rendering ``html``: grows with its pages, up to the ceiling."""
    base = float(_setting("PDF_RENDER_SECONDS"))
    per_page = float(_setting("PDF_RENDER_SECONDS_PER_PAGE"))
    ceiling = float(_setting("PDF_RENDER_MAX_SECONDS"))
    extra_pages = max(0, estimated_pages(html) - BASE_PAGES)
    return min(ceiling, base + per_page * extra_pages)


def html_to_pdf(html: str, *, base_url: str | None = None, timeout: float | None = None) -> bytes:
    """Render an HTML string to PDF bytes under the rules in this module's docstring."""
    from django.conf import settings

    base = base_url or f"{settings.SITE_URL}/"
    seconds = float(timeout if timeout is not None else render_seconds(html))
    job = {
        "html": html,
        "base_url": base,
        "static_url": urljoin(base, settings.STATIC_URL or "/static/"),
        "static_roots": static_roots(),
        "cpu_seconds": math.ceil(seconds) + 1,
        "memory_bytes": int(_setting("PDF_RENDER_MEMORY_MB")) * 1024 * 1024,
        "max_resource_bytes": int(_setting("PDF_MAX_RESOURCE_BYTES")),
    }
    outcome = _run(job, seconds)
    if outcome is None or outcome.timed_out:
        if outcome is not None:
            _relay(outcome.stderr)
        logger.warning("PDF render stopped after %.1f s (time limit)", seconds)
        raise PdfRenderTimeout(f"The PDF render took longer than {seconds:g} s and was stopped.")
    failure = _relay(outcome.stderr)
    if outcome.returncode != 0 or not outcome.pdf.startswith(b"%PDF-"):
        if not failure and outcome.returncode < 0:
            failure = f"killed by signal {-outcome.returncode} (CPU or memory limit)"
        elif not failure:
            failure = f"exit status {outcome.returncode}, no PDF"
        raise PdfRenderError(f"The PDF render failed: {failure}")
    logger.debug(
        "PDF rendered in %.2f s (renderer child peak RSS %.0f MB)",
        outcome.seconds,
        outcome.peak_rss_kb / 1024,
        extra={"renderer_peak_rss_kb": outcome.peak_rss_kb},
    )
    return outcome.pdf


def stop_renderers() -> None:
    """Stop this process's idle renderers (the next render starts one again). Renderers
    in use by other threads stop when their render ends."""
    with _pool.lock:
        idle, _pool.idle = _pool.idle, []
        _pool.generation += 1
    for renderer in idle:
        renderer.stop()


def static_roots() -> list[tuple[str, str]]:
    """(URL prefix under STATIC_URL, directory) pairs of the files Django serves as static:
    the staticfiles finders in their order, then STATIC_ROOT (collected files)."""
    from django.conf import settings
    from django.contrib.staticfiles import finders

    roots: list[tuple[str, str]] = []
    for finder in finders.get_finders():
        for storage in getattr(finder, "storages", {}).values():
            location = getattr(storage, "location", None)
            if location:
                roots.append((getattr(storage, "prefix", None) or "", str(location)))
    if settings.STATIC_ROOT and Path(settings.STATIC_ROOT).is_dir():
        roots.append(("", str(settings.STATIC_ROOT)))
    return roots


def _setting(name: str) -> Any:
    from django.conf import settings

    defaults = {
        "PDF_RENDER_SECONDS": DEFAULT_SECONDS,
        "PDF_RENDER_SECONDS_PER_PAGE": DEFAULT_SECONDS_PER_PAGE,
        "PDF_RENDER_MAX_SECONDS": DEFAULT_MAX_SECONDS,
        "PDF_RENDER_MEMORY_MB": DEFAULT_MEMORY_MB,
        "PDF_MAX_RESOURCE_BYTES": DEFAULT_MAX_RESOURCE_BYTES,
    }
    return getattr(settings, name, defaults[name])


def _child_env() -> dict[str, str]:
    """Only what fontconfig and the C libraries need: no secrets reach the renderer."""
    keep = ("PATH", "HOME", "TMPDIR", "FONTCONFIG_FILE", "FONTCONFIG_PATH", "XDG_CACHE_HOME")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.setdefault("HOME", "/tmp")  # noqa: S108 - fontconfig wants a home for its cache
    env["LANG"] = env["LC_ALL"] = "C.UTF-8"
    return env


def _relay(stderr: bytes) -> str:
    """Re-log the child's lines here (so they get the request id and the logging filters):
    refused fetches as warnings, WeasyPrint's errors (a resource it could not load) as
    warnings, its CSS chatter as debug. Returns the child's fatal error, if any."""
    failure = ""
    relayed = {"warning": 0, "debug": 0}
    for raw in stderr.decode("utf-8", "replace").splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            line = {"kind": "weasyprint", "level": logging.WARNING, "message": raw}
        if not isinstance(line, dict):
            continue
        kind, message = line.get("kind"), redact(str(line.get("message", "")))
        if kind == "error":
            failure = message
            logger.error("PDF render failed: %s", failure)
            continue
        level = line.get("level")
        important = kind == "refused" or (isinstance(level, int) and level >= logging.ERROR)
        bucket = "warning" if important else "debug"
        relayed[bucket] += 1
        if relayed[bucket] > _MAX_LOG_LINES[bucket]:
            continue
        if kind == "refused":
            logger.warning("PDF render refused to fetch %s", message)
        elif important:
            logger.warning("WeasyPrint: %s", message)
        else:
            logger.debug("WeasyPrint: %s", message)
    return failure


# --- shared by both sides ---------------------------------------------------------------

_URL_TAIL = re.compile(r"""((?:[A-Za-z][A-Za-z0-9+.-]*://|file:)[^\s'"?#]*)[?#][^\s'"]*""")
_DATA_URL = re.compile(r"""data:[^\s'"]*""")


def redact(message: str) -> str:
    """Drop URL queries and fragments (tokens live there) and data: payloads; cap length."""
    message = _DATA_URL.sub("data:[…]", message)
    message = _URL_TAIL.sub(r"\1?[…]", message)
    return message[:_MAX_LOG_CHARS]


def url_for_log(url: str) -> str:
    if url.startswith("data:"):
        return "data:[…]"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "[malformed URL]"
    return f"{parts.scheme}://{parts.netloc}{parts.path}"[:200]


def static_file_for(
    url: str, static_url: str, roots: list[tuple[str, str]] | list[list[str]]
) -> Path | None:
    """The file in our static directories that ``url`` names, or None when it names
    anything else (another origin, a non-static path, traversal, a missing file)."""
    try:
        wanted, prefix = urlsplit(url), urlsplit(static_url)
    except ValueError:
        return None
    if (wanted.scheme.lower(), wanted.netloc.lower()) != (
        prefix.scheme.lower(),
        prefix.netloc.lower(),
    ):
        return None
    if not wanted.path.startswith(prefix.path):
        return None
    rel = unquote(wanted.path[len(prefix.path) :])
    parts = rel.split("/")
    if not rel or "\\" in rel or "\x00" in rel or any(p in ("", ".", "..") for p in parts):
        return None
    for sub, root in roots:
        inner = rel
        if sub:
            if not rel.startswith(f"{sub}/"):
                continue
            inner = rel[len(sub) + 1 :]
        base = Path(root).resolve()
        candidate = (base / inner).resolve()
        if candidate.is_relative_to(base) and candidate.is_file():
            return candidate
    return None


# --- the renderers, seen from the process that renders -------------------------------------


class _RendererGone(Exception):
    """The renderer's channel closed: it died (killed, or out of memory)."""


class _Outcome:
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
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter running this file
            [sys.executable, "-I", str(Path(__file__).resolve())],
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
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.to_fd = self.proc.stdin.fileno()
        self.from_fd = self.proc.stdout.fileno()
        try:
            ready = json.loads(_read_frame(self.from_fd, time.monotonic() + _START_SECONDS))
        except BaseException as exc:
            self.stop()
            if isinstance(exc, _RendererGone | TimeoutError):
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

    def run(self, job: dict[str, Any], deadline: float) -> _Outcome | None:
        """The job's outcome, or None when the renderer did not answer in time (then it has
        been stopped, with the child it was running)."""
        job = {**job, "seconds": max(0.0, deadline - time.monotonic())}
        try:
            _write_frame(self.to_fd, json.dumps(job).encode())
        except OSError:  # a broken pipe: it died while idle
            raise _RendererGone from None
        reply_by = deadline + _GRACE_SECONDS
        try:
            header = json.loads(_read_frame(self.from_fd, reply_by))
            stderr = _read_frame(self.from_fd, reply_by)
            pdf = _read_frame(self.from_fd, reply_by)
        except TimeoutError:
            self.stop()
            return None
        return _Outcome(header, stderr, pdf)

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
            and len(_pool.idle) < _IDLE_RENDERERS
        )
        if keep:
            _pool.idle.append(renderer)
    if not keep:
        renderer.stop()


def _run(job: dict[str, Any], seconds: float) -> _Outcome | None:
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
        except _RendererGone:
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


def _write_frame(fd: int, payload: bytes) -> None:
    data = memoryview(_FRAME.pack(len(payload)) + payload)
    while data:
        data = data[os.write(fd, data) :]


def _read_frame(fd: int, deadline: float) -> bytes:
    (size,) = _FRAME.unpack(_read_exactly(fd, _FRAME.size, deadline))
    return _read_exactly(fd, size, deadline)


def _read_exactly(fd: int, size: int, deadline: float) -> bytes:
    """``size`` bytes from ``fd`` by ``deadline`` (TimeoutError), or _RendererGone at EOF.
    poll, not select: a busy server's descriptors can be numbered past select's limit."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    chunks: list[bytes] = []
    missing = size
    while missing:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        if not poller.poll(None if math.isinf(remaining) else math.ceil(remaining * 1000)):
            continue
        chunk = os.read(fd, min(missing, 1 << 20))
        if not chunk:
            raise _RendererGone
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


# --- the renderer process and the children it forks ---------------------------------------

# Warms WeasyPrint up in the renderer: fontconfig, Pango and HarfBuzz set up, the user-agent
# stylesheets parsed, a tagged PDF written. No URLs: nothing is fetched.
_WARM_UP_HTML = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Warm-up</title><style>
  @page { size: Letter; margin: 2cm;
    @bottom-right { content: "Page " counter(page) " of " counter(pages); } }
  html { font-family: "DejaVu Sans", sans-serif; }
  .mono { font-family: "DejaVu Sans Mono", monospace; }
</style></head><body><header><p>Warm-up</p></header><main><h1>Heading</h1><h2>Sub</h2>
<h3>Third</h3><p><strong>Bold</strong> <em>italic</em> text \u2013 \u201cquotes\u201d
\u00b7 \u00e9 \u00f1 \u00fc.</p>
<ol><li>Item</li></ol><table><tr><th scope="row">A</th><td>1</td></tr></table>
<p class="mono">0123456789abcdef</p></main></body></html>"""


def _emit(**line: Any) -> None:
    sys.stderr.write(json.dumps(line) + "\n")
    sys.stderr.flush()


class _ForwardHandler(logging.Handler):
    """WeasyPrint's warnings (a failed image, an unknown CSS property) go to the parent,
    redacted here already."""

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):  # logging must never break the render
            _emit(kind="weasyprint", level=record.levelno, message=redact(record.getMessage()))


def _renderer_main() -> int:  # pragma: no cover - runs in the renderer; covered by renders
    """Serve jobs until the channel closes: read a job, fork a child for it, answer."""
    # The channel moves off 0 and 1, which then point nowhere: no stray print or library
    # output can corrupt a frame, and children inherit neither end.
    channel_in, channel_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    try:
        _renderer_warm_up()
    except BaseException as exc:
        _write_frame(channel_out, json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
        return 1
    _write_frame(channel_out, json.dumps({"ready": True}).encode())
    while True:
        try:
            job = json.loads(_read_frame(channel_in, math.inf))
        except _RendererGone:  # the process that started us closed the channel, or exited
            return 0
        header, stderr, pdf = _renderer_job(job, (channel_in, channel_out))
        try:
            for frame in (json.dumps(header).encode(), stderr, pdf):
                _write_frame(channel_out, frame)
        except BrokenPipeError:
            return 0


def _renderer_warm_up() -> None:  # pragma: no cover - runs in the renderer
    import weasyprint

    weasyprint.HTML(string=_WARM_UP_HTML, url_fetcher=_static_only_fetcher("", [], 0)).write_pdf(
        pdf_variant=PDF_VARIANT, pdf_tags=True
    )


def _renderer_job(
    job: dict[str, Any], channel: tuple[int, int]
) -> tuple[dict[str, Any], bytes, bytes]:  # pragma: no cover - runs in the renderer
    """Fork a child for the job, collect its stdout (the PDF) and stderr (log lines) until
    it exits or its time runs out (then kill it), reap it."""
    started = time.monotonic()
    deadline = started + float(job["seconds"])
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            for fd in (*channel, out_r, out_w, err_r, err_w):
                os.close(fd)
            code = _child_main(job)
        finally:
            os._exit(code)
    os.close(out_w)
    os.close(err_w)
    collected = {out_r: bytearray(), err_r: bytearray()}
    open_fds = set(collected)
    poller = select.poll()
    for fd in open_fds:
        poller.register(fd, select.POLLIN)
    timed_out = False
    while open_fds:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        for fd, _event in poller.poll(math.ceil(remaining * 1000)):
            chunk = os.read(fd, 1 << 20)
            if chunk:
                collected[fd] += chunk
            else:
                poller.unregister(fd)
                open_fds.discard(fd)
    status, rusage = 0, None
    while not timed_out:  # output closed: the child is exiting; still held to the deadline
        waited, status, rusage = os.wait4(pid, os.WNOHANG)
        if waited:
            break
        if time.monotonic() >= deadline:
            timed_out = True
        else:
            time.sleep(0.002)
    if timed_out:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _waited, status, rusage = os.wait4(pid, 0)
        for fd in open_fds:  # what it logged before it was stopped; no writer is left
            os.set_blocking(fd, False)
            with contextlib.suppress(OSError):
                while chunk := os.read(fd, 1 << 20):
                    collected[fd] += chunk
    os.close(out_r)
    os.close(err_r)
    header = {
        "returncode": os.waitstatus_to_exitcode(status),
        "timed_out": timed_out,
        "seconds": round(time.monotonic() - started, 4),
        "peak_rss_kb": rusage.ru_maxrss if rusage is not None else 0,
    }
    return header, bytes(collected[err_r]), b"" if timed_out else bytes(collected[out_r])


def _child_main(job: dict[str, Any]) -> int:  # pragma: no cover - runs in the child
    try:
        pdf = _child_render(job)
    except BaseException as exc:  # MemoryError, RecursionError, anything: report, exit 1
        _emit(kind="error", message=redact(f"{type(exc).__name__}: {exc}"))
        return 1
    sys.stdout.buffer.write(pdf)
    sys.stdout.buffer.flush()
    return 0


def _child_render(job: dict[str, Any]) -> bytes:  # pragma: no cover - runs in the child
    import resource

    cpu = int(job["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    memory = int(job["memory_bytes"])
    # Forked, the child already holds the renderer's address space (WeasyPrint and its
    # libraries). Under a limit below that, the kernel refuses new mappings but not growth
    # into ones already reserved, so renders would fail or not by chance: fail them all.
    used = _address_space_bytes()
    if used is not None and used >= memory:
        raise MemoryError(
            f"the memory limit ({memory >> 20} MB) is below what the renderer itself uses "
            f"({used >> 20} MB)"
        )
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    import weasyprint

    handler = _ForwardHandler(logging.WARNING)
    for name in ("weasyprint", "weasyprint.progress"):
        wp_logger = logging.getLogger(name)
        wp_logger.handlers = [handler]
        wp_logger.propagate = False
    logging.getLogger("weasyprint.progress").setLevel(logging.ERROR)

    fetcher = _static_only_fetcher(
        job["static_url"], job["static_roots"], int(job["max_resource_bytes"])
    )
    html = weasyprint.HTML(string=job["html"], base_url=job["base_url"], url_fetcher=fetcher)
    pdf: bytes = html.write_pdf(pdf_variant=PDF_VARIANT, pdf_tags=True)
    return pdf


def _address_space_bytes() -> int | None:  # pragma: no cover - runs in the child
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def _static_only_fetcher(
    static_url: str, roots: list[list[str]], max_bytes: int
) -> Any:  # pragma: no cover - runs in the renderer and its children
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        """Our static files and data: URLs; nothing else, ever (no urllib opener is used)."""

        def __init__(self) -> None:
            super().__init__(allowed_protocols=(), allow_redirects=False)

        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            if url.startswith("data:"):
                return _data_url(url)
            path = static_file_for(url, static_url, roots) if static_url else None
            if path is None:
                _emit(kind="refused", message=url_for_log(url))
                raise ValueError("refused: only our own static files may be fetched")
            if path.stat().st_size > max_bytes:
                raise ValueError("refused: static file too large")
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": mime})

    def _data_url(url: str) -> URLFetcherResponse:
        header, _, payload = url[5:].partition(",")
        if len(payload) > max_bytes * 2:
            raise ValueError("refused: data URL too large")
        is_base64 = header.endswith(";base64")
        mime = (header.removesuffix(";base64").split(";")[0] or "text/plain").strip()
        body = base64.b64decode(payload) if is_base64 else unquote_to_bytes(payload)
        return URLFetcherResponse(url, body=body, headers={"Content-Type": mime})

    return StaticOnlyFetcher()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_renderer_main())
