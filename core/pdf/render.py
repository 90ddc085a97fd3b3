"""The front of the PDF renderer: a template or an HTML string in, PDF bytes out, under a
time limit that grows with the document (see the package docstring for every guarantee).

Limits (settings, declared with their defaults from the environment in
config/settings/base.py): ``PDF_RENDER_SECONDS``, ``PDF_RENDER_SECONDS_PER_PAGE``,
``PDF_RENDER_MAX_SECONDS``, ``PDF_RENDER_MEMORY_MB``, ``PDF_MAX_RESOURCE_BYTES``.

The time limit scales with the document: ``PDF_RENDER_SECONDS`` covers a report of up to
``BASE_PAGES`` pages, each page past that adds ``PDF_RENDER_SECONDS_PER_PAGE``, and
``PDF_RENDER_MAX_SECONDS`` is the hard ceiling. The pages are estimated before the render
from the document's text (``estimated_pages``): a long report (40 pages took 6 to 14 s on
the loaded 2-core machine, benchmarks/README.md) gets the time it needs, while a document
that would take longer than the ceiling is still stopped.
"""

import hashlib
import json
import logging
import math
import re
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

from .errors import PdfRenderError, PdfRenderTimeout
from .pool import run
from .wire import redact

logger = logging.getLogger("core.pdf")

# The pages PDF_RENDER_SECONDS alone covers, and the characters of text a page of the
# report holds (its body type on Letter paper; measured on the benchmark's reports).
BASE_PAGES = 10
CHARS_PER_PAGE = 3_000
_MAX_LOG_LINES = {"warning": 200, "debug": 50}


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
    base = float(settings.PDF_RENDER_SECONDS)
    per_page = float(settings.PDF_RENDER_SECONDS_PER_PAGE)
    ceiling = float(settings.PDF_RENDER_MAX_SECONDS)
    extra_pages = max(0, estimated_pages(html) - BASE_PAGES)
    return min(ceiling, base + per_page * extra_pages)


def html_to_pdf(html: str, *, base_url: str | None = None, timeout: float | None = None) -> bytes:
    """Render an HTML string to PDF bytes under the rules in this module's docstring."""
    base = base_url or f"{settings.SITE_URL}/"
    seconds = float(timeout if timeout is not None else render_seconds(html))
    job = {
        "html": html,
        "base_url": base,
        "static_url": urljoin(base, settings.STATIC_URL or "/static/"),
        "static_roots": static_roots(),
        "cpu_seconds": math.ceil(seconds) + 1,
        "memory_bytes": int(settings.PDF_RENDER_MEMORY_MB) * 1024 * 1024,
        "max_resource_bytes": int(settings.PDF_MAX_RESOURCE_BYTES),
    }
    outcome = run(job, seconds)
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


def static_roots() -> list[tuple[str, str]]:
    """(URL prefix under STATIC_URL, directory) pairs of the files Django serves as static:
    the staticfiles finders in their order, then STATIC_ROOT (collected files)."""
    roots: list[tuple[str, str]] = []
    for finder in finders.get_finders():
        for storage in getattr(finder, "storages", {}).values():
            location = getattr(storage, "location", None)
            if location:
                roots.append((getattr(storage, "prefix", None) or "", str(location)))
    if settings.STATIC_ROOT and Path(settings.STATIC_ROOT).is_dir():
        roots.append(("", str(settings.STATIC_ROOT)))
    return roots


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
