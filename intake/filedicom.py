"""DICOM Part 10 files: the preamble (no runnable program hidden in it, CVE-2019-11687) and
a header pydicom can read."""

import warnings
from typing import IO

from pydicom import dcmread

from .filekinds import _TIFF_SIGNATURES, _damaged, _libmagic, _read_at, _type_rejected

# pydicom skips (does not read) header values larger than this while checking a header.
DICOM_DEFER_BYTES = 1024**2

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
