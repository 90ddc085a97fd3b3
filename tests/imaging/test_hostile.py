"""A hostile corpus: nothing in it crashes the indexer, and every refused entry is listed
for the coordinator with our reason (never text from the file)."""

import io
import zipfile
from typing import Any

import pydicom
import pytest

from imaging import synthetic
from imaging.indexing import ERROR_CHILD, record_index
from imaging.models import Instance, RecordIndex

from .conftest import make_record, pydicom_file


def _dicom(**changes: Any) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(pydicom_file("CT_small.dcm")))
    ds.SOPInstanceUID = synthetic.uid("hostile", *sorted(changes.items()))
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    return synthetic.dicom_bytes(ds)


def _symlink(name: str, target: bytes) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.external_attr = 0o120777 << 16
    return info, target


def hostile_zip() -> bytes:
    good = pydicom_file("CT_small.dcm")
    mr = pydicom_file("MR_small.dcm")
    nested = synthetic.plain_zip([("inner.dcm", good)])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("good/CT_small.dcm", good)
        archive.writestr("../../etc/evil.dcm", mr)
        archive.writestr("/absolute/evil.dcm", mr)
        archive.writestr("C:\\windows\\evil.dcm", mr)
        info, target = _symlink("link.dcm", b"/etc/passwd")
        archive.writestr(info, target)
        archive.writestr("nested.zip", nested)
        archive.writestr("truncated.dcm", mr[: len(mr) - 3000])
        archive.writestr("header_cut.dcm", mr[:200])
        archive.writestr("huge_rows.dcm", _dicom(Rows=65535, Columns=65535))
        archive.writestr("frames.dcm", _dicom(NumberOfFrames=900_000))
        archive.writestr("notes.txt", b"Dr. Smith's notes about the scan")
        archive.writestr("bomb.bin", b"\0" * 20 * 1024 * 1024)
        archive.writestr("no_uids.dcm", pydicom_file("JPEGLSNearLossless_08.dcm"))
        archive.writestr("__MACOSX/good/._CT_small.dcm", b"\0\5\26\7")
        archive.writestr("garbage.dcm", b"\0" * 128 + b"DICM" + b"\xff\xfe\x00\x08" * 400)
        archive.writestr("crc.dcm", b"\0" * 128 + b"DICM" + b"CRCMARKER" * 10)
        archive.writestr("encrypted.dcm", mr)
        archive.writestr("empty.dcm", b"")
    return _mark_encrypted(out.getvalue(), b"encrypted.dcm")


def _mark_encrypted(data: bytes, name: bytes) -> bytes:
    """Set the "encrypted" flag of one entry (zipfile cannot write encrypted entries)."""
    patched = bytearray(data)
    for signature, flags_at, name_at in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        start = 0
        while (start := patched.find(signature, start)) != -1:
            if patched[start + name_at : start + name_at + len(name)] == name:
                patched[start + flags_at] |= 0x1
            start += 4
    return bytes(patched)


EXPECTED = {
    "../../etc/evil.dcm": "an unsafe file name (it points outside the archive)",
    "/absolute/evil.dcm": "an unsafe file name (it points outside the archive)",
    "C:\\windows\\evil.dcm": "an unsafe file name (it points outside the archive)",
    "link.dcm": "a symbolic link, not a file",
    "nested.zip": "a zip inside the zip: please zip the images themselves",
    "truncated.dcm": "the file is cut short: its pixel data is incomplete",
    # Cut inside the header: what is left names no study, series or instance.
    "header_cut.dcm": "the DICOM header does not name its study, series and instance",
    "huge_rows.dcm": "the image declares 65535 x 65535 pixels, more than we handle",
    "frames.dcm": "the file declares 900000 frames, more than we handle",
    "notes.txt": "not a DICOM file",
    "bomb.bin": "compressed far beyond what images allow (a zip bomb)",
    "no_uids.dcm": "the DICOM header does not name its study, series and instance",
    "__MACOSX/good/._CT_small.dcm": "computer metadata, not an image",
    "encrypted.dcm": "the file is encrypted",
    "empty.dcm": "not a DICOM file",
}


def test_hostile_zip_indexes_the_good_file_and_lists_every_other(case: Any) -> None:
    record = make_record(case, hostile_zip(), name="hostile.zip")

    index = record_index(record_id=record.pk)

    assert index is not None
    assert index.state == RecordIndex.State.INDEXED
    assert index.instances_added == 1
    reasons = {entry["name"]: entry["reason"] for entry in index.skipped}
    for name, reason in EXPECTED.items():
        assert reasons.pop(name) == reason, name
    # What is left: the two crafted DICOM files whose headers do not parse.
    assert set(reasons) == {"garbage.dcm", "crc.dcm"}
    assert all("DICOM" in reason for reason in reasons.values())
    assert len(index.skipped) == len(EXPECTED) + 2
    assert Instance.objects.get().record_id == record.pk


def test_a_damaged_entry_is_skipped_not_fatal(case: Any) -> None:
    good = pydicom_file("CT_small.dcm")
    data = bytearray(
        synthetic.plain_zip([("a.dcm", good), ("b.dcm", pydicom_file("MR_small.dcm"))])
    )
    # Flip bytes inside b.dcm's compressed data: zipfile's CRC check fails on read.
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("b.dcm")
    start = info.header_offset + 30 + len(info.filename) + 200
    data[start : start + 8] = bytes(b ^ 0xFF for b in data[start : start + 8])
    record = make_record(case, bytes(data))

    index = record_index(record_id=record.pk)

    assert index is not None and index.instances_added == 1
    assert [e["name"] for e in index.skipped] == ["b.dcm"]
    assert index.skipped[0]["reason"] in (
        "the file could not be unpacked (damaged archive)",
        "the DICOM file is damaged or cut short",
        "the DICOM header could not be read",
    )


def test_too_many_entries_refuses_the_archive(case: Any, settings: Any) -> None:
    settings.IMAGING_LIMITS = {"max_entries": 20}
    files = [(f"{n}.dcm", b"x") for n in range(21)]
    record = make_record(case, synthetic.plain_zip(files))
    index = record_index(record_id=record.pk)
    assert index is not None
    assert index.state == RecordIndex.State.NOT_IMAGING
    assert index.skipped == [
        {"name": "study.zip", "reason": "the archive holds more than 20 files"}
    ]
    assert not Instance.objects.exists()


def test_total_uncompressed_size_is_bounded(case: Any, settings: Any) -> None:
    good = pydicom_file("CT_small.dcm")
    settings.IMAGING_LIMITS = {"max_total_bytes": len(good) + 10}
    other = pydicom_file("MR_small.dcm")
    record = make_record(case, synthetic.plain_zip([("a.dcm", good), ("b.dcm", other)]))
    index = record_index(record_id=record.pk)
    assert index is not None and index.instances_added == 1
    assert index.skipped == [
        {"name": "b.dcm", "reason": "the archive unpacks to more than we accept"}
    ]


def test_damaged_zip_is_reported(case: Any) -> None:
    record = make_record(case, b"PK\x03\x04" + b"\x00" * 64)
    index = record_index(record_id=record.pk)
    assert index is not None
    assert index.state == RecordIndex.State.NOT_IMAGING
    assert index.skipped == [{"name": "study.zip", "reason": "the zip archive is damaged"}]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"just text, not DICOM", "not a DICOM file"),
        (pydicom_file("MR_truncated.dcm"), "the file is cut short: its pixel data is incomplete"),
        (pydicom_file("MR_small.dcm")[:100], "not a DICOM file"),
        (
            pydicom_file("MR_small.dcm")[:300],
            "the DICOM header does not name its study, series and instance",
        ),
    ],
)
def test_single_file_refusals(case: Any, data: bytes, reason: str) -> None:
    record = make_record(case, data, name="scan.dcm", detected_kind="dicom")
    index = record_index(record_id=record.pk)
    assert index is not None
    assert index.state == RecordIndex.State.NOT_IMAGING
    assert index.skipped == [{"name": "scan.dcm", "reason": reason}]
    assert index.error == "No DICOM images could be read from this record."


def test_a_child_over_its_limits_fails_the_index_without_crashing(case: Any, settings: Any) -> None:
    settings.IMAGING_INDEX_SECONDS = 0.2  # not even time to start Python and pydicom
    record = make_record(case, pydicom_file("CT_small.dcm"), name="ct.dcm", detected_kind="dicom")
    index = record_index(record_id=record.pk)
    assert index is not None
    assert (index.state, index.error) == (RecordIndex.State.FAILED, ERROR_CHILD)
    assert not Instance.objects.exists()


def test_skipped_list_is_capped(case: Any, settings: Any) -> None:
    settings.IMAGING_LIMITS = {"max_skipped_listed": 3}
    files = [(f"{n}.txt", b"not dicom") for n in range(5)]
    record = make_record(case, synthetic.plain_zip(files))
    index = record_index(record_id=record.pk)
    assert index is not None
    assert [e["name"] for e in index.skipped] == ["0.txt", "1.txt", "2.txt", "…"]
    assert index.skipped[-1]["reason"] == "and 2 more not listed"
