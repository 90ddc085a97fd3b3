"""Records through Django (≤ 50 MB): checked by content, hashed, stored privately, scanned,
downloaded only through the gate as an attachment, duplicates reported."""

import hashlib
import io
import time
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import InMemoryUploadedFile, SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse

from cases.models import AccessEvent, Status, TimelineEvent
from intake.filetypes import Rejected
from intake.models import Intake, Record
from intake.records import record_create_from_upload
from tests.audit_rows import refusals as _refusals
from tests.conftest import login
from tests.factories import CaseFactory
from tests.pdfs import TINY_PDF as PDF


@pytest.fixture
def case(family: Any, specialist: Any) -> Any:
    case = CaseFactory(family=family, status=Status.SUBMITTED, assigned_specialist=specialist)
    Intake.objects.create(case=case)
    return case


def _upload(
    client: Client,
    case: Any,
    content: bytes,
    name: str = "labs.pdf",
    kind: str = "lab_results",
    capture: Any = None,
) -> Any:
    data = {"file": SimpleUploadedFile(name, content), "kind": kind, "description": "March labs"}
    url = reverse("record_upload", args=[case.reference])
    if capture is None:
        return client.post(url, data)
    with capture(execute=True):
        return client.post(url, data)


def test_a_pdf_is_received_hashed_and_stored_under_a_random_key(
    client: Client, family: Any, case: Any, django_capture_on_commit_callbacks: Any
) -> None:
    login(client, family)
    response = _upload(
        client,
        case,
        PDF,
        name="../../Sofia Lopez labs.pdf",
        capture=django_capture_on_commit_callbacks,
    )
    assert response.status_code == 302
    record = Record.objects.get(case=case)
    assert record.state == Record.State.AVAILABLE
    assert record.sha256 == hashlib.sha256(PDF).hexdigest()
    assert record.size == len(PDF)
    assert (record.content_type, record.detected_kind) == ("application/pdf", "pdf")
    assert record.original_name == "Sofia_Lopez_labs.pdf"  # no path, safe characters
    assert record.uploaded_by == family and record.description == "March labs"
    assert "Sofia" not in record.file.name and "labs" not in record.file.name
    assert record.file.name.startswith("records/") and len(record.file.name) == len("records/") + 32
    with default_storage.open(record.file.name) as stored:
        assert stored.read() == PDF
    assert TimelineEvent.objects.filter(
        case=case, kind="note", note__startswith="Record added"
    ).exists()


def test_the_same_file_twice_is_reported_not_stored(client: Client, family: Any, case: Any) -> None:
    login(client, family)
    _upload(client, case, PDF)
    response = _upload(client, case, PDF, name="copy.pdf")
    assert response.status_code == 400
    assert "already added to the request" in response.content.decode()
    assert Record.objects.filter(case=case).count() == 1


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "report.pdf"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "scan.png"),
        (b"MZ\x90\x00" + b"\x00" * 200, "notes.pdf"),
        (b"", "empty.pdf"),
    ],
)
def test_hostile_files_are_refused_next_to_the_field_and_nothing_is_kept(
    client: Client, family: Any, case: Any, content: bytes, name: str
) -> None:
    login(client, family)
    response = _upload(client, case, content, name=name)
    assert response.status_code == 400
    body = response.content.decode()
    assert "invalid-feedback" in body or "is-invalid" in body
    assert not Record.objects.filter(case=case).exists()
    assert "March labs" in body  # the description typed is kept


def test_files_over_50_mb_must_use_the_large_uploader(
    family: Any, case: Any, s3_storage: Any
) -> None:
    big = InMemoryUploadedFile(
        io.BytesIO(PDF), "file", "big.pdf", "application/pdf", 60 * 1024 * 1024, None
    )
    with pytest.raises(Rejected, match="large-file uploader"):
        record_create_from_upload(case=case, by=family, uploaded=big, kind="other")


def test_without_a_bucket_no_uploader_is_promised_for_files_over_50_mb(
    family: Any, case: Any
) -> None:
    big = InMemoryUploadedFile(
        io.BytesIO(PDF), "file", "big.pdf", "application/pdf", 60 * 1024 * 1024, None
    )
    with pytest.raises(Rejected, match="coordinator will arrange") as refused:
        record_create_from_upload(case=case, by=family, uploaded=big, kind="other")
    assert "uploader" not in str(refused.value)


def test_download_goes_through_the_gate_as_an_attachment(
    client: Client, family: Any, other_family: Any, case: Any
) -> None:
    login(client, family)
    _upload(client, case, PDF)
    record = Record.objects.get(case=case)
    url = reverse("record_download", args=[case.reference, record.uid])
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PDF
    event = AccessEvent.objects.latest("pk")
    assert (event.action, event.object_type, event.object_id, event.outcome) == (
        "download",
        "record",
        str(record.uid),
        "allowed",
    )
    other = login(Client(), other_family).get(url)
    assert other.status_code == 404
    assert AccessEvent.objects.latest("pk").outcome == "denied"


def test_on_s3_a_download_is_a_five_minute_attachment_link(
    s3_storage: dict[str, Any], client: Client, family: Any, case: Any
) -> None:
    login(client, family)
    assert _upload(client, case, PDF).status_code == 302
    record = Record.objects.get(case=case)
    head = s3_storage["client"].head_object(Bucket=s3_storage["bucket"], Key=record.file.name)
    assert head["ServerSideEncryption"] == "AES256"
    response = client.get(reverse("record_download", args=[case.reference, record.uid]))
    assert response.status_code == 302
    query = parse_qs(urlparse(response["Location"]).query)
    assert query["X-Amz-Expires"] == ["300"]
    assert query["response-content-disposition"][0].startswith("attachment;")
    assert query["response-content-type"] == ["application/octet-stream"]


def test_eicar_is_quarantined_and_coordinators_alerted(
    client: Client,
    family: Any,
    coordinator: Any,
    case: Any,
    settings: Any,
    clamd_server: tuple[str, int],
    eicar: bytes,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.CLAMD_HOST, settings.CLAMD_PORT = clamd_server
    login(client, family)
    # EICAR is plain text: it passes the type check, then the scan must catch it.
    response = _upload(
        client,
        case,
        eicar,
        name="eicar.txt",
        kind="other",
        capture=django_capture_on_commit_callbacks,
    )
    assert response.status_code == 302
    record = Record.objects.get(case=case)
    assert record.scan_status == Record.Scan.INFECTED
    assert not record.is_downloadable
    download = client.get(reverse("record_download", args=[case.reference, record.uid]))
    assert download.status_code == 404
    alerts = [m for m in mail.outbox if m.to == [coordinator.email]]
    assert alerts and "quarantined" in alerts[0].body
    clean = _upload(client, case, PDF, capture=django_capture_on_commit_callbacks)
    assert clean.status_code == 302
    assert Record.objects.get(case=case, detected_kind="pdf").scan_status == Record.Scan.CLEAN


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_scans_after_commit(
    celery_worker: Any, family: Any, settings: Any, clamd_server: tuple[str, int]
) -> None:
    from intake.models import Intake as IntakeModel

    settings.CLAMD_HOST, settings.CLAMD_PORT = clamd_server
    case = CaseFactory(family=family, status=Status.SUBMITTED)
    IntakeModel.objects.create(case=case)
    with transaction.atomic():
        record = record_create_from_upload(
            case=case, by=family, uploaded=SimpleUploadedFile("l.pdf", PDF), kind="other"
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        record.refresh_from_db()
        if record.scan_status != Record.Scan.PENDING:
            break
        time.sleep(0.1)
    assert record.scan_status == Record.Scan.CLEAN and record.scanned_at is not None


def test_specialists_cannot_upload(client: Client, specialist: Any, case: Any) -> None:
    # The assigned specialist sees the case but reads, never adds: the gate's audited 404.
    case.assigned_specialist = specialist
    case.save()
    login(client, specialist)
    assert _upload(client, case, PDF).status_code == 404
    assert not Record.objects.exists()
    assert _refusals(case) == [(specialist.pk, "upload", "record")]


def test_someone_elses_family_gets_the_gates_audited_404(
    client: Client, other_family: Any, case: Any
) -> None:
    login(client, other_family)
    assert _upload(client, case, PDF).status_code == 404
    assert not Record.objects.exists()
    assert _refusals(case) == [(other_family.pk, "upload", "record")]


def test_uploads_stop_when_the_case_is_past_review(client: Client, family: Any, case: Any) -> None:
    case.status = Status.IN_REVIEW
    case.save()
    login(client, family)
    response = _upload(client, case, PDF)
    assert (response.status_code, response["Location"]) == (
        302,
        reverse("case_detail", args=[case.reference]),
    )
    page = client.get(response["Location"]).content.decode()
    assert "Records can no longer be added to this request." in page
    assert not Record.objects.exists()
    assert _refusals(case) == []


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_hashes_and_scans_a_direct_upload(
    celery_worker: Any,
    family: Any,
    settings: Any,
    s3_storage: dict[str, Any],
    clamd_server: tuple[str, int],
) -> None:
    """Browser → S3 path, then the verify and scan tasks on a real worker against Redis."""
    from intake import uploads
    from intake.records import record_start_direct_upload

    settings.CLAMD_HOST, settings.CLAMD_PORT = clamd_server
    content = PDF + b"%" + b"0" * (6 * 1024 * 1024) + b"\n"
    case = CaseFactory(family=family, status=Status.SUBMITTED)
    Intake.objects.create(case=case)
    record = record_start_direct_upload(
        case=case, by=family, name="study.pdf", size=len(content), kind="imaging_report"
    )
    uploads.multipart_create(record=record)
    record.refresh_from_db()
    client, bucket = s3_storage["client"], s3_storage["bucket"]
    etag = client.upload_part(
        Bucket=bucket,
        Key=record.file.name,
        UploadId=record.multipart_upload_id,
        PartNumber=1,
        Body=content,
    )["ETag"]
    uploads.multipart_complete(record=record, parts=[{"PartNumber": 1, "ETag": etag}])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        record.refresh_from_db()
        if record.state == Record.State.AVAILABLE and record.scan_status != Record.Scan.PENDING:
            break
        time.sleep(0.2)
    assert record.state == Record.State.AVAILABLE
    assert record.sha256 == hashlib.sha256(content).hexdigest()
    assert record.scan_status == Record.Scan.CLEAN
