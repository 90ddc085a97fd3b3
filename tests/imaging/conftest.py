"""Records of DICOM for the imaging tests, stored as intake stores them and marked clean."""

from pathlib import Path
from typing import Any

import pydicom
import pytest
from django.core.files.base import ContentFile

from intake.models import Record

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def pydicom_file(name: str) -> bytes:
    # Only files shipped with pydicom: nothing is downloaded.
    return (TEST_FILES / name).read_bytes()


def make_record(
    case: Any,
    data: bytes,
    *,
    name: str = "study.zip",
    detected_kind: str = "dicom_zip",
    scan_status: str = Record.Scan.CLEAN,
) -> Record:
    import hashlib

    record = Record(
        case=case,
        kind=Record.Kind.IMAGING,
        original_name=name,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        detected_kind=detected_kind,
        content_type="application/zip" if detected_kind == "dicom_zip" else "application/dicom",
        state=Record.State.AVAILABLE,
        scan_status=scan_status,
        uploaded_by=case.family,
    )
    record.file.save("upload", ContentFile(data), save=False)
    record.save()
    return record


@pytest.fixture
def record_of(case: Any) -> Any:
    def build(data: bytes, **kwargs: Any) -> Record:
        return make_record(case, data, **kwargs)

    return build
