"""A slide's cached tiles (in the S3 bucket) and its local copy (SLIDES_CACHE_DIR) go with its
record or case, after commit; the local copy goes in the deleting process itself, even when
the tile task cannot reach storage."""

from typing import Any

import pytest
from storages.backends.s3 import S3Storage

from accounts.models import User
from cases.models import Case, Status
from intake.models import Record
from slides import services
from slides.demo import demo_slide_record
from slides.models import Slide
from tests.factories import CaseFactory

TILES = [(11, 0, 0), (11, 1, 0), (10, 0, 0)]


@pytest.fixture
def review_case(family: User, physician: User, specialist: User) -> Case:
    return CaseFactory(
        status=Status.IN_REVIEW,
        family=family,
        physician_email=physician.email,
        assigned_specialist=specialist,
    )


def _tiles_keys(s3: dict[str, Any], prefix: str) -> set[str]:
    listed = s3["client"].list_objects_v2(Bucket=s3["bucket"], Prefix=f"slides/{prefix}/")
    return {item["Key"] for item in listed.get("Contents", [])}


def _viewed_slide(case: Case, s3: dict[str, Any]) -> tuple[Record, str]:
    # Tiles drawn through the service, not the page: an opened case has audit rows, which
    # (rightly) keep the case from being deleted.
    record = demo_slide_record(case, by=case.family, scan=Record.Scan.CLEAN)
    slide = services.slide_index(record)
    assert slide is not None and slide.is_ready
    for tile in TILES:
        assert services.tile_jpeg(slide, *tile)
    prefix = slide.storage_prefix
    assert len(_tiles_keys(s3, prefix)) == len(TILES)
    assert list(services._cache_dir().glob(f"{prefix}.*"))
    return record, prefix


def test_deleting_the_case_deletes_tiles_and_local_copy(
    review_case: Case,
    s3_storage: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    _, prefix = _viewed_slide(review_case, s3_storage)

    with django_capture_on_commit_callbacks(execute=True):
        Case.objects.filter(pk=review_case.pk).delete()

    assert not Slide.objects.exists()
    assert _tiles_keys(s3_storage, prefix) == set()
    assert not list(services._cache_dir().glob(f"{prefix}.*"))


def test_the_local_copy_goes_even_when_storage_refuses(
    review_case: Case,
    s3_storage: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    record, prefix = _viewed_slide(review_case, s3_storage)

    def unreachable(self: S3Storage, name: str) -> None:
        raise OSError("storage unreachable")

    monkeypatch.setattr(S3Storage, "delete", unreachable)
    # The tile task fails (logged; a real worker retries it); the delete itself stands.
    with django_capture_on_commit_callbacks(execute=True):
        record.delete()

    assert not Record.objects.filter(pk=record.pk).exists()
    assert not Slide.objects.exists()
    assert not list(services._cache_dir().glob(f"{prefix}.*"))
    # The tiles wait for the task's retry: nothing else was lost.
    assert len(_tiles_keys(s3_storage, prefix)) == len(TILES)


def test_tile_deletion_is_retried_on_s3_errors_too() -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    from slides.tasks import slide_tiles_delete

    # S3's errors are not OSErrors: without them here a refused delete left the tiles.
    assert {OSError, BotoCoreError, ClientError} <= set(slide_tiles_delete.autoretry_for)
