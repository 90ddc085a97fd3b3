"""Previews of records for the specialist's in-page viewer: the one home for "show a record".

The decoders and their bounded runner are core's (``core.previews``: the original bytes
never reach the browser, decoding runs in a child process under limits, no preview is never
an error). What this module adds is the record: its bytes are copied from storage to a
private temporary file only when its size is under ``VIEWER_MAX_SOURCE_MB`` (a setting
from the environment, ``config/settings/base.py``), and never more than that many bytes.

Access checks and the audit log are the caller's: the views get the record through
``intake.access.record_for_user`` before calling ``record_summary`` or ``record_png``.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.storage import default_storage

from core.previews.decoders import (
    DICOM,
    IMAGE,
    NONE,
    PDF,
    WHOLE_SLIDE,
    NoPreview,
    Summary,
    summarize,
    viewer_kind,
)
from core.previews.runner import PreviewFailed, render_bounded, setting, summarize_bounded

if TYPE_CHECKING:
    from intake.models import Record

_CHUNK = 1024 * 1024


def max_source_bytes() -> int:
    return settings.VIEWER_MAX_SOURCE_MB * 1024 * 1024


def _too_large() -> NoPreview:
    return NoPreview(
        f"This file is larger than {max_source_bytes() >> 20} MB, too large to "
        "preview here. Download it to open it."
    )


@contextlib.contextmanager
def record_source(record: Record) -> Iterator[Path]:
    """A private temporary copy of the record's bytes, at most ``VIEWER_MAX_SOURCE_MB``."""
    limit = max_source_bytes()
    if record.size > limit:
        raise _too_large()
    with tempfile.NamedTemporaryFile(prefix="preview-") as copy:
        copied = 0
        try:
            with default_storage.open(str(record.file.name), "rb") as source:
                # The size on the row is what intake measured; the stored object is what we
                # read.
                while chunk := source.read(_CHUNK):
                    copied += len(chunk)
                    if copied > limit:
                        raise _too_large()
                    copy.write(chunk)
        except (OSError, BotoCoreError, ClientError) as exc:
            # Missing or unreachable in storage: a sentence on the page, not a 500.
            raise NoPreview(
                "The stored file could not be read just now, so there is no preview. Try "
                "again later; if it keeps happening, tell the coordinator."
            ) from exc
        copy.flush()
        yield Path(copy.name)


def kind_of(record: Record) -> str:
    return viewer_kind(
        detected_kind=record.detected_kind,
        content_type=record.content_type,
        name=record.original_name,
    )


def record_summary(record: Record) -> Summary:
    """What the viewer page shows for ``record``; never raises for a file we can't draw."""
    kind = kind_of(record)
    if kind in (NONE, WHOLE_SLIDE):
        return summarize("", kind)
    try:
        with record_source(record) as path:
            return summarize_bounded(path, kind)
    except (NoPreview, PreviewFailed) as exc:
        message = exc.message if isinstance(exc, NoPreview) else str(exc)
        return Summary(kind=kind, note=message)


def record_png(record: Record, page: int) -> bytes:
    """PNG bytes of page ``page`` of ``record``; NoPreview (or PreviewFailed) if none."""
    kind = kind_of(record)
    if kind not in (PDF, IMAGE, DICOM) or page < 1 or page > setting("VIEWER_MAX_PAGES"):
        raise NoPreview("There is no such page.")
    with record_source(record) as path:
        return render_bounded(path, kind, page)
