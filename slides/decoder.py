"""OpenSlide on untrusted files: runs only in a bounded child or a pool worker, never in
the web process (see ``core.bounded`` and ``slides.pool``).

No Django here: the child imports this module in a fresh interpreter with a memory limit,
and Django's import cost would be paid on every job.

What we read is deliberately narrow. ``slide_properties`` picks the handful of fields a
pathologist needs; it never lists OpenSlide's properties wholesale, because those include the
associated images (``openslide.associated.label.*``) and free-text vendor fields that can
carry the patient's name or the slide's barcode. Tiles come only from the pyramid, through
``DeepZoomGenerator``, which never reads the associated images (label, macro, thumbnail).
"""

from __future__ import annotations

import io
import json
import math
from collections import OrderedDict
from typing import Any

from core.bounded import ChildRefused

# Deep Zoom's classic tile: 254 + 1 px overlap on each side = 256, a friendly JPEG size.
TILE_SIZE = 254
OVERLAP = 1
JPEG_QUALITY = 80
# A slide whose base level is larger than this on a side is not a real scan (the largest
# scanners make ~200,000 px); refusing it bounds every computation from the dimensions.
MAX_SIDE = 1_000_000
MAX_LEVELS = 64

NOT_A_SLIDE = "This file is not a whole-slide image the viewer can open."


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _open(path: str) -> Any:
    import openslide  # noqa: PLC0415 - OpenSlide: child only

    # OpenSlide itself, never openslide.open_slide: that falls back to PIL for ordinary
    # pictures, which are not slides.
    if openslide.OpenSlide.detect_format(path) is None:
        raise ChildRefused(NOT_A_SLIDE)
    try:
        return openslide.OpenSlide(path)
    except openslide.OpenSlideUnsupportedFormatError:
        raise ChildRefused(NOT_A_SLIDE) from None


def slide_properties(slide: Any, path: str) -> dict[str, Any]:
    import openslide  # noqa: PLC0415 - OpenSlide: child only

    width, height = slide.dimensions
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE) or slide.level_count > MAX_LEVELS:
        raise ChildRefused(NOT_A_SLIDE)
    props = slide.properties
    levels = [
        {"width": int(w), "height": int(h), "downsample": round(float(d), 4)}
        for (w, h), d in zip(slide.level_dimensions, slide.level_downsamples, strict=True)
    ]
    return {
        "format": str(openslide.OpenSlide.detect_format(path) or ""),
        "vendor": str(props.get(openslide.PROPERTY_NAME_VENDOR, ""))[:40],
        "objective_power": _number(props.get(openslide.PROPERTY_NAME_OBJECTIVE_POWER)),
        "mpp_x": _number(props.get(openslide.PROPERTY_NAME_MPP_X)),
        "mpp_y": _number(props.get(openslide.PROPERTY_NAME_MPP_Y)),
        "width": int(width),
        "height": int(height),
        "levels": levels,
    }


def properties_job(job: dict[str, Any]) -> bytes:  # runs in core.bounded's child
    slide = _open(str(job["path"]))
    try:
        return json.dumps(slide_properties(slide, str(job["path"]))).encode()
    finally:
        slide.close()


class TileRenderer:
    """Deep Zoom tiles of a few open slides (a pool worker keeps one of these)."""

    def __init__(self, keep: int = 4) -> None:
        self.keep = keep
        self._open: OrderedDict[str, tuple[Any, Any]] = OrderedDict()

    def _generator(self, path: str) -> Any:
        from openslide.deepzoom import DeepZoomGenerator  # noqa: PLC0415 - OpenSlide: child only

        if path in self._open:
            self._open.move_to_end(path)
            return self._open[path][1]
        slide = _open(path)
        generator = DeepZoomGenerator(slide, TILE_SIZE, OVERLAP, limit_bounds=False)
        self._open[path] = (slide, generator)
        while len(self._open) > self.keep:
            _, (old, _gen) = self._open.popitem(last=False)
            old.close()
        return generator

    def forget(self, path: str) -> None:
        entry = self._open.pop(path, None)
        if entry is not None:
            entry[0].close()

    def render(self, job: dict[str, Any]) -> bytes:
        path = str(job["path"])
        level, col, row = int(job["level"]), int(job["col"]), int(job["row"])
        generator = self._generator(path)
        if not 0 <= level < generator.level_count:
            raise ChildRefused("No such tile.")
        cols, rows = generator.level_tiles[level]
        if not (0 <= col < cols and 0 <= row < rows):
            raise ChildRefused("No such tile.")
        try:
            tile = generator.get_tile(level, (col, row))
        except Exception:
            # A damaged region leaves the handle in an error state: open it afresh next time.
            self.forget(path)
            raise
        out = io.BytesIO()
        tile.convert("RGB").save(out, "JPEG", quality=int(job.get("quality", JPEG_QUALITY)))
        return out.getvalue()
