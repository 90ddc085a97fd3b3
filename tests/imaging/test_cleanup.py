"""Imaging files leave storage with their rows: a deleted record or case, or a re-index,
takes its instances' objects (and their decoded copies) out of the S3 bucket after commit;
a storage error there never undoes the delete. And a compressed instance is decoded once:
later requests are served from its cached uncompressed copy, without a child."""

import io
import logging
from typing import Any

import pydicom
import pytest
from django.test import Client
from pydicom.uid import ExplicitVRLittleEndian
from storages.backends.s3 import S3Storage

from cases.models import Case, Status
from core import bounded
from imaging import synthetic
from imaging.indexing import record_index
from imaging.models import Instance, Study
from intake.models import Record
from tests.conftest import login
from tests.factories import CaseFactory

from .builders import build_study
from .conftest import make_record
from .test_viewer_http import get_instance, open_page


def _study_zip(key: str = "c", slices: int = 3) -> bytes:
    spec = synthetic.StudySpec(
        key=key,
        series=(synthetic.SeriesSpec(number=2, description="Axial", slices=slices, size=16),),
    )
    return synthetic.plain_zip(list(synthetic.study_files(spec)))


def _bucket_keys(s3: dict[str, Any], prefix: str = "imaging/") -> set[str]:
    listed = s3["client"].list_objects_v2(Bucket=s3["bucket"], Prefix=prefix)
    return {item["Key"] for item in listed.get("Contents", [])}


def _indexed(case: Case, data: bytes) -> Record:
    record = make_record(case, data)
    index = record_index(record_id=record.pk)
    assert index is not None and index.instances_added > 0
    return record


def test_deleting_a_record_deletes_its_instance_files(
    case: Case, s3_storage: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    record = _indexed(case, _study_zip("a"))
    other = _indexed(case, _study_zip("b"))
    keys = set(Instance.objects.filter(record=record).values_list("storage_key", flat=True))
    kept = set(Instance.objects.filter(record=other).values_list("storage_key", flat=True))
    assert len(keys) == 3 and _bucket_keys(s3_storage) == keys | kept

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        record.delete()

    assert callbacks  # deleted after commit, not before
    assert not Instance.objects.filter(record_id=record.pk).exists()
    assert _bucket_keys(s3_storage) == kept  # the other record's files stay


def test_files_stay_when_the_delete_rolls_back(
    case: Case, s3_storage: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    record = _indexed(case, _study_zip())
    keys = _bucket_keys(s3_storage)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        record.delete()
    # Not run (as on a rollback): the objects are still there.
    assert callbacks and _bucket_keys(s3_storage) == keys


def test_deleting_the_case_deletes_every_instance_file(
    family: Any, s3_storage: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    case = CaseFactory(family=family, status=Status.SUBMITTED)
    _indexed(case, _study_zip("a"))
    _indexed(case, _study_zip("b", slices=2))
    assert len(_bucket_keys(s3_storage)) == 5

    with django_capture_on_commit_callbacks(execute=True):
        Case.objects.filter(pk=case.pk).delete()

    assert not Study.objects.exists() and not Instance.objects.exists()
    assert _bucket_keys(s3_storage) == set()


def test_reindexing_deletes_the_old_files_and_keeps_the_new(
    case: Case, s3_storage: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    record = _indexed(case, _study_zip())
    old = _bucket_keys(s3_storage)
    assert len(old) == 3

    with django_capture_on_commit_callbacks(execute=True):
        index = record_index(record_id=record.pk)

    assert index is not None and index.instances_added == 3
    new = set(Instance.objects.values_list("storage_key", flat=True))
    assert new.isdisjoint(old)
    assert _bucket_keys(s3_storage) == new


def test_a_storage_error_does_not_undo_the_delete(
    case: Case,
    s3_storage: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    record = _indexed(case, _study_zip())
    keys = sorted(_bucket_keys(s3_storage))
    real_delete = S3Storage.delete
    refused: list[str] = []

    def flaky_delete(self: S3Storage, name: str) -> None:
        # The first object refused, as S3 does when it is unreachable; the rest go.
        if not refused:
            refused.append(name)
            raise OSError("storage unreachable")
        real_delete(self, name)

    monkeypatch.setattr(S3Storage, "delete", flaky_delete)
    with (
        caplog.at_level(logging.WARNING, logger="imaging"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        record.delete()

    assert not Record.objects.filter(pk=record.pk).exists()
    assert not Instance.objects.exists()
    assert _bucket_keys(s3_storage) == set(refused)  # one orphan, the others deleted
    assert "could not be deleted" in caplog.text
    assert not any(key.removeprefix("imaging/") in caplog.text for key in keys)


# --- the decoded copy of a compressed instance --------------------------------------------


@pytest.fixture
def review_case(family: Any, specialist: Any, physician: Any) -> Any:
    return CaseFactory(
        family=family,
        assigned_specialist=specialist,
        physician_email=physician.email,
        status=Status.IN_REVIEW,
    )


def test_a_compressed_instance_is_decoded_once_then_served_from_storage(
    specialist: Any,
    review_case: Any,
    s3_storage: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    built = build_study(review_case, slices=1, size=64, compressed=True)
    instance = built.instances[0]
    children: list[str] = []
    real_run = bounded.run_script

    def counted(target: str, job: Any, **kwargs: Any) -> bytes:
        children.append(job.get("op", ""))
        return real_run(target, job, **kwargs)

    monkeypatch.setattr(bounded, "run_script", counted)
    client = login(Client(), specialist)
    grant = open_page(client, review_case, built.study)["grant"]

    first = get_instance(client, built.study.pk, instance.pk, grant)
    assert first.status_code == 200 and children == ["native"]
    instance.refresh_from_db()
    assert instance.native_key and instance.native_key in _bucket_keys(s3_storage)

    second = get_instance(client, built.study.pk, instance.pk, grant)
    assert second.status_code == 200
    assert children == ["native"]  # no second child
    assert second.data == first.data
    assert second["Content-Security-Policy"].startswith("sandbox")
    ds = pydicom.dcmread(io.BytesIO(second.data))
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian

    # The decoded copy goes with the instance.
    with django_capture_on_commit_callbacks(execute=True):
        built.record.delete()
    assert _bucket_keys(s3_storage) == set()


def test_a_lost_decoded_copy_is_decoded_again(
    specialist: Any, review_case: Any, s3_storage: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    built = build_study(review_case, slices=1, size=32, compressed=True)
    instance = built.instances[0]
    client = login(Client(), specialist)
    grant = open_page(client, review_case, built.study)["grant"]
    first = get_instance(client, built.study.pk, instance.pk, grant)
    instance.refresh_from_db()
    lost = instance.native_key
    assert lost
    s3_storage["client"].delete_object(Bucket=s3_storage["bucket"], Key=lost)

    again = get_instance(client, built.study.pk, instance.pk, grant)

    assert again.status_code == 200 and again.data == first.data
    instance.refresh_from_db()
    assert instance.native_key and instance.native_key != lost
    assert instance.native_key in _bucket_keys(s3_storage)
