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
- **A time limit.** Each render runs in a short-lived child Python process (this file, run
  as a script in isolated mode, talking JSON on stdin and PDF on stdout), with a wall-clock
  limit enforced by the parent (the child is killed when it is exceeded) and CPU and
  memory rlimits inside the child. A child process rather than ``signal.alarm`` or a
  thread: alarms only work in the main thread (not in threaded servers or thread-pool
  workers), a thread cannot be stopped, and ``multiprocessing`` cannot start children
  from Celery's daemonic prefork workers. ``subprocess`` works in all of those. The cost
  is starting an interpreter and importing WeasyPrint, about half a second per render.
  The child gets a minimal environment: no secrets, no database, no Django.
- **No request needed**: a Celery task can call ``render_pdf`` as well as a view.

Tunables (optional settings): ``PDF_RENDER_SECONDS`` (default 20),
``PDF_RENDER_MEMORY_MB`` (default 1024), ``PDF_MAX_RESOURCE_BYTES`` (default 10 MB).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import math
import mimetypes
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_to_bytes, urljoin, urlsplit

logger = logging.getLogger("reports.pdf")

PDF_VARIANT = "pdf/ua-1"
DEFAULT_SECONDS = 20
DEFAULT_MEMORY_MB = 1024
DEFAULT_MAX_RESOURCE_BYTES = 10 * 1024 * 1024
_MAX_LOG_CHARS = 300
_MAX_LOG_LINES = {"warning": 200, "debug": 50}


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


def html_to_pdf(html: str, *, base_url: str | None = None, timeout: float | None = None) -> bytes:
    """Render an HTML string to PDF bytes under the rules in this module's docstring."""
    from django.conf import settings

    base = base_url or f"{settings.SITE_URL}/"
    seconds = float(timeout if timeout is not None else _setting("PDF_RENDER_SECONDS"))
    job = {
        "html": html,
        "base_url": base,
        "static_url": urljoin(base, settings.STATIC_URL or "/static/"),
        "static_roots": static_roots(),
        "cpu_seconds": math.ceil(seconds) + 1,
        "memory_bytes": int(_setting("PDF_RENDER_MEMORY_MB")) * 1024 * 1024,
        "max_resource_bytes": int(_setting("PDF_MAX_RESOURCE_BYTES")),
    }
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter running this file
        [sys.executable, "-I", str(Path(__file__).resolve())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_child_env(),
        close_fds=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(json.dumps(job).encode(), timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        _relay(err)
        logger.warning("PDF render stopped after %.1f s (time limit)", seconds)
        raise PdfRenderTimeout(
            f"The PDF render took longer than {seconds:g} s and was stopped."
        ) from None
    finally:
        if proc.poll() is None:  # interrupted some other way: never leave a renderer behind
            proc.kill()
            proc.wait()
    failure = _relay(err)
    if proc.returncode != 0 or not out.startswith(b"%PDF-"):
        if not failure and proc.returncode and proc.returncode < 0:
            failure = f"killed by signal {-proc.returncode} (CPU or memory limit)"
        elif not failure:
            failure = f"exit status {proc.returncode}, no PDF"
        raise PdfRenderError(f"The PDF render failed: {failure}")
    return out


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


# --- the child process ------------------------------------------------------------------


def _emit(**line: Any) -> None:
    sys.stderr.write(json.dumps(line) + "\n")
    sys.stderr.flush()


class _ForwardHandler(logging.Handler):
    """WeasyPrint's warnings (a failed image, an unknown CSS property) go to the parent,
    redacted here already."""

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):  # logging must never break the render
            _emit(kind="weasyprint", level=record.levelno, message=redact(record.getMessage()))


def _child_main() -> int:  # pragma: no cover - runs in the child; covered by the tests' renders
    try:
        pdf = _child_render(json.loads(sys.stdin.buffer.read()))
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
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    import weasyprint
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    handler = _ForwardHandler(logging.WARNING)
    for name in ("weasyprint", "weasyprint.progress"):
        wp_logger = logging.getLogger(name)
        wp_logger.handlers = [handler]
        wp_logger.propagate = False
    logging.getLogger("weasyprint.progress").setLevel(logging.ERROR)

    static_url: str = job["static_url"]
    roots: list[list[str]] = job["static_roots"]
    max_bytes = int(job["max_resource_bytes"])

    class StaticOnlyFetcher(URLFetcher):
        """Our static files and data: URLs; nothing else, ever (no urllib opener is used)."""

        def __init__(self) -> None:
            super().__init__(allowed_protocols=(), allow_redirects=False)

        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            if url.startswith("data:"):
                return _data_url(url)
            path = static_file_for(url, static_url, roots)
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

    html = weasyprint.HTML(
        string=job["html"], base_url=job["base_url"], url_fetcher=StaticOnlyFetcher()
    )
    pdf: bytes = html.write_pdf(pdf_variant=PDF_VARIANT, pdf_tags=True)
    return pdf


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_child_main())
