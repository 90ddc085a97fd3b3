"""What runs in a renderer process and in the child it forks for each render (see the package
docstring). Started as ``python -I core/pdf/renderer.py``: it loads neither Django nor the
database, gets no secrets in its environment, and imports WeasyPrint once, to warm it up.
Standard library (and WeasyPrint) only.
"""

import base64
import contextlib
import json
import logging
import math
import mimetypes
import os
import resource
import select
import signal
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from .wire import RendererGone, read_frame, redact, url_for_log, write_frame

PDF_VARIANT = "pdf/ua-1"


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


def renderer_main() -> int:  # pragma: no cover - runs in the renderer; covered by renders
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
        write_frame(channel_out, json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
        return 1
    write_frame(channel_out, json.dumps({"ready": True}).encode())
    while True:
        try:
            job = json.loads(read_frame(channel_in, math.inf))
        except RendererGone:  # the process that started us closed the channel, or exited
            return 0
        header, stderr, pdf = _renderer_job(job, (channel_in, channel_out))
        try:
            for frame in (json.dumps(header).encode(), stderr, pdf):
                write_frame(channel_out, frame)
        except BrokenPipeError:
            return 0


def _renderer_warm_up() -> None:  # pragma: no cover - runs in the renderer
    # Local: WeasyPrint loads in the renderer only (its start-up cost, once), not in a
    # process that imports this module for its helpers (static_file_for).
    import weasyprint  # noqa: PLC0415

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

    # Already loaded by the warm-up (see _renderer_warm_up): a name binding, no cost.
    import weasyprint  # noqa: PLC0415

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
    # Local for the reason in _renderer_warm_up: WeasyPrint is the renderer's alone.
    from weasyprint.urls import URLFetcher, URLFetcherResponse  # noqa: PLC0415

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
