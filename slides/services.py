"""Whole-slide images: finding them among the records, reading their properties, and their
Deep Zoom tiles, cached in the default (private) storage.

The record's bytes live in storage (S3 in production); OpenSlide needs a file on disk, so
a slide is copied once into ``SLIDES_CACHE_DIR`` under its random storage prefix. Opening a
slide for the first time runs in ``core.bounded``'s one-shot child; tiles come from
``slides.pool``'s warm workers and are kept in storage under
``slides/<storage prefix>/<level>/<col>_<row>.jpeg``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError

from core import bounded
from intake.models import Record

from . import decoder, pool
from .models import Slide

logger = logging.getLogger(__name__)

# Intake's kinds OpenSlide may read: Aperio SVS, Hamamatsu NDPI, and TIFF (generic tiled
# pyramidal TIFF, and the TIFF-based Leica, Philips, Trestle and Ventana files, which intake
# calls plain TIFF). A plain picture saved as TIFF is a candidate too: OpenSlide refuses
# it in the bounded child, and the slide is recorded as unsupported.
CANDIDATE_KINDS = {"wsi_svs": ".svs", "wsi_ndpi": ".ndpi", "tiff": ".tif"}

_CHUNK = 1024 * 1024


class NoSlide(Exception):
    """No viewable slide here: not a slide, not cleared, unreadable, or no such tile."""


def grant_seconds() -> int:
    return int(settings.SLIDES_GRANT_SECONDS)


def _cache_dir() -> Path:
    configured = settings.SLIDES_CACHE_DIR
    path = Path(configured or Path(tempfile.gettempdir()) / f"so-slides-{os.getuid()}")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def is_candidate(record: Record) -> bool:
    return record.detected_kind in CANDIDATE_KINDS


def is_link_candidate(record: Record) -> bool:
    """Whether lists should offer the slide viewer for ``record``, without a query: a
    cleared SVS or NDPI, or a cleared TIFF filed as pathology slides."""
    if not record.is_cleared:
        return False
    if record.detected_kind in ("wsi_svs", "wsi_ndpi"):
        return True
    return record.detected_kind == "tiff" and record.kind == Record.Kind.PATHOLOGY_SLIDES


def local_copy(record: Record, prefix: str) -> Path:
    """The record's bytes as a private local file OpenSlide can open (copied once)."""
    target = _cache_dir() / f"{prefix}{CANDIDATE_KINDS.get(record.detected_kind, '.tif')}"
    if target.exists() and target.stat().st_size == record.size:
        return target
    limit = settings.SLIDES_MAX_SOURCE_MB * 1024 * 1024
    if record.size > limit:
        raise NoSlide("too large")
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".copy-")
    try:
        copied = 0
        with os.fdopen(fd, "wb") as out, default_storage.open(str(record.file.name), "rb") as src:
            while chunk := src.read(_CHUNK):
                copied += len(chunk)
                if copied > limit:
                    raise NoSlide("too large")
                out.write(chunk)
        os.replace(temp, target)
    except (OSError, BotoCoreError, ClientError) as exc:
        raise NoSlide("unreadable") from exc
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return target


def opens_as_slide(path: str | Path) -> bool:
    """Whether OpenSlide reads ``path`` as a whole-slide image (in the bounded child).

    Not the upload check: intake.filetypes.is_whole_slide decides from TIFF headers alone
    whether a big picture is a slide (accepted) or a picture too large to view (refused);
    this one asks OpenSlide itself, for files intake already accepted.
    """
    try:
        _read_properties(Path(path))
    except (bounded.ChildRefused, bounded.ChildFailed):
        return False
    return True


def _read_properties(path: Path) -> dict[str, Any]:
    out = bounded.run_script(
        "slides.decoder:properties_job",
        {"path": str(path)},
        seconds=settings.SLIDES_OPEN_SECONDS,
        memory_bytes=settings.SLIDES_MEMORY_MB * 1024 * 1024,
        label="slide reader",
    )
    data = json.loads(out)
    if not isinstance(data, dict):
        raise bounded.ChildFailed("bad answer")
    return data


def slide_index(record: Record) -> Slide | None:
    """The record's Slide, reading it in the bounded child the first time; None when the
    record is not (yet) a cleared slide candidate. Safe to call twice, or concurrently."""
    if not (record.is_cleared and is_candidate(record)):
        return None
    existing = Slide.objects.filter(record=record).first()
    if existing is not None:
        existing.record = record  # the caller's copy, already through the gate
        return existing
    slide = Slide(record=record)
    try:
        path = local_copy(record, slide.storage_prefix)
        slide.properties = _read_properties(path)
        slide.state = Slide.State.READY
    except bounded.ChildRefused:
        slide.state = Slide.State.UNSUPPORTED
    except (bounded.ChildFailed, NoSlide, ValueError) as exc:
        # Unreadable just now (storage) is not remembered: the next open tries again.
        if isinstance(exc, NoSlide) and str(exc) == "unreadable":
            return None
        slide.state = Slide.State.FAILED
    try:
        slide.save()
    except IntegrityError:  # another request indexed it first
        return Slide.objects.filter(record=record).first()
    return slide


def deep_zoom_levels(props: dict[str, Any]) -> list[tuple[int, int]]:
    """Deep Zoom level sizes, smallest (1x1) first, as OpenSlide's DeepZoomGenerator has them
    for ``limit_bounds=False``: the base level halved (rounding up) down to one pixel."""
    size = (int(props["width"]), int(props["height"]))
    sizes = [size]
    while size[0] > 1 or size[1] > 1:
        size = (max(1, math.ceil(size[0] / 2)), max(1, math.ceil(size[1] / 2)))
        sizes.append(size)
    return sizes[::-1]


def dzi_xml(slide: Slide) -> str:
    props = slide.properties
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Image xmlns="http://schemas.microsoft.com/deepzoom/2008" TileSize="{decoder.TILE_SIZE}"'
        f' Overlap="{decoder.OVERLAP}" Format="jpeg">'
        f'<Size Width="{int(props["width"])}" Height="{int(props["height"])}"/></Image>\n'
    )


def tile_exists(slide: Slide, level: int, col: int, row: int) -> bool:
    levels = deep_zoom_levels(slide.properties)
    if not 0 <= level < len(levels):
        return False
    width, height = levels[level]
    return 0 <= col < math.ceil(width / decoder.TILE_SIZE) and 0 <= row < math.ceil(
        height / decoder.TILE_SIZE
    )


def tile_key(slide: Slide, level: int, col: int, row: int) -> str:
    return f"slides/{slide.storage_prefix}/{level}/{col}_{row}.jpeg"


def tile_pool() -> pool.TilePool:
    return pool.get_pool(
        size=settings.SLIDES_TILE_WORKERS,
        memory_bytes=settings.SLIDES_MEMORY_MB * 1024 * 1024,
        seconds=settings.SLIDES_TILE_SECONDS,
    )


def prepare_tiles(slide: Slide, record: Record) -> threading.Thread:
    """Start this process's tile workers and copy the slide to local disk, in the background,
    while the browser loads the page: the viewer's first tiles then pay neither the
    interpreter start (~0.5 s) nor, for a large slide, the copy out of storage."""

    prefix = slide.storage_prefix  # no database access in the thread: it has no connection

    def work() -> None:
        try:
            local_copy(record, prefix)
            tile_pool().warm()
        except Exception:  # best effort: the tile requests do the same work if this failed
            logger.warning("slide tiles not prepared in advance", exc_info=True)

    thread = threading.Thread(target=work, name="slide-prepare", daemon=True)
    thread.start()
    return thread


def tile_jpeg(slide: Slide, level: int, col: int, row: int) -> bytes:
    """JPEG bytes of one Deep Zoom tile: from the storage cache, else drawn and cached."""
    if not slide.is_ready or not tile_exists(slide, level, col, row):
        raise NoSlide("no such tile")
    key = tile_key(slide, level, col, row)
    try:
        with default_storage.open(key, "rb") as cached:
            return cached.read()
    except (OSError, BotoCoreError, ClientError):
        pass  # not cached yet
    path = local_copy(slide.record, slide.storage_prefix)
    try:
        jpeg = tile_pool().render({"path": str(path), "level": level, "col": col, "row": row})
    except (bounded.ChildRefused, bounded.ChildFailed) as exc:
        raise NoSlide("tile failed") from exc
    try:
        if not default_storage.exists(key):
            default_storage.save(key, ContentFile(jpeg))
    except (OSError, BotoCoreError, ClientError):
        logger.warning("slide tile not cached (storage)")
    return jpeg


def slide_local_copy_delete(storage_prefix: str) -> None:
    """Delete this machine's local copy of a slide (one still being written is named
    ``.copy-*`` and removed by its writer). Called in the process that deleted the slide,
    and again by the tile task, which may run on another machine."""
    if not storage_prefix.isalnum():  # our own hex token, never a path
        raise ValueError("bad storage prefix")
    for copy in _cache_dir().glob(f"{storage_prefix}.*"):
        try:
            copy.unlink(missing_ok=True)
        except OSError:
            logger.warning("slides: a local slide copy could not be deleted")


def slide_tiles_delete(storage_prefix: str) -> int:
    """Delete a slide's cached tiles and local copy; the number of tiles deleted."""
    slide_local_copy_delete(storage_prefix)
    root = f"slides/{storage_prefix}"
    deleted = 0
    try:
        levels, _ = default_storage.listdir(root)
    except FileNotFoundError:
        return 0
    for level in levels:
        _, names = default_storage.listdir(f"{root}/{level}")
        for name in names:
            default_storage.delete(f"{root}/{level}/{name}")
            deleted += 1
    return deleted
