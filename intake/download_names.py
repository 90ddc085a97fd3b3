"""The name a record downloads under: never one the uploader chose (see ``filetypes``)."""

import re
import unicodedata

from .filekinds import _EXTENSIONS

_STEM_UNSAFE = re.compile(r"[^A-Za-z0-9 ()_-]+")
_STEM_SUFFIX = re.compile(r"\.[A-Za-z0-9]{0,5}$")
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)$", re.IGNORECASE)
_STEM_MAX = 80


def download_name(original_name: str, detected_kind: str) -> str:
    """``<sanitised stem>.<extension of the detected kind>``: the name a record downloads
    under. ASCII only (S3 copies it into a response header), no path, no dots, no
    extension of the uploader's choosing; "record" when nothing of the name survives."""
    name = re.split(r"[\\/]", original_name)[-1]
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    # Drop every extension-like tail ("x.pdf.exe" -> "x"); dots left inside the name become
    # underscores below ("Dr. Lee report.pdf" -> "Dr_Lee report").
    for _ in range(8):
        shorter = _STEM_SUFFIX.sub("", name)
        if shorter == name:
            break
        name = shorter
    stem = _STEM_UNSAFE.sub("_", name)
    stem = re.sub(r"[\s_]+", lambda m: " " if m.group().isspace() else "_", stem)
    stem = stem.strip(" _-")[:_STEM_MAX].strip(" _-")
    if not stem or _WINDOWS_RESERVED.match(stem):
        stem = f"record {stem}".strip() if stem else "record"
    return stem + _EXTENSIONS.get(detected_kind, ".bin")
