"""What the record checks share: the kinds we accept (content types, extensions, labels,
what libmagic must agree on), the first-bytes signatures, and the refusals with a sentence
for the family. The checks themselves are in ``filetypes`` (the entry points, binary
kinds, picture size), ``filedicom``, ``filezip`` and ``filetext``; names starting with an
underscore are shared among those modules only."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import magic

MAX_RECORD_BYTES = 5 * 1024**3  # 5 GB
MAX_FORM_UPLOAD_BYTES = 50 * 1024**2  # files larger than this must go direct to S3
HEAD_BYTES = 64 * 1024  # how much detect_head needs
ACCEPTED_DESCRIPTION = (
    "PDF, JPEG, PNG, TIFF, DICOM (single files or a .zip of a study), "
    "whole-slide pathology images (SVS, NDPI) and plain text"
)

# Browsers sniff at most 1445 bytes, Internet Explorer 256: HTML beyond this window is not
# seen by anything that would render it.
SNIFF_WINDOW = 4096

_CHUNK = 1024**2

_CONTENT_TYPES = {
    "pdf": "application/pdf",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "tiff": "image/tiff",
    "wsi_svs": "image/tiff",
    "wsi_ndpi": "image/tiff",
    "dicom": "application/dicom",
    "dicom_zip": "application/zip",
    "text": "text/plain; charset=utf-8",
}
_EXTENSIONS = {
    "pdf": ".pdf",
    "jpeg": ".jpg",
    "png": ".png",
    "tiff": ".tif",
    "wsi_svs": ".svs",
    "wsi_ndpi": ".ndpi",
    "dicom": ".dcm",
    "dicom_zip": ".zip",
    "text": ".txt",
}
_LABELS = {
    "pdf": "PDF",
    "jpeg": "JPEG",
    "png": "PNG",
    "tiff": "TIFF",
    "wsi_svs": "SVS",
    "wsi_ndpi": "NDPI",
    "dicom": "DICOM",
    "dicom_zip": "zip",
    "text": "text",
}
# What libmagic must also say for each signature we recognise ourselves.
_MAGIC_AGREES = {
    "pdf": {"application/pdf"},
    "jpeg": {"image/jpeg"},
    "png": {"image/png", "image/apng"},
    "tiff": {"image/tiff"},
    "dicom": {"application/dicom"},
    "dicom_zip": {"application/zip"},
}

_TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ZIP_LOCAL = b"PK\x03\x04"

_ARCHIVE_MIMES = {
    "application/gzip",
    "application/x-gzip",
    "application/x-bzip2",
    "application/x-xz",
    "application/x-lzma",
    "application/x-lzip",
    "application/zstd",
    "application/x-7z-compressed",
    "application/x-rar",
    "application/vnd.rar",
    "application/x-tar",
    "application/x-cpio",
    "application/x-archive",
    "application/x-compress",
    "application/x-iso9660-image",
    "application/x-apple-diskimage",
    "application/java-archive",
    "application/vnd.android.package-archive",
}
_EXECUTABLE_MIMES = {
    "application/x-dosexec",
    "application/x-executable",
    "application/x-pie-executable",
    "application/x-sharedlib",
    "application/x-mach-binary",
    "application/x-java-applet",
    "application/vnd.microsoft.portable-executable",
    "application/x-msi",
}
_MARKUP_MIMES = {
    "text/html",
    "text/xml",
    "application/xml",
    "image/svg+xml",
    "application/xhtml+xml",
    "application/javascript",
    "text/javascript",
    "text/x-shellscript",
    "text/x-python",
    "text/x-php",
    "text/x-perl",
    "text/x-ruby",
    "text/x-lua",
    "text/x-tcl",
    "text/x-awk",
    "text/x-msdos-batch",
}
_OTHER_IMAGE_MIMES = {
    "image/gif",
    "image/bmp",
    "image/x-ms-bmp",
    "image/webp",
    "image/heic",
    "image/heif",
    "image/avif",
    "image/jp2",
    "image/jxl",
}


class Rejected(Exception):
    """A file we will not keep. ``message`` is a sentence for the family; ``code`` is for
    logs and tests: empty, too_large, type, damaged, zip (raised here) or refused (the
    default, for callers raising their own)."""

    def __init__(self, message: str, *, code: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Detected:
    kind: str
    content_type: str

    @property
    def extension(self) -> str:
        """The extension to give the file on download, in place of the family's own."""
        return _EXTENSIONS[self.kind]


def _detected(kind: str, content_type: str | None = None) -> Detected:
    return Detected(kind=kind, content_type=content_type or _CONTENT_TYPES[kind])


def _type_rejected(hint: str = "We can't accept this kind of file.") -> Rejected:
    return Rejected(f"{hint} We accept {ACCEPTED_DESCRIPTION}.", code="type")


def _damaged(kind: str) -> Rejected:
    return Rejected(
        f"This {_LABELS[kind]} file appears to be damaged or incomplete, so we can't open "
        "it. Please save or export it again and upload the new copy.",
        code="damaged",
    )


def _libmagic(data: bytes) -> tuple[str, str]:
    try:
        return magic.from_buffer(data, mime=True), magic.from_buffer(data)
    except magic.MagicException as exc:
        # Fail closed: a file libmagic cannot describe is not one we can vouch for.
        raise _type_rejected() from exc


def _hint_for(mime: str, description: str) -> Rejected:
    if mime in _ARCHIVE_MIMES:
        return _type_rejected(
            "Only .zip archives can be accepted, and only for DICOM studies: please copy "
            "the DICOM files into a .zip."
        )
    if mime in _EXECUTABLE_MIMES or description.startswith(("ELF", "Mach-O", "PE32")):
        return _type_rejected("Programs can't be uploaded.")
    if mime.startswith(
        ("application/vnd.ms-", "application/vnd.openxmlformats", "application/vnd.oasis")
    ) or mime in {
        "application/msword",
        "application/x-ole-storage",
        "application/CDFV2",
        "text/rtf",
    }:
        return _type_rejected("Please save documents from Word or Excel as PDF first.")
    if mime in _MARKUP_MIMES or mime.startswith(("text/x-script", "message/")):
        return _markup_rejected()
    if mime in _OTHER_IMAGE_MIMES:
        return _type_rejected("Please save this picture as JPEG or PNG first.")
    return _type_rejected()


def _signature_kind(head: bytes) -> str | None:
    if head[128:132] == b"DICM":
        return "dicom"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(_PNG_SIGNATURE):
        return "png"
    if head[:4] in _TIFF_SIGNATURES:
        return "tiff"
    if head.startswith(_ZIP_LOCAL):
        return "dicom_zip"
    return None


def _looks_like_raw_dicom(head: bytes) -> bool:
    # Group 0002 or 0008 little-endian tags at offset 0: DICOM written without the Part 10
    # preamble, as some old discs and PACS exports do.
    return head[:2] in (b"\x02\x00", b"\x08\x00") and head[3:4] == b"\x00" and len(head) > 8


def _read_at(fileobj: IO[bytes], offset: int, length: int) -> bytes:
    fileobj.seek(offset)
    parts = []
    remaining = length
    while remaining > 0:
        chunk = fileobj.read(remaining)
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def _chunks(fileobj: IO[bytes]) -> Iterator[bytes]:
    fileobj.seek(0)
    while chunk := fileobj.read(_CHUNK):
        yield chunk


def _markup_rejected() -> Rejected:
    return _type_rejected(
        "This file looks like a web page, XML or program code, not a medical record."
    )
