"""A demo whole-slide image for ``seed_demo``, and the generator tests use.

``demo_slide_bytes`` writes a small pyramidal TIFF the way Aperio's SVS files are laid out
(tifffile, 256 x 256 tiles, levels halving in size, an ``ImageDescription`` starting
"Aperio" with ``AppMag = 40`` and ``MPP = 0.25`` so OpenSlide reports an objective power
and microns per pixel), followed by a thumbnail, a **label** carrying a fake patient name
and barcode, and a macro picture. The label is painted in ``LABEL_COLOR``, a colour the
tissue never has, so tests can prove no served byte ever shows it.
"""

from __future__ import annotations

import functools
import hashlib
import io
from typing import Any

from django.core.files.base import ContentFile

from accounts.models import User
from cases.models import Case, Status
from intake import records
from intake.models import Record
from intake.scanning import clamd_address

from . import services

LABEL_COLOR = (255, 0, 255)  # pure magenta: never in the demo tissue
MACRO_COLOR = (0, 255, 255)
LABEL_TEXT = "DOE, JANE  DOB 01/02/2015  MRN 00012345"
DEMO_NAME = "demo-biopsy.svs"
_DESCRIPTION = "Aperio Image Library v12.0.15\r\n"


@functools.lru_cache(maxsize=4)  # deterministic, and ~1 s to draw
def demo_slide_bytes(width: int = 2048, height: int = 1536) -> bytes:
    import numpy as np  # noqa: PLC0415 - start-up cost: demo drawing only
    import tifffile  # noqa: PLC0415 - start-up cost: demo drawing only
    from PIL import Image, ImageDraw  # noqa: PLC0415 - start-up cost: demo drawing only

    # Pale background with a few pink-purple "tissue" blobs and some cell-sized speckle,
    # enough to see zooming and rotation; drawn small and enlarged to stay fast.
    small = Image.new("RGB", (width // 8, height // 8), (242, 238, 240))
    draw = ImageDraw.Draw(small)
    for box, fill in [
        ((20, 20, 120, 110), (214, 140, 180)),
        ((130, 60, 240, 170), (190, 110, 170)),
        ((60, 120, 150, 185), (225, 165, 195)),
    ]:
        draw.ellipse(box, fill=fill)
    base = np.asarray(small.resize((width, height), Image.Resampling.BICUBIC)).copy()
    rng = np.random.default_rng(40)
    ys = rng.integers(0, height - 6, 4000)
    xs = rng.integers(0, width - 6, 4000)
    for y, x in zip(ys, xs, strict=True):
        if base[y, x, 1] < 200:  # nuclei only inside the tissue
            base[y : y + 5, x : x + 5] = (90, 50, 130)
    levels = [base]
    while max(levels[-1].shape[:2]) > 512:
        levels.append(np.asarray(Image.fromarray(levels[-1]).reduce(2)))

    def picture(size: tuple[int, int], color: tuple[int, int, int], text: str) -> np.ndarray:
        image = Image.new("RGB", size, color)
        ImageDraw.Draw(image).text((12, 12), text, fill=(0, 0, 0))
        return np.asarray(image)

    head = f"{_DESCRIPTION}{width}x{height} [0,0 {width}x{height}] (256x256) RGB"
    common: dict[str, Any] = {"photometric": "rgb", "compression": "zlib", "metadata": None}
    out = io.BytesIO()
    with tifffile.TiffWriter(out) as tiff:
        tiff.write(
            levels[0], tile=(256, 256), description=f"{head}|AppMag = 40|MPP = 0.25", **common
        )
        thumb = np.asarray(Image.fromarray(levels[-1]).reduce(2))
        tiff.write(thumb, description=f"{head} -> thumbnail|AppMag = 40|MPP = 0.25", **common)
        for level in levels[1:]:
            h, w = level.shape[:2]
            tiff.write(
                level, tile=(256, 256), description=f"{head} -> {w}x{h}|AppMag = 40", **common
            )
        # The label and macro: OpenSlide names them from the description's second line.
        label = picture((400, 300), LABEL_COLOR, f"{LABEL_TEXT}\nBARCODE 4-0017-221")
        tiff.write(label, description=f"{_DESCRIPTION}label 400x300", subfiletype=1, **common)
        macro = picture((800, 300), MACRO_COLOR, LABEL_TEXT)
        tiff.write(macro, description=f"{_DESCRIPTION}macro 800x300", subfiletype=9, **common)
    return out.getvalue()


def demo_slide_record(case: Case, *, by: User, scan: str | None = None) -> Record:
    """A received whole-slide record on ``case``, checked by the scanner when one is
    configured (otherwise in the development scanner state, as under ``make run``)."""
    content = demo_slide_bytes()
    record = Record(
        case=case,
        kind=Record.Kind.PATHOLOGY_SLIDES,
        description="Demo biopsy slide (generated)",
        original_name=DEMO_NAME,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        state=Record.State.AVAILABLE,
        scan_status=scan or Record.Scan.PENDING,
        uploaded_by=by,
        content_type="image/tiff",
        detected_kind="wsi_svs",
    )
    record.file.save("x", ContentFile(content), save=False)
    record.save()
    if scan is None:
        if clamd_address() is None:
            record.scan_status = Record.Scan.DEVELOPMENT
            record.save(update_fields=["scan_status"])
        else:
            record = records.record_scan(record_id=record.pk)
    services.slide_index(record)
    return record


def demo_slides_ensure(people: dict[str, User]) -> list[Case]:
    """A slide on specialist@'s case in review (seeded by reports.demo), once."""
    specialist = people["specialist@example.com"]
    case = (
        Case.objects.filter(assigned_specialist=specialist, status=Status.IN_REVIEW)
        .order_by("pk")
        .first()
    )
    if case is None or case.records.filter(original_name=DEMO_NAME).exists():
        return []
    demo_slide_record(case, by=case.family or specialist)
    return []
