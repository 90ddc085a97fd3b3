"""What the study viewer's bounded child does (``core.bounded``): read the DICOM header of an
instance as JSON, or rewrite a compressed instance as Explicit VR Little Endian.

Imported by the child only, so it imports nothing of Django: no settings, no database."""

from __future__ import annotations

import io
import json
from typing import Any

from core import bounded

_MAX_VALUE = 200
_MAX_ITEMS = 50


def child_job(job: dict[str, Any]) -> bytes:
    if job.get("op") == "header":
        return _header(job["path"])
    if job.get("op") == "native":
        return _native(job["path"])
    raise bounded.ChildRefused("Unknown job.")


def _value_text(element: Any) -> str:
    vr = element.VR
    value = element.value
    if vr in ("OB", "OW", "OF", "OD", "OL", "OV", "UN") or isinstance(value, bytes | bytearray):
        size = len(value) if value is not None else 0
        return f"<binary, {size} bytes>"
    if value is None or value == "":
        return ""
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        items = [str(v) for v in list(value)[:_MAX_ITEMS]]
        text = "\\".join(items)
    else:
        text = str(value)
    text = text.replace("\x00", "").strip()
    return text if len(text) <= _MAX_VALUE else text[:_MAX_VALUE] + "…"


def _elements(dataset: Any, depth: int = 0) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for element in dataset:
        if element.tag == 0x7FE00010:
            continue
        row: dict[str, Any] = {
            "tag": f"({element.tag.group:04X},{element.tag.element:04X})",
            "vr": element.VR,
            "name": element.name if element.name != "Private tag data" else "Private",
        }
        if element.VR == "SQ":
            row["items"] = [
                _elements(item, depth + 1) if depth < 4 else []
                for item in list(element.value)[:_MAX_ITEMS]
            ]
        else:
            row["value"] = _value_text(element)
        out.append(row)
    return out


def _header(path: str) -> bytes:
    import pydicom  # noqa: PLC0415 - loaded by the job needing it
    from pydicom.errors import InvalidDicomError  # noqa: PLC0415 - loaded by the job needing it

    try:
        dataset = pydicom.dcmread(path, stop_before_pixels=True)
        meta = _elements(dataset.file_meta) if getattr(dataset, "file_meta", None) else []
        body = _elements(dataset)
    except (InvalidDicomError, ValueError, TypeError, KeyError, AttributeError, OSError):
        raise bounded.ChildRefused("The DICOM header could not be read.") from None
    return json.dumps({"meta": meta, "dataset": body}).encode()


def _native(path: str) -> bytes:
    import numpy as np  # noqa: PLC0415 - loaded by the job needing it
    import pydicom  # noqa: PLC0415 - loaded by the job needing it
    from pydicom.uid import ExplicitVRLittleEndian  # noqa: PLC0415 - loaded by the job needing it

    try:
        dataset = pydicom.dcmread(path)
        array = dataset.pixel_array
        photometric = str(dataset.get("PhotometricInterpretation", ""))
        if photometric.startswith("YBR") and int(dataset.get("SamplesPerPixel", 1)) == 3:
            # pydicom 3 hands JPEG colour back already converted to RGB (as_rgb): say so.
            dataset.PhotometricInterpretation = "RGB"
        array = np.ascontiguousarray(array)
        dataset.PixelData = array.tobytes()
        dataset["PixelData"].VR = "OB" if dataset.BitsAllocated <= 8 else "OW"
        if int(dataset.get("SamplesPerPixel", 1)) > 1:
            dataset.PlanarConfiguration = 0
        dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        out = io.BytesIO()
        dataset.save_as(out, enforce_file_format=True)
    except Exception as exc:  # any decoder failure on an untrusted file is a refusal
        raise bounded.ChildRefused(f"Decode failed ({type(exc).__name__}).") from None
    return out.getvalue()
