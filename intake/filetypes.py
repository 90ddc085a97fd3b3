"""What kind of file a family uploaded, decided from its bytes, never from its name.

Accepted: PDF, JPEG, PNG, TIFF (including Aperio SVS and Hamamatsu NDPI whole-slide
images), DICOM Part 10 files, zip archives holding a DICOM study, and plain text. Everything
else is refused with a sentence that names what we do accept. The client's file name and
content type are never consulted.

Two entry points:

* ``detect_head`` decides from the first ``HEAD_BYTES`` and the total size. It is what the
  upload view can afford before the object is stored, and what the server checks again on
  the stored object (size against the limit, type by its first bytes). A zip is only
  provisionally accepted here: its entries are at the end of the file.
* ``validate_file`` does the full check on a seekable file. It streams: a 5 GB upload is
  never read into memory.

Policy decisions worth knowing when changing this file:

* A file is one of our kinds only when our own signature check *and* libmagic agree. A file
  whose first bytes say PDF but which libmagic calls something else is refused: agreeing
  parsers are what make "type by first bytes" trustworthy.
* Polyglots: an accepted binary file is refused when its first ``SNIFF_WINDOW`` bytes carry
  HTML (the window browsers and old Internet Explorer sniff), when a PDF header hides in the
  first KB of a non-PDF (PDF readers look that far), or when a zip directory is hidden at
  its end (zip tools read archives from the end).
* PDFs may contain JavaScript; they are still PDFs and are accepted. Safety comes from how
  records are served: always ``Content-Disposition: attachment`` as
  ``application/octet-stream`` with ``X-Content-Type-Options: nosniff``, under the name
  ``download_name`` builds: the family's name cut to a plain stem, with the extension of the
  detected kind (``page.html`` that is really a PDF downloads as ``page.pdf``, and
  ``x.pdf.exe`` as ``x.pdf``), so no name the uploader chose decides how a reader's computer
  opens the file.
* DICOM needs the 128-byte preamble and ``DICM``. The preamble must be zeros, a TIFF header
  (dual-personality files allowed by PS3.10) or inert vendor bytes: a preamble that makes
  the file a runnable program (the PE/DICOM polyglot, CVE-2019-11687) is refused.
* A DICOM zip holds only DICOM Part 10 files. A ``DICOMDIR`` is itself such a file and is
  accepted like any other; a disc's viewer program, autorun file or HTML index is refused
  (the family is asked to zip the study folder only). The metadata macOS adds when it
  zips (``__MACOSX/`` AppleDouble files, ``.DS_Store``) is tolerated when its bytes are
  what those names promise, because families cannot see or remove it.
* Plain text is UTF-8 (with or without BOM) or, failing that, Windows-1252, which older
  hospital systems export. UTF-16 is refused (it is full of NUL bytes and rare now).
  HTML, XML, SVG and scripts are refused even when their first bytes are ordinary text;
  the script check is a line-based heuristic and deliberately conservative, so what keeps
  a missed script harmless is, again, serving it as a ``text/plain`` attachment.
"""

import codecs
import io
import os
import re
import stat
import struct
import tempfile
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from typing import IO, Any

import magic
from pydicom import dcmread

from core.previews.runner import limits_from_settings

MAX_RECORD_BYTES = 5 * 1024**3  # 5 GB
MAX_FORM_UPLOAD_BYTES = 50 * 1024**2  # files larger than this must go direct to S3
HEAD_BYTES = 64 * 1024  # how much detect_head needs
ACCEPTED_DESCRIPTION = (
    "PDF, JPEG, PNG, TIFF, DICOM (single files or a .zip of a study), "
    "whole-slide pathology images (SVS, NDPI) and plain text"
)

# A CT or MR study is a few thousand images; 20,000 leaves room for multi-series studies.
MAX_ZIP_ENTRIES = 20_000
MAX_ZIP_UNCOMPRESSED_BYTES = 20 * 1024**3
# The central directory is read into memory before anything else: bound it by the entry
# limit at a generous 512 bytes of name and extra fields per entry.
MAX_ZIP_DIRECTORY_BYTES = MAX_ZIP_ENTRIES * 512
# Images compress 2-20x; over 200x is blank padding or a zip bomb. Small entries are
# exempt because their ratios are noisy and the entry and total limits already bound them.
MAX_ZIP_RATIO = 200
ZIP_RATIO_EXEMPT_BYTES = 1024**2
MAX_ZIP_NAME_LENGTH = 1024
# Browsers sniff at most 1445 bytes, Internet Explorer 256: HTML beyond this window is not
# seen by anything that would render it.
SNIFF_WINDOW = 4096
# pydicom skips (does not read) header values larger than this while checking a header.
DICOM_DEFER_BYTES = 1024**2
# Each zip entry is copied out to be parsed; small ones stay in memory.
ZIP_SPOOL_MEMORY_BYTES = 16 * 1024**2

_CHUNK = 1024**2
_MAX_TIFF_TAGS = 4096
_MAX_TEXT_CARRY = 64 * 1024

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
_ZIP_CENTRAL = b"PK\x01\x02"
_ZIP_END = b"PK\x05\x06"
_ZIP64_END = b"PK\x06\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
# Formats a DICOM preamble must never start with: each would let another program open the
# same bytes as something active.
_ACTIVE_SIGNATURES = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"#!",
    b"PK",
    b"%PDF",
    b"\xd0\xcf\x11\xe0",
    b"{\\rtf",
    b"<",
)
_APPLEDOUBLE = b"\x00\x05\x16\x07"
_DS_STORE = b"\x00\x00\x00\x01Bud1"

_HTML_IN_BINARY = re.compile(
    rb"<(?:script|html|iframe|svg|object|embed|body|frameset|applet)[\s/>]"
    rb"|<!doctype\s+html|<\?php",
    re.IGNORECASE,
)
_MARKUP_IN_TEXT = re.compile(
    r"<(?:script|html|svg|iframe|object|embed|body|frameset|applet|img)\b"
    r"|<\?(?:xml|php)|<!(?:doctype|entity|\[cdata\[)",
    re.IGNORECASE,
)
_MARKUP_START = re.compile(r"<[A-Za-z!?/]")
# Tab, LF, FF, CR and the DOS end-of-file mark occur in exported reports; other control
# characters (escape sequences above all) do not belong in a clinical text.
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x19\x1b-\x1f\x7f-\x9f]")
# Lines that are program code in any language a family's computer would run. Two of them
# make a file a script; one could be a quotation in a letter. Case matters (except for the
# Windows languages, which ignore it) so that prose such as "Eval (ENT): normal" passes.
_CODE_LINE = re.compile(
    r"""^[ \t]*+(?:
        (?:var|let|const)\s+[\w$]+\s*=
      | \$[A-Za-z_][\w:]*\s*=
      | function\s*[\w$]*\s*\([^)]*\)\s*\{
      | (?:import|export)\s+(?:[\w${},*\s]+\s+from\s+)?["'][^"'\n]+["'];?[ \t]*$
      | (?:from\s+[\w.]+\s+)?import\s+[\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+)*[ \t]*$
      | def\s+\w+\s*\(.*\)\s*(?:->.*)?:[ \t]*$
      | class\s+\w+\s*(?:\(.*\))?\s*:[ \t]*$
      | if\s+__name__\s*==
      | (?:document|window)\.[\w.]+\s*[(=]
      | (?:eval|exec)\s*\(
      | (?:sudo|chmod|curl|wget)\s+\S
      | rm\s+-[rf]+\s
      | (?i:(?:set\s+\w+\s*=\s*)?(?:createobject|wscript\.))
      | (?i:@echo\s+off)
      | (?i:(?:invoke-expression|iex|start-process|new-object)\b)
    )""",
    re.MULTILINE | re.VERBOSE,
)
_NAME_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

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


def _zip_rejected(problem: str) -> Rejected:
    return Rejected(f"{problem} {_ZIP_ADVICE}", code="zip")


_ZIP_ADVICE = (
    "Please zip only the DICOM images, with your computer's own Compress or Send to zip command."
)


def _shown(name: str) -> str:
    # Entry names are chosen by whoever built the zip: keep them short and printable.
    clean = _NAME_CONTROL.sub("?", name)
    return f'"{clean[:47]}..."' if len(clean) > 50 else f'"{clean}"'


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


def detect_head(head: bytes, *, size: int) -> Detected:
    """The kind of a file from its first ``HEAD_BYTES`` and total ``size``.

    Raises ``Rejected`` for an empty or oversized file or one that is not an accepted kind.
    A zip comes back as ``dicom_zip`` provisionally; ``validate_file`` checks its entries.
    """
    if size > 0 and not head:
        raise ValueError("no head given for a file that is not empty")
    if size <= 0:
        raise Rejected(
            "This file is empty (0 bytes). Please choose it again; if it is still empty, "
            "it may not have saved properly on your device.",
            code="empty",
        )
    if size > MAX_RECORD_BYTES:
        raise Rejected(
            f"This file is larger than {MAX_RECORD_BYTES // 1024**3} GB, the most we can "
            "accept for one file. Please split a large study into several zip files.",
            code="too_large",
        )
    if len(head) > size:
        raise ValueError("head is longer than the file")
    head = head[:HEAD_BYTES]
    complete = len(head) >= size
    mime, description = _libmagic(head)
    kind = _signature_kind(head)

    if kind is None:
        if _looks_like_raw_dicom(head):
            raise _type_rejected(
                "This looks like a DICOM file without the standard DICM header; please "
                "export the study again as DICOM files (often called DICOM Part 10)."
            )
        charset = _text_charset_of_head(head, complete=complete, mime=mime, desc=description)
        return _detected("text", f"text/plain; charset={charset}")

    if kind == "dicom":
        _check_preamble(head[:128])
        agrees = _MAGIC_AGREES["dicom"] | (
            {"image/tiff"} if head[:4] in _TIFF_SIGNATURES else set()
        )
    else:
        agrees = _MAGIC_AGREES[kind]
    if mime not in agrees:
        raise _hint_for(mime, description)
    if kind == "dicom_zip":
        return _detected(kind)

    _check_binary_head(kind, head)
    if kind == "tiff":
        return _detected(_tiff_kind(_head_reader(head, complete=complete)) or "tiff")
    if kind in ("png", "jpeg"):
        # The dimensions sit in the first bytes: refuse a picture too large to view as soon
        # as the head is read (the direct upload's completion), not only at the full check.
        _check_pixels(io.BytesIO(head), kind)
    return _detected(kind)


def validate_file(fileobj: IO[bytes], *, size: int) -> Detected:
    """Full check of a seekable binary file of ``size`` bytes, streamed.

    Raises ``Rejected`` with a message for the family, or ``ValueError`` when ``size`` is
    not the file's size (a caller bug, not the family's). Leaves the file at offset 0.
    """
    try:
        head = _read_at(fileobj, 0, HEAD_BYTES)
        detected = detect_head(head, size=size)
        actual = fileobj.seek(0, 2)
        if actual != size:
            raise ValueError(f"size {size} given for a file of {actual} bytes")
        kind = detected.kind
        if kind == "dicom_zip":
            _check_zip(fileobj, size)
            return detected
        if kind == "text":
            charset = _check_text_file(fileobj)
            return _detected("text", f"text/plain; charset={charset}")
        if kind in ("tiff", "wsi_svs", "wsi_ndpi"):
            kind = _tiff_kind(lambda offset, length: _read_at(fileobj, offset, length)) or kind
        if kind in ("png", "jpeg", "tiff"):
            _check_pixels(fileobj, kind)
        if kind == "dicom":
            _check_dicom(fileobj)
        if _zip_directory(fileobj, size) is not None:
            raise _type_rejected(
                f"This {_LABELS[kind]} file has a zip archive hidden at its end, which we "
                "can't accept."
            )
        return _detected(kind)
    finally:
        fileobj.seek(0)


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


# --- binary kinds -------------------------------------------------------------------------


def _check_binary_head(kind: str, head: bytes) -> None:
    if kind == "png" and head[12:16] != b"IHDR":
        raise _damaged(kind)
    if kind == "pdf" and not re.match(rb"%PDF-[12]\.\d", head):
        raise _damaged(kind)
    if _HTML_IN_BINARY.search(head[:SNIFF_WINDOW]):
        raise _type_rejected(
            f"This file starts as a {_LABELS[kind]} but also contains a web page, which we "
            "can't accept."
        )
    # DICOM is exempt: an Encapsulated PDF report legitimately carries its PDF early on,
    # and a .dcm served as application/dicom is not handed to a PDF reader.
    if kind not in ("pdf", "dicom") and b"%PDF-" in head[:1024]:
        raise _type_rejected(
            f"This file starts as a {_LABELS[kind]} but also contains a PDF, which we can't accept."
        )


def _head_reader(head: bytes, *, complete: bool) -> Callable[[int, int], bytes | None]:
    def read(offset: int, length: int) -> bytes | None:
        if offset + length <= len(head) or complete:
            return head[offset : offset + length]
        return None  # beyond what the head holds: can't tell yet

    return read


def _tiff_kind(read: Callable[[int, int], bytes | None]) -> str | None:
    """SVS, NDPI or plain TIFF from the first directory; None when ``read`` can't reach it."""
    header = read(0, 16) or b""
    order = "<" if header[:2] == b"II" else ">"
    big = header[2:4] in (b"+\x00", b"\x00+")
    if len(header) < (16 if big else 8):
        raise _damaged("tiff")
    if big:
        offset_size, reserved, ifd = struct.unpack(order + "HHQ", header[4:16])
        if offset_size != 8 or reserved != 0:
            raise _damaged("tiff")
        count_format, length_format, entry_size = "Q", "Q", 20
    else:
        (ifd,) = struct.unpack(order + "I", header[4:8])
        count_format, length_format, entry_size = "H", "I", 12
    count_size = struct.calcsize(count_format)
    length_size = struct.calcsize(length_format)
    if ifd < 8:
        raise _damaged("tiff")

    def need(offset: int, length: int) -> bytes | None:
        data = read(offset, length)
        if data is not None and len(data) < length:
            raise _damaged("tiff")
        return data

    raw_count = need(ifd, count_size)
    if raw_count is None:
        return None
    (count,) = struct.unpack(order + count_format, raw_count)
    if not 0 < count <= _MAX_TIFF_TAGS:
        raise _damaged("tiff")
    entries = need(ifd + count_size, count * entry_size)
    if entries is None:
        return None
    description: bytes | None = b""
    for index in range(count):
        entry = entries[index * entry_size : (index + 1) * entry_size]
        tag, field_type = struct.unpack(order + "HH", entry[:4])
        (values,) = struct.unpack(order + length_format, entry[4 : 4 + length_size])
        # Hamamatsu's own format flag: the tag OpenSlide keys NDPI on.
        if tag == 65420:
            return "wsi_ndpi"
        if tag == 270 and field_type == 2:
            field = entry[4 + length_size :]
            if values <= len(field):
                description = field[:values]
            else:
                (offset,) = struct.unpack(order + length_format, field)
                description = need(offset, min(values, 16))
    if description is None:
        return None
    return "wsi_svs" if description.startswith(b"Aperio") else "tiff"


# --- DICOM --------------------------------------------------------------------------------


def _check_preamble(preamble: bytes) -> None:
    if not preamble.strip(b"\x00") or preamble[:4] in _TIFF_SIGNATURES:
        return
    mime, _ = _libmagic(preamble)
    if preamble.startswith(_ACTIVE_SIGNATURES) or mime not in (
        "application/octet-stream",
        "text/plain",
    ):
        raise _type_rejected(
            "This DICOM file's preamble holds another kind of file (such as a program), "
            "which we can't accept."
        )


def _check_dicom(fileobj: IO[bytes]) -> None:
    start = _read_at(fileobj, 0, 132)
    if start[128:132] != b"DICM":
        raise _type_rejected("This is not a DICOM file with the standard DICM header.")
    _check_preamble(start[:128])
    fileobj.seek(0)
    try:
        # pydicom warns about values real scanners get slightly wrong; those don't make a
        # file unsafe or unreadable, and the family could not fix them anyway. (The filter
        # is process-wide while it lasts; gunicorn's sync workers and Celery's prefork pool
        # run one validation per process.)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = dcmread(fileobj, stop_before_pixels=True, defer_size=DICOM_DEFER_BYTES)
            meta = dataset.file_meta
            # pydicom reads "DICM" followed by nothing without complaint: insist on the
            # file meta elements PS3.10 requires and on one element of the dataset itself.
            complete = (
                bool(meta.get("TransferSyntaxUID"))
                and bool(meta.get("MediaStorageSOPClassUID"))
                and len(dataset) > 0
            )
    except Exception as exc:  # any parser failure means we can't read the header
        raise _damaged("dicom") from exc
    if not complete:
        raise _damaged("dicom")


# --- zip ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ZipDirectory:
    entries: int
    directory_start: int
    directory_size: int
    end: int
    multi_disk: bool


_END_RECORD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR_RECORD = struct.Struct("<4sLQL")
_ZIP64_END_RECORD = struct.Struct("<4sQ2H2L4Q")
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")


def _zip_directory(fileobj: IO[bytes], size: int) -> _ZipDirectory | None:
    """The zip central directory as zipfile would find it, or None if there is none.

    Found the way zipfile finds it (a comment-less end record at the very end, else the
    last end signature in the tail), so the limits checked here are the ones zipfile obeys.
    """
    tail_length = min(size, _END_RECORD.size + 0xFFFF)
    tail_start = size - tail_length
    tail = _read_at(fileobj, tail_start, tail_length)
    last = len(tail) - _END_RECORD.size
    if last >= 0 and tail[last : last + 4] == _ZIP_END and tail[-2:] == b"\x00\x00":
        position = last
    else:
        position = tail.rfind(_ZIP_END)
        if position < 0 or position > last:
            return None
    _, disk, directory_disk, disk_entries, entries, directory_size, _, comment_length = (
        _END_RECORD.unpack_from(tail, position)
    )
    end_offset = tail_start + position
    record_start = end_offset
    multi_disk = disk != 0 or directory_disk != 0 or disk_entries != entries
    if end_offset >= _ZIP64_LOCATOR_RECORD.size + _ZIP64_END_RECORD.size:
        locator = _read_at(fileobj, end_offset - _ZIP64_LOCATOR_RECORD.size, 20)
        signature, locator_disk, _, disks = _ZIP64_LOCATOR_RECORD.unpack(locator)
        if signature == _ZIP64_LOCATOR:
            multi_disk = multi_disk or locator_disk != 0 or disks > 1
            zip64_start = end_offset - _ZIP64_LOCATOR_RECORD.size - _ZIP64_END_RECORD.size
            record = _ZIP64_END_RECORD.unpack(
                _read_at(fileobj, zip64_start, _ZIP64_END_RECORD.size)
            )
            if record[0] == _ZIP64_END:
                disk, directory_disk, disk_entries, entries, directory_size = record[4:9]
                multi_disk = multi_disk or disk != 0 or directory_disk != 0
                multi_disk = multi_disk or disk_entries != entries
                record_start = zip64_start
    directory_start = record_start - directory_size
    if directory_start < 0:
        return None
    # An end signature inside compressed image data is chance: a real directory starts
    # with a central header.
    if entries and _read_at(fileobj, directory_start, 4) != _ZIP_CENTRAL:
        return None
    return _ZipDirectory(
        entries=entries,
        directory_start=directory_start,
        directory_size=directory_size,
        end=end_offset + _END_RECORD.size + comment_length,
        multi_disk=multi_disk,
    )


def _count_central_entries(directory: bytes) -> int:
    # Walk the raw directory before zipfile builds an object per entry: the end record's
    # count is the archive's claim, this is its content.
    position = count = 0
    while position < len(directory):
        if directory[position : position + 4] != _ZIP_CENTRAL or position + 46 > len(directory):
            raise _damaged("dicom_zip")
        name_length, extra_length, comment_length = struct.unpack_from(
            "<3H", directory, position + 28
        )
        position += 46 + name_length + extra_length + comment_length
        count += 1
        if count > MAX_ZIP_ENTRIES:
            raise _too_many_entries()
    if position != len(directory):
        raise _damaged("dicom_zip")
    return count


def _too_many_entries() -> Rejected:
    return Rejected(
        f"This zip file holds more than {MAX_ZIP_ENTRIES:,} files, the most we can accept "
        "in one zip. Please split the study into several zip files.",
        code="zip",
    )


def _check_zip(fileobj: IO[bytes], size: int) -> None:
    directory = _zip_directory(fileobj, size)
    if directory is None:
        raise _damaged("dicom_zip")
    if directory.multi_disk:
        raise _zip_rejected("This zip file is split into several parts, which we can't open.")
    if directory.end != size:
        raise _zip_rejected("This zip file has extra data after its end, which we can't accept.")
    if directory.entries == 0:
        raise _zip_rejected("This zip file is empty.")
    if directory.entries > MAX_ZIP_ENTRIES:
        raise _too_many_entries()
    if directory.directory_size > MAX_ZIP_DIRECTORY_BYTES:
        raise _too_many_entries()
    count = _count_central_entries(
        _read_at(fileobj, directory.directory_start, directory.directory_size)
    )
    if count != directory.entries:
        raise _damaged("dicom_zip")
    try:
        with zipfile.ZipFile(fileobj) as archive:
            infos = archive.infolist()
    except (
        zipfile.BadZipFile,
        ValueError,
        OSError,
        EOFError,
        NotImplementedError,
        struct.error,
    ) as exc:
        raise _damaged("dicom_zip") from exc
    if len(infos) != count:
        raise _damaged("dicom_zip")
    # Word, Excel and OpenDocument files are zips too; libmagic only names them when the
    # marker entry comes first, so say what they are whatever the order.
    if any(info.orig_filename in ("[Content_Types].xml", "mimetype") for info in infos):
        raise _hint_for("application/msword", "")

    names: set[str] = set()
    total = 0
    for info in infos:
        _check_entry_header(info)
        if info.orig_filename in names:
            raise _zip_rejected(
                f"This zip file holds two files named {_shown(info.orig_filename)}."
            )
        names.add(info.orig_filename)
        total += info.file_size
    if total > MAX_ZIP_UNCOMPRESSED_BYTES:
        raise Rejected(
            f"This zip file would unpack to more than {MAX_ZIP_UNCOMPRESSED_BYTES // 1024**3}"
            " GB, the most we can accept. Please split the study into several zip files.",
            code="zip",
        )

    # Entries must tile the file from the first byte to the directory: unreferenced bytes
    # between them are where a second file hides.
    position = 0
    descriptor_allowed = False
    dicom_files = 0
    for info in sorted(infos, key=lambda item: item.header_offset):
        gap = info.header_offset - position
        if gap != 0 and not (descriptor_allowed and gap in (12, 16, 20, 24)):
            raise _damaged("dicom_zip")
        data_start = _local_data_start(fileobj, info)
        position = data_start + info.compress_size
        if position > directory.directory_start:
            raise _damaged("dicom_zip")
        descriptor_allowed = bool(info.flag_bits & 0x08)
        dicom_files += _check_entry_content(fileobj, info, data_start)
    gap = directory.directory_start - position
    if gap != 0 and not (descriptor_allowed and gap in (12, 16, 20, 24)):
        raise _damaged("dicom_zip")
    if dicom_files == 0:
        raise _zip_rejected("This zip file holds no DICOM files.")


def _check_entry_header(info: zipfile.ZipInfo) -> None:
    name = info.orig_filename
    shown = _shown(name)
    parts = name.removesuffix("/").split("/")
    if (
        not name
        or len(name) > MAX_ZIP_NAME_LENGTH
        or _NAME_CONTROL.search(name)
        or "\\" in name
        or ":" in name
        or name.startswith("/")
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise _zip_rejected(
            f"This zip file holds a file with an unsafe name ({shown}) that could be "
            "unpacked outside its folder."
        )
    if info.flag_bits & 0x41 or info.compress_type == 99:
        raise _zip_rejected(
            "This zip file is password-protected. Please zip the study again without a "
            "password; uploads are encrypted for you."
        )
    mode = info.external_attr >> 16
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise _zip_rejected(
            f"This zip file holds a link or special file ({shown}), which we can't accept."
        )
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _zip_rejected(f"This zip file uses a compression method we can't open (for {shown}).")
    if info.is_dir():
        if info.file_size:
            raise _damaged("dicom_zip")
        return
    if info.file_size > ZIP_RATIO_EXEMPT_BYTES and (
        info.file_size > info.compress_size * MAX_ZIP_RATIO
    ):
        raise Rejected(
            f"This zip file holds {shown}, which unpacks to far more than its packed size. "
            "Files like this are used to overload computers, so we can't accept it.",
            code="zip",
        )


def _local_data_start(fileobj: IO[bytes], info: zipfile.ZipInfo) -> int:
    header = _read_at(fileobj, info.header_offset, _LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size:
        raise _damaged("dicom_zip")
    signature, _, flags, method, _, _, _, _, _, name_length, extra_length = _LOCAL_HEADER.unpack(
        header
    )
    if signature != _ZIP_LOCAL or method != info.compress_type:
        raise _damaged("dicom_zip")
    if flags & 0x41:
        raise _zip_rejected("This zip file is password-protected.")
    try:
        local_name = fileobj.read(name_length).decode("utf-8" if flags & 0x800 else "cp437")
    except UnicodeDecodeError as exc:
        raise _damaged("dicom_zip") from exc
    # Tools differ on which name they trust; a mismatch is how one tool is made to unpack
    # what another one checked under a different name.
    if local_name != info.orig_filename:
        raise _damaged("dicom_zip")
    return info.header_offset + _LOCAL_HEADER.size + name_length + extra_length


def _entry_chunks(fileobj: IO[bytes], info: zipfile.ZipInfo, data_start: int) -> Iterator[bytes]:
    """The entry's bytes, decompressed here rather than by zipfile so that data beyond the
    declared size (which zipfile silently ignores but other tools unpack) is refused."""
    fileobj.seek(data_start)
    inflater = zlib.decompressobj(-zlib.MAX_WBITS) if info.compress_type else None
    remaining = info.compress_size
    produced = 0
    crc = 0

    def pieces(raw: bytes) -> Iterator[bytes]:
        if inflater is None:
            yield raw
            return
        try:
            data = inflater.decompress(raw, _CHUNK)
            while data:
                yield data
                if inflater.eof or (not inflater.unconsumed_tail and len(data) < _CHUNK):
                    break
                data = inflater.decompress(inflater.unconsumed_tail, _CHUNK)
        except zlib.error as exc:
            raise _damaged("dicom_zip") from exc

    while remaining:
        raw = fileobj.read(min(_CHUNK, remaining))
        if not raw:
            raise _damaged("dicom_zip")
        remaining -= len(raw)
        position = fileobj.tell()
        for piece in pieces(raw):
            produced += len(piece)
            if produced > info.file_size:
                raise _zip_rejected(
                    f"This zip file holds {_shown(info.orig_filename)}, which is larger than the "
                    "zip says it is."
                )
            crc = zlib.crc32(piece, crc)
            yield piece
        fileobj.seek(position)  # the consumer may have used the file in between
    if inflater is not None:
        try:
            tail = inflater.flush()
        except zlib.error as exc:
            raise _damaged("dicom_zip") from exc
        produced += len(tail)
        crc = zlib.crc32(tail, crc)
        if tail:
            yield tail
        if not inflater.eof or inflater.unused_data:
            raise _damaged("dicom_zip")
    if produced != info.file_size or crc != info.CRC:
        raise _damaged("dicom_zip")


def _os_metadata_signature(name: str) -> bytes | None:
    parts = name.split("/")
    if parts[0] == "__MACOSX":
        return _APPLEDOUBLE
    if parts[-1] == ".DS_Store":
        return _DS_STORE
    return None


def _check_entry_content(fileobj: IO[bytes], info: zipfile.ZipInfo, data_start: int) -> int:
    """Check one entry's bytes; 1 if it is a DICOM file, 0 for a folder or OS metadata."""
    chunks = _entry_chunks(fileobj, info, data_start)
    shown = _shown(info.orig_filename)
    if info.is_dir():
        for _ in chunks:
            pass
        return 0
    metadata_signature = _os_metadata_signature(info.orig_filename)
    with tempfile.SpooledTemporaryFile(max_size=ZIP_SPOOL_MEMORY_BYTES) as spool:
        lead_checked = False
        for chunk in chunks:
            spool.write(chunk)
            if not lead_checked and spool.tell() >= 132:
                _check_entry_lead(_read_at(spool, 0, 132), shown, metadata_signature)
                spool.seek(0, 2)
                lead_checked = True
        if not lead_checked:
            _check_entry_lead(_read_at(spool, 0, 132), shown, metadata_signature)
        if metadata_signature is not None:
            return 0
        try:
            _check_dicom(spool)
        except Rejected as exc:
            if exc.code == "damaged":
                raise _zip_rejected(
                    f"This zip file holds {shown}, a DICOM file that appears damaged or incomplete."
                ) from exc
            raise _zip_rejected(
                f"This zip file holds {shown}, which hides another kind of file in its "
                "DICOM preamble."
            ) from exc
    return 1


def _check_entry_lead(lead: bytes, shown: str, metadata_signature: bytes | None) -> None:
    if metadata_signature is not None:
        if not lead.startswith(metadata_signature):
            raise _zip_rejected(f"This zip file holds {shown}, which is not a DICOM file.")
        return
    if lead.startswith((_ZIP_LOCAL, b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!", b"BZh")) or (
        lead[257:262] == b"ustar"
    ):
        raise _zip_rejected(f"This zip file holds another archive, {shown}.")
    if lead[128:132] != b"DICM":
        raise _zip_rejected(
            f"This zip file holds {shown}, which is not a DICOM file with the standard DICM "
            "header; other records can be uploaded on their own."
        )


# --- text ---------------------------------------------------------------------------------


def _not_text() -> Rejected:
    return _type_rejected()


def _markup_rejected() -> Rejected:
    return _type_rejected(
        "This file looks like a web page, XML or program code, not a medical record."
    )


class _TextScan:
    """Looks at decoded text piece by piece, keeping partial lines between pieces."""

    def __init__(self) -> None:
        self._started = False
        self._carry = ""
        self._code_lines = 0

    def feed(self, text: str, *, final: bool) -> None:
        text = self._carry + text
        if not self._started:
            stripped = text.lstrip()
            if not stripped and not final and len(text) < _MAX_TEXT_CARRY:
                self._carry = text
                return
            self._started = True
            if stripped.startswith("#!"):
                raise _markup_rejected()
            if _MARKUP_START.match(stripped):
                raise _markup_rejected()
        if final:
            body, self._carry = text, ""
        else:
            cut = text.rfind("\n") + 1
            if cut == 0 and len(text) > _MAX_TEXT_CARRY:
                # One enormous line: check it in pieces, keeping an overlap so a marker
                # split between pieces is still seen.
                cut = len(text) - 64
            body, self._carry = text[:cut], text[cut:]
        if _TEXT_CONTROL.search(body):
            raise _not_text()
        if _MARKUP_IN_TEXT.search(body):
            raise _markup_rejected()
        self._code_lines += len(_CODE_LINE.findall(body))
        if self._code_lines >= 2:
            raise _markup_rejected()


_TEXT_CODECS = (("utf-8-sig", "utf-8"), ("cp1252", "windows-1252"))


def _refuse_wide_unicode(head: bytes) -> None:
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) or head.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ):
        raise _type_rejected(
            "This text file is saved as UTF-16; please save it again as UTF-8 text."
        )


def _scan(chunks: Iterator[bytes], codec: str, *, complete: bool) -> None:
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    scan = _TextScan()
    for chunk in chunks:
        if b"\x00" in chunk:
            raise _not_text()
        scan.feed(decoder.decode(chunk), final=False)
    scan.feed(decoder.decode(b"", final=complete), final=True)


def _text_charset_of_head(head: bytes, *, complete: bool, mime: str, desc: str) -> str:
    _refuse_wide_unicode(head)
    if (
        not mime.startswith("text/")
        or mime in _MARKUP_MIMES
        or mime.startswith("text/x-script")
        or mime == "text/rtf"
    ):
        raise _hint_for(mime, desc)
    # libmagic's description names scripts and markup even when its MIME type says plain.
    if re.search(r"\bscript\b|HTML|XML|SVG|executable", desc, re.IGNORECASE):
        raise _markup_rejected()
    for codec, charset in _TEXT_CODECS:
        try:
            _scan(iter((head,)), codec, complete=complete)
        except UnicodeDecodeError:
            continue
        return charset
    raise _not_text()


def _check_text_file(fileobj: IO[bytes]) -> str:
    for codec, charset in _TEXT_CODECS:
        try:
            _scan(_chunks(fileobj), codec, complete=True)
        except UnicodeDecodeError:
            continue
        return charset
    raise _not_text()


# --- picture size and whole-slide images --------------------------------------------------


def _max_image_pixels() -> int:
    # The record viewer's own limit: a picture beyond it can never be shown to the specialist.
    return limits_from_settings().max_image_pixels


def _too_many_pixels(width: int, height: int, limit: int) -> Rejected:
    return Rejected(
        f"This picture is {width:,} by {height:,} pixels, larger than we can show the "
        f"specialist (at most {limit // 1_000_000:,} million pixels). Please send a smaller "
        "copy (exported or scanned at a lower resolution), or a PDF of it. A whole-slide "
        "pathology scan is welcome as the scanner's own tiled file (SVS, NDPI or pyramidal "
        "TIFF).",
        code="pixels",
    )


def _picture_size(fileobj: IO[bytes], kind: str) -> tuple[int, int] | None:
    """(width, height) from the header only; None when the header is not there to read."""
    fileobj.seek(0)
    if kind == "png":
        header = fileobj.read(24)
        if len(header) < 24:
            return None
        width, height = struct.unpack(">II", header[16:24])
        return width, height
    if kind == "jpeg":
        from PIL import JpegImagePlugin

        # The plugin reads the frame header and decodes nothing; used directly it also skips
        # Pillow's own bomb check, which would refuse before telling us the size we judge.
        try:
            with JpegImagePlugin.JpegImageFile(fileobj) as image:
                return image.size
        except (OSError, SyntaxError, ValueError, struct.error):
            return None
    return None


def _check_pixels(fileobj: IO[bytes], kind: str) -> None:
    """Refuse a PNG, JPEG or TIFF whose pixel count is beyond what the record viewer
    decodes, reading only headers. Whole-slide images are exempt (a slide viewer shows them
    by tiles)."""
    limit = _max_image_pixels()
    try:
        if kind == "tiff":
            fileobj.seek(0)
            if is_whole_slide(fileobj):
                return
            size = _largest_tiff_page(fileobj)
        else:
            size = _picture_size(fileobj, kind)
    finally:
        fileobj.seek(0)
    if size is None:
        return  # no header to read (yet): the signature checks have judged the file
    width, height = size
    if width * height > limit:
        raise _too_many_pixels(width, height, limit)


def _largest_tiff_page(fileobj: IO[bytes]) -> tuple[int, int] | None:
    import tifffile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with tifffile.TiffFile(_TiffSource(fileobj)) as tif:  # type: ignore[arg-type]
                largest: tuple[int, int] | None = None
                for page in tif.pages[:_MAX_TIFF_PAGES]:
                    width = int(getattr(page, "imagewidth", 0))
                    height = int(getattr(page, "imagelength", 0))
                    if largest is None or width * height > largest[0] * largest[1]:
                        largest = (width, height)
                return largest
    except Exception:  # tifffile raises many kinds on a malformed file
        return None


_MAX_TIFF_PAGES = 64


class _TiffSource:
    """A binary file as tifffile wants it: tifffile takes ``name`` for a path, and an
    unnamed temporary file (the spooled direct upload) has its descriptor number there."""

    name = "record.tif"

    def __init__(self, fileobj: IO[bytes]) -> None:
        self._fileobj = fileobj

    def read(self, size: int = -1) -> bytes:
        return self._fileobj.read(size)

    def readinto(self, buffer: Any) -> int:
        return self._fileobj.readinto(buffer)  # type: ignore[attr-defined]

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fileobj.seek(offset, whence)

    def tell(self) -> int:
        return self._fileobj.tell()

    def seekable(self) -> bool:
        return True


def is_whole_slide(path: "str | os.PathLike[str] | IO[bytes]") -> bool:
    """Whether a TIFF is a whole-slide image: Aperio SVS or Hamamatsu NDPI, or a generic
    pyramidal TIFF (tiled, with several resolution levels). Reads directory entries only,
    never pixel data. False for anything tifffile cannot open.

    Used by the upload checks (whole-slide images are exempt from the picture size limit)
    and meant for the slide viewer, which shows exactly these files by tiles.
    """
    import tifffile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            source = path if isinstance(path, (str, os.PathLike)) else _TiffSource(path)
            with tifffile.TiffFile(source) as tif:  # type: ignore[arg-type]
                if tif.is_svs or tif.is_ndpi:
                    return True
                first = tif.pages.first
                if not first.is_tiled:
                    return False
                levels = len(tif.series[0].levels) if tif.series else 1
                if levels > 1:
                    return True
                # Reduced-resolution levels as top-level directories (what OpenSlide reads).
                reduced = 0
                for page in tif.pages[1:_MAX_TIFF_PAGES]:
                    if getattr(page, "is_reduced", False) and getattr(page, "is_tiled", False):
                        reduced += 1
                return reduced >= 1
    except Exception:  # tifffile raises many kinds on a malformed file
        return False
    finally:
        if not isinstance(path, (str, os.PathLike)):
            with suppress(Exception):
                path.seek(0)
