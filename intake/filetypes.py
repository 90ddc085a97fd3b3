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

import io
import os
import re
import struct
import warnings
from collections.abc import Callable
from contextlib import suppress
from typing import IO, Any

from core.previews.runner import limits_from_settings

from .download_names import download_name
from .filedicom import _check_dicom, _check_preamble
from .filekinds import (
    _LABELS,
    _MAGIC_AGREES,
    _TIFF_SIGNATURES,
    ACCEPTED_DESCRIPTION,
    HEAD_BYTES,
    MAX_FORM_UPLOAD_BYTES,
    MAX_RECORD_BYTES,
    SNIFF_WINDOW,
    Detected,
    Rejected,
    _damaged,
    _detected,
    _hint_for,
    _libmagic,
    _looks_like_raw_dicom,
    _read_at,
    _signature_kind,
    _type_rejected,
)
from .filetext import _check_text_file, _text_charset_of_head
from .filezip import _check_zip, _zip_directory

# The entry points and what they return or raise, for the upload paths, the record views and
# the console: the checks themselves live in filekinds, filedicom, filezip and filetext.
__all__ = [
    "ACCEPTED_DESCRIPTION",
    "HEAD_BYTES",
    "MAX_FORM_UPLOAD_BYTES",
    "MAX_RECORD_BYTES",
    "Detected",
    "Rejected",
    "detect_head",
    "download_name",
    "is_whole_slide",
    "validate_file",
]

_MAX_TIFF_TAGS = 4096

_HTML_IN_BINARY = re.compile(
    rb"<(?:script|html|iframe|svg|object|embed|body|frameset|applet)[\s/>]"
    rb"|<!doctype\s+html|<\?php",
    re.IGNORECASE,
)


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
        from PIL import JpegImagePlugin  # noqa: PLC0415 - start-up cost: Pillow for JPEGs only

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
    import tifffile  # noqa: PLC0415 - start-up cost: tifffile loads numpy

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
    import tifffile  # noqa: PLC0415 - start-up cost: tifffile loads numpy

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
