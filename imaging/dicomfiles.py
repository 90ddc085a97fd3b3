"""Reading what families send as imaging: a DICOM file, a zip of DICOM files, or a CD's
layout (DICOMDIR and its folders) zipped. Runs only in the bounded child process
(``core.bounded.run_script("imaging.dicomfiles:index_job", ...)``): no Django here, and
nothing read from a file is ever logged or raised as a message, since DICOM headers carry
names and dates of birth.

Every input is hostile until read: the archive's entry count, each entry's declared and
actual sizes, its compression ratio, its name (never used as a path: accepted entries are
copied out under a counter), symlinks, nested zips, encryption; each file's header must
parse, name its study, series and instance, and declare an image small enough to handle
and pixel data the file really holds. What is refused is listed with a reason for the
coordinator and the rest is indexed.
"""

from __future__ import annotations

import json
import math
import re
import stat
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.bounded import ChildRefused

# The DICOMDIR's own SOP class (Media Storage Directory Storage): a CD's index, no image.
DICOMDIR_CLASS = "1.2.840.10008.1.3.10"
DICOM_MAGIC_OFFSET = 128
CHUNK = 1024 * 1024
# Header values larger than this are not read while indexing (pixel data, overlays,
# private blobs): their length is still known, which the truncation check uses.
DEFER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Limits:
    max_entries: int = 20_000
    max_entry_bytes: int = 2 * 1024**3
    max_total_bytes: int = 20 * 1024**3
    # Images compress 2-20x; far beyond that is padding or a zip bomb. Small entries are
    # exempt: a few KB of zeros compresses a thousandfold honestly.
    max_ratio: int = 200
    ratio_exempt_bytes: int = 1024**2
    max_frame_pixels: int = 8192 * 8192
    max_instance_pixels: int = 2**31
    max_frames: int = 10_000
    max_skipped_listed: int = 200


@dataclass
class Header:
    """What the index keeps of one DICOM file. ``file`` is a path the parent reads."""

    file: str
    size: int
    name: str
    study_uid: str
    series_uid: str
    sop_uid: str
    modality: str = ""
    study_description: str = ""
    series_description: str = ""
    study_date: str = ""
    body_part: str = ""
    series_number: int | None = None
    instance_number: int | None = None
    rows: int | None = None
    columns: int | None = None
    pixel_spacing: list[float] | None = None
    slice_thickness: float | None = None
    position: list[float] | None = None
    orientation: list[float] | None = None
    frames: int = 1
    transfer_syntax: str = ""
    window_center: float | None = None
    window_width: float | None = None


@dataclass
class Outcome:
    headers: list[Header] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    skipped_total: int = 0

    def skip(self, name: str, reason: str, limits: Limits) -> None:
        self.skipped_total += 1
        if len(self.skipped) < limits.max_skipped_listed:
            self.skipped.append({"name": clean_name(name), "reason": reason})


class Skip(ChildRefused):
    """One entry is not indexed; the message (ours, never the file's) says why."""


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UID = re.compile(r"^[0-9.]{1,64}$")


def clean_name(name: str) -> str:
    # Entry names are chosen by whoever built the zip: keep them short and printable.
    name = _CONTROL.sub("?", name)
    return name if len(name) <= 200 else name[:199] + "…"


def _text(value: Any, limit: int = 200) -> str:
    text = _CONTROL.sub(" ", str(value if value is not None else "")).strip()
    return text[:limit]


def _int(value: Any) -> int | None:
    try:
        number = int(str(value).strip()) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return number if number is not None and -(2**31) < number < 2**31 else None


def _floats(value: Any, count: int) -> list[float] | None:
    if value is None or isinstance(value, str | bytes):
        return None
    try:
        numbers = [float(v) for v in value]
    except (TypeError, ValueError):
        return None
    if len(numbers) != count or not all(math.isfinite(n) for n in numbers):
        return None
    return numbers


def _float(value: Any) -> float | None:
    if value is not None and not isinstance(value, str | bytes) and hasattr(value, "__len__"):
        value = value[0] if len(value) else None
    try:
        number = float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return number if number is not None and math.isfinite(number) else None


def _uid(dataset: Any, keyword: str) -> str:
    value = str(dataset.get(keyword) or "").strip().rstrip("\x00")
    if not _UID.match(value):
        raise Skip("the DICOM header does not name its study, series and instance")
    return value


def _date(value: Any) -> str:
    text = str(value or "").strip()
    return text if re.fullmatch(r"\d{8}", text) else ""


def _geometry(dataset: Any, keyword: str, count: int) -> list[float] | None:
    """A plane attribute at the top level, else from the functional groups of an
    enhanced multi-frame image (shared first, then the first frame's)."""
    found = _floats(dataset.get(keyword), count)
    if found is not None:
        return found
    macro = {
        "ImagePositionPatient": "PlanePositionSequence",
        "ImageOrientationPatient": "PlaneOrientationSequence",
        "PixelSpacing": "PixelMeasuresSequence",
        "SliceThickness": "PixelMeasuresSequence",
    }[keyword]
    for groups in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        try:
            item = dataset.get(groups)[0].get(macro)[0]
        except (TypeError, IndexError, AttributeError, KeyError):
            continue
        found = _floats(item.get(keyword), count)
        if found is not None:
            return found
    return None


def _check_pixels(dataset: Any, size: int, frames: int, limits: Limits) -> tuple[int, int]:
    rows, columns = _int(dataset.get("Rows")), _int(dataset.get("Columns"))
    if rows is None or columns is None:
        return 0, 0
    if rows <= 0 or columns <= 0:
        raise Skip("the image declares no rows or columns")
    if rows * columns > limits.max_frame_pixels:
        raise Skip(f"the image declares {rows} x {columns} pixels, more than we handle")
    if frames > limits.max_frames or rows * columns * frames > limits.max_instance_pixels:
        raise Skip(f"the file declares {frames} frames, more than we handle")
    element = dataset.get_item("PixelData") if "PixelData" in dataset else None
    if element is None:
        return rows, columns
    syntax = getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", None)
    length = getattr(element, "length", None)
    tell = getattr(element, "value_tell", None)
    if syntax is not None and not syntax.is_compressed and length not in (None, 0xFFFFFFFF):
        if tell is not None and tell + length > size:
            raise Skip("the file is cut short: its pixel data is incomplete")
        bits = _int(dataset.get("BitsAllocated")) or 0
        samples = _int(dataset.get("SamplesPerPixel")) or 1
        if str(dataset.get("PhotometricInterpretation", "")).strip() == "YBR_FULL_422":
            samples = 2  # chroma shared by pixel pairs: two values per pixel on average
        expected = (rows * columns * frames * samples * bits + 7) // 8
        if bits and length < expected:
            raise Skip("the file is cut short: its pixel data is incomplete")
    return rows, columns


def read_header(path: str | Path, *, name: str, limits: Limits) -> Header:
    """The index fields of one DICOM Part 10 file, or Skip with the reason."""
    # Here, not at the top: pydicom reads in the bounded child; the parent imports this module
    # for its types and limits only.
    from pydicom import dcmread  # noqa: PLC0415
    from pydicom.errors import InvalidDicomError  # noqa: PLC0415

    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as source:
        head = source.read(DICOM_MAGIC_OFFSET + 4)
        if head[DICOM_MAGIC_OFFSET:] != b"DICM":
            if head.startswith(b"PK\x03\x04"):
                raise Skip("a zip inside the zip: please zip the images themselves")
            raise Skip("not a DICOM file")
    try:
        # By path, so a deferred value could be read later from the same file.
        dataset = dcmread(str(path), defer_size=DEFER_BYTES)
    except (InvalidDicomError, EOFError) as exc:
        raise Skip("the DICOM file is damaged or cut short") from exc
    except Exception as exc:  # a malformed header may raise anything pydicom has
        raise Skip("the DICOM header could not be read") from exc
    try:
        return _header(dataset, path=path, size=size, name=name, limits=limits)
    except Skip:
        raise
    except Exception as exc:  # pydicom converts values lazily: a bad one fails here
        raise Skip("the DICOM header could not be read") from exc


def _header(dataset: Any, *, path: Path, size: int, name: str, limits: Limits) -> Header:
    # The pixel data is checked first, while it is still a raw (unread) element.
    frames = _int(dataset.get("NumberOfFrames")) or 1
    frames = max(frames, 1)
    rows, columns = _check_pixels(dataset, size, frames, limits)
    meta = getattr(dataset, "file_meta", None)
    sop_class = str(getattr(meta, "MediaStorageSOPClassUID", "") or dataset.get("SOPClassUID"))
    if sop_class == DICOMDIR_CLASS or "DirectoryRecordSequence" in dataset:
        raise Skip("DICOMDIR: the disc's index of its files, not an image")
    syntax = str(getattr(meta, "TransferSyntaxUID", "") or "")
    spacing = _geometry(dataset, "PixelSpacing", 2)
    thickness = dataset.get("SliceThickness")
    if thickness is None:
        found = _geometry(dataset, "SliceThickness", 1)
        thickness = found[0] if found else None
    return Header(
        file=str(path),
        size=size,
        name=clean_name(name),
        study_uid=_uid(dataset, "StudyInstanceUID"),
        series_uid=_uid(dataset, "SeriesInstanceUID"),
        sop_uid=_uid(dataset, "SOPInstanceUID"),
        modality=_text(dataset.get("Modality"), 16),
        study_description=_text(dataset.get("StudyDescription")),
        series_description=_text(dataset.get("SeriesDescription")),
        study_date=_date(dataset.get("StudyDate")),
        body_part=_text(dataset.get("BodyPartExamined"), 64),
        series_number=_int(dataset.get("SeriesNumber")),
        instance_number=_int(dataset.get("InstanceNumber")),
        rows=rows or None,
        columns=columns or None,
        pixel_spacing=spacing,
        slice_thickness=_float(thickness),
        position=_geometry(dataset, "ImagePositionPatient", 3),
        orientation=_geometry(dataset, "ImageOrientationPatient", 6),
        frames=frames,
        transfer_syntax=syntax if _UID.match(syntax) else "",
        window_center=_float(dataset.get("WindowCenter")),
        window_width=_float(dataset.get("WindowWidth")),
    )


# --- zips ------------------------------------------------------------------------------------

_QUIET = ("__MACOSX/", ".DS_Store", "Thumbs.db", "desktop.ini")


def _entry_refusal(info: zipfile.ZipInfo, limits: Limits, total: int) -> str | None:
    name = info.filename
    if name.startswith(("/", "\\")) or ".." in re.split(r"[/\\]", name) or ":" in name[:3]:
        return "an unsafe file name (it points outside the archive)"
    mode = (info.external_attr >> 16) & 0o170000
    if mode == stat.S_IFLNK:
        return "a symbolic link, not a file"
    if mode and mode not in (stat.S_IFREG, stat.S_IFDIR):
        return "not a regular file"
    if info.flag_bits & 0x1:
        return "the file is encrypted"
    if info.file_size > limits.max_entry_bytes:
        return "the file is larger than we accept for one image"
    if total + info.file_size > limits.max_total_bytes:
        return "the archive unpacks to more than we accept"
    if info.file_size > limits.ratio_exempt_bytes and info.file_size > limits.max_ratio * max(
        info.compress_size, 1
    ):
        return "compressed far beyond what images allow (a zip bomb)"
    return None


def _copy_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> int:
    """Copy one entry out, never more bytes than it declared (zipfile enforces that too)."""
    copied = 0
    with archive.open(info) as member, target.open("wb") as out:
        while chunk := member.read(CHUNK):
            copied += len(chunk)
            if copied > info.file_size:
                raise Skip("the file holds more than the archive declared")
            out.write(chunk)
    return copied


def index_zip(path: str | Path, workdir: str | Path, limits: Limits) -> Outcome:
    outcome = Outcome()
    workdir = Path(workdir)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise Skip("the zip archive is damaged") from exc
    with archive:
        entries = archive.infolist()
        if len(entries) > limits.max_entries:
            raise Skip(f"the archive holds more than {limits.max_entries} files")
        total = 0
        for number, info in enumerate(entries):
            name = info.filename
            if info.is_dir() and not info.file_size:
                continue
            if name.startswith(_QUIET[0]) or name.rsplit("/", 1)[-1] in _QUIET[1:]:
                outcome.skip(name, "computer metadata, not an image", limits)
                continue
            refusal = _entry_refusal(info, limits, total)
            if refusal is not None:
                outcome.skip(name, refusal, limits)
                continue
            total += info.file_size
            target = workdir / f"{number:06d}.dcm"
            try:
                _copy_entry(archive, info, target)
                outcome.headers.append(read_header(target, name=name, limits=limits))
            except Skip as exc:
                target.unlink(missing_ok=True)
                outcome.skip(name, str(exc), limits)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
                # CRC mismatches, unsupported compression methods, lying sizes.
                target.unlink(missing_ok=True)
                outcome.skip(name, "the file could not be unpacked (damaged archive)", limits)
            except NotImplementedError:
                target.unlink(missing_ok=True)
                outcome.skip(name, "the archive uses a compression we do not read", limits)
    return outcome


def index_path(path: str | Path, workdir: str | Path, name: str, limits: Limits) -> Outcome:
    """Headers of every DICOM instance in the file at ``path`` (a zip or a single file)."""
    with Path(path).open("rb") as source:
        head = source.read(4)
    if head == b"PK\x03\x04" or zipfile.is_zipfile(path):
        return index_zip(path, workdir, limits)
    outcome = Outcome()
    try:
        outcome.headers.append(read_header(path, name=name, limits=limits))
    except Skip as exc:
        outcome.skip(name, str(exc), limits)
    return outcome


def index_job(job: dict[str, Any]) -> bytes:  # runs in the bounded child
    limits = Limits(**job.get("limits", {}))
    try:
        outcome = index_path(job["path"], job["workdir"], job.get("name", "file"), limits)
    except Skip as exc:
        outcome = Outcome()
        outcome.skip(job.get("name", "file"), str(exc), limits)
    return json.dumps(
        {
            "headers": [asdict(h) for h in outcome.headers],
            "skipped": outcome.skipped,
            "skipped_total": outcome.skipped_total,
        }
    ).encode()
