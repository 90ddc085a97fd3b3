"""The previews' runner: the decoders (``decoders``) in a bounded child process, under the
limits from settings. Knows files by path only; where the bytes come from is the caller's.
"""

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.conf import settings

from core import bounded

from .decoders import NOTE_FAILED, NOTE_TIMEOUT, Limits, NoPreview, Summary


class PreviewFailed(RuntimeError):
    """The child process crashed, ran out of memory or time."""


def setting(name: str) -> int:
    """A viewer limit (``VIEWER_…``) from settings, where config/settings/base.py declares
    each from the environment with its default; there is no second default here."""
    return int(getattr(settings, name))


def limits_from_settings() -> Limits:
    return Limits(
        max_pages=setting("VIEWER_MAX_PAGES"),
        max_side=setting("VIEWER_MAX_SIDE_PX"),
        max_image_pixels=setting("VIEWER_MAX_IMAGE_PIXELS"),
    )


def _run_child(job: dict[str, Any]) -> bytes:
    seconds = float(setting("VIEWER_RENDER_SECONDS"))
    try:
        return bounded.run_script(
            "core.previews.decoders:child_job",
            {**job, "limits": asdict(limits_from_settings())},
            seconds=seconds,
            memory_bytes=setting("VIEWER_RENDER_MEMORY_MB") * 1024 * 1024,
            label="Record preview",
        )
    except bounded.ChildRefused as exc:
        raise NoPreview(exc.message or NOTE_FAILED) from None
    except bounded.ChildFailed as exc:
        raise PreviewFailed(NOTE_TIMEOUT if exc.timed_out else NOTE_FAILED) from None


def summarize_bounded(path: str | Path, kind: str) -> Summary:
    out = _run_child({"op": "summary", "path": str(path), "kind": kind})
    return Summary.from_json(json.loads(out))


def render_bounded(path: str | Path, kind: str, page: int) -> bytes:
    out = _run_child({"op": "render", "path": str(path), "kind": kind, "page": page})
    if not out.startswith(b"\x89PNG\r\n\x1a\n"):
        raise PreviewFailed(NOTE_FAILED)
    return out
