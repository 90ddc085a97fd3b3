"""The decoders of the previews: a file path in, a ``Summary`` or PNG bytes out (see the
package docstring). They parse files from the public: call them through ``runner``, which
runs them in a bounded child; this module is that child's target and so imports neither
Django nor anything of the project but ``core.bounded``. The image libraries are imported
where they are used: the parent process that only reads ``Summary`` never loads them.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from core import bounded

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

PDF = "pdf"
IMAGE = "image"
DICOM = "dicom"
DICOM_ZIP = "dicom_zip"
WHOLE_SLIDE = "whole_slide"
NONE = "none"

# The defaults of the limits (settings of the same names override them, see ``runner``).
MAX_PAGES = 50
MAX_SIDE_PX = 1600
MAX_IMAGE_PIXELS = 50_000_000
# 144 dpi: small print in a scanned lab report stays legible without huge images.
MAX_PDF_SCALE = 2.0
# How many DICOM files of a zipped study are read for their details.
ZIP_INSTANCES = 3
_MAX_VALUE_CHARS = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

NOTE_NO_PREVIEW = "There is no in-page preview for this kind of file. Download it to open it."
NOTE_WHOLE_SLIDE = (
    "Whole-slide pathology images are too large to view here. Download the file and open it "
    "in a slide viewer."
)
NOTE_FAILED = "We couldn't make a preview of this file. Download it to open it."
NOTE_TIMEOUT = "Making a preview of this file took too long. Download it to open it."
NOTE_ZIP = (
    "Previews are made for single DICOM files, not for zipped studies. Download the study "
    "to view its images."
)


class NoPreview(bounded.ChildRefused):
    """There is no preview to show; ``message`` is a sentence for the specialist."""


@dataclass(frozen=True)
class Limits:
    max_pages: int = MAX_PAGES
    max_side: int = MAX_SIDE_PX
    max_image_pixels: int = MAX_IMAGE_PIXELS


@dataclass
class Summary:
    """What the viewer page shows about one record."""

    kind: str
    pages: int = 0  # preview images there are, numbered 1..pages
    total_pages: int = 0  # pages (or frames) in the file itself
    metadata: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""  # why there is no preview, or why only some pages are shown
    frame: int = 0  # DICOM: which frame the preview shows (1-based), of total_pages
    window: str = ""  # DICOM: the window the preview was drawn with, in words
    # (width, height) in pixels of each preview, about: lets the page reserve the space.
    sizes: list[tuple[int, int]] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        data["metadata"] = [(str(k), str(v)) for k, v in data.get("metadata", [])]
        data["sizes"] = [(int(w), int(h)) for w, h in data.get("sizes", [])]
        return cls(**data)


def viewer_kind(*, detected_kind: str, content_type: str = "", name: str = "") -> str:
    """How a record is previewed. ``detected_kind`` comes from the bytes (intake.filetypes);
    the content type and name only matter for records stored before it was kept, and the
    renderer checks the bytes again whatever they say."""
    by_detected = {
        "pdf": PDF,
        "jpeg": IMAGE,
        "png": IMAGE,
        "tiff": IMAGE,
        "wsi_svs": WHOLE_SLIDE,
        "wsi_ndpi": WHOLE_SLIDE,
        "dicom": DICOM,
        "dicom_zip": DICOM_ZIP,
    }
    if detected_kind:
        return by_detected.get(detected_kind, NONE)
    base_type = content_type.split(";")[0].strip().lower()
    if base_type == "application/pdf":
        return PDF
    if base_type in ("image/jpeg", "image/png", "image/tiff"):
        return IMAGE
    if base_type == "application/dicom" or name.lower().endswith(".dcm"):
        return DICOM
    return NONE


# --- pure rendering: a file path in, a Summary or PNG bytes out ---------------------------


def summarize(path: str | Path, kind: str, limits: Limits | None = None) -> Summary:
    """What there is to preview in the file at ``path``. Runs the decoders: call it in the
    child (``summarize_bounded``) for files from the public."""
    limits = limits or Limits()
    if kind == PDF:
        return _paged(kind, _pdf_page_sizes(path, limits), limits)
    if kind == IMAGE:
        return _paged(kind, _image_frame_sizes(path, limits), limits)
    if kind == DICOM:
        return _dicom_summary(path, limits)
    if kind == DICOM_ZIP:
        return _dicom_zip_summary(path)
    if kind == WHOLE_SLIDE:
        return Summary(kind=kind, note=NOTE_WHOLE_SLIDE)
    return Summary(kind=kind, note=NOTE_NO_PREVIEW)


def render(path: str | Path, kind: str, page: int, limits: Limits | None = None) -> bytes:
    """PNG bytes of page ``page`` (from 1) of the file at ``path``; NoPreview if none."""
    limits = limits or Limits()
    if page < 1:
        raise NoPreview("There is no such page.")
    if kind == PDF:
        return _png(_pdf_page(path, page, limits), limits)
    if kind == IMAGE:
        return _png(_image_frame(path, page, limits), limits)
    if kind == DICOM:
        if page != 1:
            raise NoPreview("There is no such page.")
        image, _ = _dicom_image(path, limits)
        return _png(image, limits)
    raise NoPreview(NOTE_WHOLE_SLIDE if kind == WHOLE_SLIDE else NOTE_NO_PREVIEW)


def _paged(kind: str, sizes: tuple[int, list[tuple[int, int]]], limits: Limits) -> Summary:
    total, shown_sizes = sizes
    if total < 1:
        raise NoPreview(NOTE_FAILED)
    shown = min(total, limits.max_pages)
    note = ""
    if total > shown:
        note = f"Showing the first {shown} of {total} pages. Download the file to see the rest."
    return Summary(kind=kind, pages=shown, total_pages=total, note=note, sizes=shown_sizes)


def _fit(width: float, height: float, max_side: int, max_scale: float = 1.0) -> tuple[int, int]:
    if not (width > 0 and height > 0):
        return (max_side, max_side)
    scale = min(max_scale, max_side / max(width, height))
    return (max(1, round(width * scale)), max(1, round(height * scale)))


def _check_page(page: int, total: int, limits: Limits) -> None:
    if not 1 <= page <= min(total, limits.max_pages):
        raise NoPreview("There is no such page.")


def _png(image: PILImage, limits: Limits) -> bytes:
    from PIL import Image  # noqa: PLC0415 - child only

    image = _displayable(image)
    if max(image.size) > limits.max_side:
        image.thumbnail((limits.max_side, limits.max_side), Image.Resampling.LANCZOS)
    # Built from raw pixels: no info dict, so no EXIF, ICC profile or text chunk is written.
    clean = Image.frombytes(image.mode, image.size, image.tobytes())
    out = io.BytesIO()
    clean.save(out, format="PNG", compress_level=6)
    return out.getvalue()


def _displayable(image: PILImage) -> PILImage:
    """An 8-bit L, LA, RGB or RGBA image; deeper greys are stretched to their own range."""
    if image.mode in ("L", "LA", "RGB", "RGBA"):
        return image
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        image = image.convert("F") if image.mode != "F" else image
        low, high = cast(tuple[float, float], image.getextrema())
        scale = 255.0 / (high - low) if high > low else 0.0
        return image.point(lambda value: (value - low) * scale).convert("L")
    if image.mode == "1":
        return image.convert("L")
    if image.mode in ("P", "PA") and ("transparency" in image.info or image.mode == "PA"):
        return image.convert("RGBA")
    return image.convert("RGB")


# PDF


def _open_pdf(path: str | Path) -> Any:
    import pypdfium2 as pdfium  # noqa: PLC0415 - child only

    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise NoPreview(
                "This PDF is protected with a password, so it can't be previewed. Download "
                "it to open it."
            ) from exc
        raise NoPreview(NOTE_FAILED) from exc


def _pdf_page_sizes(path: str | Path, limits: Limits) -> tuple[int, list[tuple[int, int]]]:
    pdf = _open_pdf(path)
    try:
        total = len(pdf)
        # Sizes from the page tree, without loading or drawing the pages.
        sizes = []
        for index in range(min(total, limits.max_pages)):
            width, height = pdf.get_page_size(index)
            sizes.append(_fit(width, height, limits.max_side, MAX_PDF_SCALE))
        return total, sizes
    finally:
        pdf.close()


def _pdf_page(path: str | Path, page: int, limits: Limits) -> PILImage:
    from PIL import Image  # noqa: PLC0415 - child only

    pdf = _open_pdf(path)
    try:
        _check_page(page, len(pdf), limits)
        pdf_page = pdf[page - 1]
        try:
            width, height = pdf_page.get_size()
            if not (width > 0 and height > 0) or not math.isfinite(width * height):
                raise NoPreview(NOTE_FAILED)
            # The longest side at max_side pixels at most, whatever size the page claims.
            scale = min(MAX_PDF_SCALE, limits.max_side / max(width, height))
            bitmap = pdf_page.render(scale=scale)
            try:
                rendered = bitmap.to_pil()
                return Image.frombytes(rendered.mode, rendered.size, rendered.tobytes())
            finally:
                bitmap.close()
        finally:
            pdf_page.close()
    finally:
        pdf.close()


# Pictures


@contextlib.contextmanager
def _open_image(path: str | Path, limits: Limits) -> Iterator[PILImage]:
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415 - child only

    # Pillow's bomb guard is a module global: set it for this open only, so that running
    # in process (tests, a shell) leaves the rest of the program's limit as it was.
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = limits.max_image_pixels
    try:
        with warnings.catch_warnings():
            # Over the limit is a warning, over twice the limit an error: refuse both.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                yield image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise NoPreview(
            "This picture is too large to preview here. Download it to open it."
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError, EOFError) as exc:
        raise NoPreview(NOTE_FAILED) from exc
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _image_frame_sizes(path: str | Path, limits: Limits) -> tuple[int, list[tuple[int, int]]]:
    with _open_image(path, limits) as image:
        total = int(getattr(image, "n_frames", 1))
        sizes = []
        for index in range(min(total, limits.max_pages)):
            image.seek(index)
            sizes.append(_fit(image.width, image.height, limits.max_side))
        return total, sizes


def _image_frame(path: str | Path, page: int, limits: Limits) -> PILImage:
    from PIL import ImageOps  # noqa: PLC0415 - child only

    with _open_image(path, limits) as image:
        _check_page(page, int(getattr(image, "n_frames", 1)), limits)
        image.seek(page - 1)
        if image.width * image.height > limits.max_image_pixels:
            # Later TIFF pages are not checked by Image.open, only the first.
            raise NoPreview("This picture is too large to preview here. Download it to open it.")
        # JPEG decodes straight at a reduced scale; other formats ignore this.
        image.draft("RGB", (limits.max_side, limits.max_side))
        image.load()
        # Phone photos are stored sideways with an EXIF note saying which way is up.
        upright = ImageOps.exif_transpose(image)
        return upright if upright is not None else image.copy()


# DICOM

# (label, keyword): what helps a specialist tell which study this is and how it was taken.
# The patient's name, ID and birth date are shown so the specialist can check that the
# study is this child's (wrong-patient uploads happen); they already see the case.
DICOM_TAGS = (
    ("Patient's name", "PatientName"),
    ("Patient ID", "PatientID"),
    ("Patient's birth date", "PatientBirthDate"),
    ("Patient's sex", "PatientSex"),
    ("Modality", "Modality"),
    ("Study date", "StudyDate"),
    ("Study description", "StudyDescription"),
    ("Series description", "SeriesDescription"),
    ("Body part examined", "BodyPartExamined"),
    ("Institution", "InstitutionName"),
    ("Manufacturer", "Manufacturer"),
    ("Model", "ManufacturerModelName"),
    ("Rows", "Rows"),
    ("Columns", "Columns"),
    ("Number of frames", "NumberOfFrames"),
    ("Slice thickness (mm)", "SliceThickness"),
    ("Pixel spacing (mm)", "PixelSpacing"),
    ("Photometric interpretation", "PhotometricInterpretation"),
    ("Bits stored", "BitsStored"),
    ("Window center", "WindowCenter"),
    ("Window width", "WindowWidth"),
)
_DATE_KEYWORDS = {"PatientBirthDate", "StudyDate"}


def _clean(value: str) -> str:
    value = _CONTROL.sub(" ", value).strip()
    return value if len(value) <= _MAX_VALUE_CHARS else value[: _MAX_VALUE_CHARS - 1] + "…"


def _dicom_value(keyword: str, value: Any) -> str:
    from pydicom.multival import MultiValue  # noqa: PLC0415 - child only
    from pydicom.valuerep import PersonName  # noqa: PLC0415 - child only

    if isinstance(value, PersonName):
        parts = [value.family_name, value.given_name, value.middle_name]
        text = ", ".join(p for p in parts[:2] if p) + (f" {parts[2]}" if parts[2] else "")
        return _clean(text or str(value).replace("^", " "))
    if isinstance(value, MultiValue | list | tuple):
        return _clean(", ".join(str(v) for v in value))
    text = str(value)
    if keyword in _DATE_KEYWORDS and re.fullmatch(r"\d{8}", text):
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return _clean(text)


def _dicom_metadata(dataset: Any) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for label, keyword in DICOM_TAGS:
        value = dataset.get(keyword)
        if value is None or value == "":
            continue
        rows.append((label, _dicom_value(keyword, value)))
    syntax = getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", None)
    if syntax:
        rows.append(("Transfer syntax", _clean(f"{syntax.name} ({syntax})")))
    return rows


def _read_dicom_header(source: Any) -> Any:
    from pydicom import dcmread  # noqa: PLC0415 - child only
    from pydicom.errors import InvalidDicomError  # noqa: PLC0415 - child only

    try:
        # Large values (overlays, private blobs) are skipped rather than read.
        return dcmread(source, stop_before_pixels=True, defer_size=1024 * 1024)
    except (InvalidDicomError, OSError, ValueError, EOFError, KeyError, TypeError) as exc:
        raise NoPreview(NOTE_FAILED) from exc


def _frame_count(dataset: Any) -> int:
    try:
        return max(1, int(dataset.get("NumberOfFrames") or 1))
    except (TypeError, ValueError):
        return 1


def _dicom_summary(path: str | Path, limits: Limits) -> Summary:
    dataset = _read_dicom_header(path)
    frames = _frame_count(dataset)
    summary = Summary(kind=DICOM, total_pages=frames, metadata=_dicom_metadata(dataset))
    try:
        _, window = _dicom_image(path, limits, dataset=dataset)
    except NoPreview as exc:
        summary.note = exc.message
        return summary
    summary.pages = 1
    summary.frame = frames // 2 + 1
    summary.window = window
    summary.sizes = [_fit(int(dataset.Columns), int(dataset.Rows), limits.max_side)]
    return summary


def _first(value: Any) -> float | None:
    from pydicom.multival import MultiValue  # noqa: PLC0415 - child only

    if isinstance(value, MultiValue | list | tuple):
        value = value[0] if len(value) else None
    try:
        number = float(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None
    return number if number is not None and math.isfinite(number) else None


def _dicom_image(path: str | Path, limits: Limits, *, dataset: Any = None) -> tuple[PILImage, str]:
    """The middle frame as a picture, and the window it was drawn with, in words."""
    import numpy as np  # noqa: PLC0415 - child only
    from PIL import Image  # noqa: PLC0415 - child only
    from pydicom.pixels import apply_modality_lut, pixel_array  # noqa: PLC0415 - child only

    dataset = dataset if dataset is not None else _read_dicom_header(path)
    syntax = getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", None)
    rows, columns = int(dataset.get("Rows") or 0), int(dataset.get("Columns") or 0)
    if rows <= 0 or columns <= 0:
        raise NoPreview("This DICOM file holds no image, only its details.")
    if rows * columns > limits.max_image_pixels:
        raise NoPreview("This image is too large to preview here. Download it to open it.")
    frames = _frame_count(dataset)
    try:
        # One frame decoded, not the whole multi-frame series.
        pixels = pixel_array(str(path), index=frames // 2)
    except Exception as exc:  # any codec failure means "no preview", never a 500
        if syntax is not None and syntax.is_compressed:
            raise NoPreview(
                f"There is no preview for this compression ({_clean(syntax.name)}). "
                "Download the study to view its images."
            ) from exc
        raise NoPreview(NOTE_FAILED) from exc

    photometric = str(dataset.get("PhotometricInterpretation", "")).upper()
    if pixels.ndim == 3 and pixels.shape[-1] in (3, 4):
        # Colour (ultrasound, photos, secondary captures): pydicom has already made it RGB.
        data = pixels[..., :3].astype(np.float64)
        peak = float(data.max()) if data.size else 0.0
        data = data / peak if peak > 255 else data / 255.0
        out = np.clip(np.rint(data * 255.0), 0, 255).astype(np.uint8)
        return Image.fromarray(out, mode="RGB"), "colour image, no window applied"
    if pixels.ndim != 2:
        raise NoPreview(NOTE_FAILED)

    values = apply_modality_lut(pixels.astype(np.float64), dataset)
    center, width = _first(dataset.get("WindowCenter")), _first(dataset.get("WindowWidth"))
    if center is not None and width is not None and width > 1:
        # The linear VOI function of PS3.3 C.11.2.1.2, scaled to 0..1.
        scaled = (values - (center - 0.5)) / (width - 1) + 0.5
        window = f"window center {center:g}, width {width:g} (from the file)"
    else:
        # No window in the file: stretch between the 0.5th and 99.5th percentiles, which
        # ignores the few extreme values (air, metal, padding) that would flatten the rest.
        low, high = (float(v) for v in np.percentile(values, [0.5, 99.5]))
        if high <= low:
            low, high = float(values.min()), float(values.max())
        span = high - low if high > low else 1.0
        scaled = (values - low) / span
        window = f"window {low:g} to {high:g} (automatic)"
    scaled = np.clip(scaled, 0.0, 1.0)
    if photometric == "MONOCHROME1":
        # MONOCHROME1 shows its lowest values as white.
        scaled = 1.0 - scaled
    out = np.rint(scaled * 255.0).astype(np.uint8)
    return Image.fromarray(out, mode="L"), window


def _dicom_zip_summary(path: str | Path) -> Summary:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise NoPreview(NOTE_FAILED) from exc
    with archive:
        entries = [
            info
            for info in archive.infolist()
            if not info.is_dir()
            and not info.filename.startswith("__MACOSX/")
            and not info.filename.endswith(".DS_Store")
        ]
        metadata: list[tuple[str, str]] = []
        # Intake accepted only DICOM entries; the first that reads gives the study's details.
        for info in entries[:ZIP_INSTANCES]:
            try:
                with archive.open(info) as member:
                    dataset = _read_dicom_header(member)
            except (NoPreview, zipfile.BadZipFile, OSError, ValueError, EOFError):
                continue
            metadata = [("File in the zip", _clean(info.filename)), *_dicom_metadata(dataset)]
            break
    return Summary(
        kind=DICOM_ZIP,
        total_pages=len(entries),
        metadata=metadata,
        note=f"This zip holds {len(entries)} DICOM files. {NOTE_ZIP}",
    )


# --- the child's side ---------------------------------------------------------------------


def child_job(job: dict[str, Any]) -> bytes:  # pragma: no cover - runs in the child
    """The target ``runner`` gives ``core.bounded``: a summary as JSON, or a page as PNG."""
    limits = Limits(**job["limits"])
    if job["op"] == "summary":
        return json.dumps(asdict(summarize(job["path"], job["kind"], limits))).encode()
    return render(job["path"], job["kind"], int(job["page"]), limits)
