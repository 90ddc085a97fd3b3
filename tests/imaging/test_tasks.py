"""The pipeline end to end on real services: a form upload, the clamd scan and the index,
both run by a real Celery worker on Redis; the task carries the record id only."""

import time
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from imaging import synthetic
from imaging.models import RecordIndex, Study
from imaging.signals import record_saved
from imaging.tasks import record_index
from intake.models import Record
from intake.records import record_create_from_upload

from .conftest import make_record


def _wait(predicate: Any, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def _study_zip(key: str) -> bytes:
    spec = synthetic.StudySpec(
        key=key,
        series=(synthetic.SeriesSpec(number=1, description="Axial", slices=6, size=16),),
    )
    return synthetic.plain_zip(list(synthetic.study_files(spec)))


@pytest.mark.django_db(transaction=True)
def test_a_scanned_clean_upload_is_indexed_by_a_real_worker(
    celery_worker: Any, case: Any, family: Any
) -> None:
    upload = SimpleUploadedFile("from_the_cd.zip", _study_zip("worker"), "application/zip")
    record = record_create_from_upload(
        case=case, by=family, uploaded=upload, kind=Record.Kind.IMAGING
    )
    assert record.detected_kind == "dicom_zip"

    def indexed() -> bool:
        return RecordIndex.objects.filter(record=record, state="indexed").exists()

    assert _wait(indexed), RecordIndex.objects.filter(record=record).values()
    record.refresh_from_db()
    assert record.scan_status == Record.Scan.CLEAN
    study = Study.objects.with_counts().get(case=case)
    assert (study.series_count, study.instance_count) == (1, 6)


def test_the_hook_queues_only_cleared_dicom_records_with_the_id_alone(
    case: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    queued: list[tuple[Any, ...]] = []
    monkeypatch.setattr(record_index, "delay", lambda *args: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        pending = make_record(case, _study_zip("a"), scan_status="pending")
        make_record(case, b"%PDF-1.4 x", name="r.pdf", detected_kind="pdf")
        make_record(case, _study_zip("b"), scan_status="infected")
    assert queued == []
    with django_capture_on_commit_callbacks(execute=True):
        pending.scan_status = Record.Scan.CLEAN
        pending.save(update_fields=["scan_status", "scanned_at"])
    assert queued == [(pending.pk,)]
    # A pending row right away, so the console lists the record while the task waits.
    assert RecordIndex.objects.get(record=pending).state == RecordIndex.State.PENDING
    # Saves that do not touch the scan or the state do not queue again.
    with django_capture_on_commit_callbacks(execute=True):
        pending.description = "CD from the hospital"
        pending.save(update_fields=["description"])
    assert queued == [(pending.pk,)]
    assert record_saved is not None


def test_the_task_is_idempotent_and_reports_its_state(case: Any) -> None:
    record = make_record(case, _study_zip("twice"))
    assert record_index.apply(args=[record.pk]).get() == "indexed"
    assert record_index.apply(args=[record.pk]).get() == "indexed"
    assert Study.objects.with_counts().get().instance_count == 6
    assert record_index.apply(args=[999_999]).get() == "skipped"
