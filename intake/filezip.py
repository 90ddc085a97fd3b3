"""Zip archives of a DICOM study: bounded (entries, sizes, ratios, names), read from the
central directory and checked entry by entry, each entry a DICOM Part 10 file (or the
metadata macOS adds, when its bytes are what its name promises)."""

import re
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from .filedicom import _check_dicom
from .filekinds import _CHUNK, _ZIP_LOCAL, Rejected, _damaged, _hint_for, _read_at

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

# Each zip entry is copied out to be parsed; small ones stay in memory.
ZIP_SPOOL_MEMORY_BYTES = 16 * 1024**2

_ZIP_CENTRAL = b"PK\x01\x02"
_ZIP_END = b"PK\x05\x06"
_ZIP64_END = b"PK\x06\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"

_APPLEDOUBLE = b"\x00\x05\x16\x07"
_DS_STORE = b"\x00\x00\x00\x01Bud1"

_NAME_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _zip_rejected(problem: str) -> Rejected:
    return Rejected(f"{problem} {_ZIP_ADVICE}", code="zip")


_ZIP_ADVICE = (
    "Please zip only the DICOM images, with your computer's own Compress or Send to zip command."
)


def _shown(name: str) -> str:
    # Entry names are chosen by whoever built the zip: keep them short and printable.
    clean = _NAME_CONTROL.sub("?", name)
    return f'"{clean[:47]}..."' if len(clean) > 50 else f'"{clean}"'


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
