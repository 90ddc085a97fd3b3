"""Large records sent by the browser straight to S3 with a multipart upload.

Django never sees the bytes. It registers the record (``records.record_start_direct_upload``),
starts the multipart upload under the record's random key, signs one part at a time, lists
the parts already stored (to resume after a dropped connection), completes the upload and
hands the stored object to ``records.record_direct_upload_completed``, which checks its size
and first bytes and queues the hashing task.

Part sizes are fixed by the declared file size (``part_size``): every part but the last is
exactly that long and each presigned URL is signed for its part's Content-Length, so S3
refuses a part of any other length and the parts cannot add up to more than was declared.
The page script uses the same size (it is rendered into the uploader's data attributes).

The views call the ``upload_*`` steps, which ask the table of actions on the case's locked
row (``Case.objects.lock``): who may add records is its "upload_records" (``NotYours`` for
anyone else), and starting, signing, listing and completing need a state that takes records
(``LifecycleRefused`` otherwise); cancelling is allowed in any state. The ``multipart_*``
storage steps beneath them are also what the clean-up task of abandoned uploads calls.
"""

import logging
from typing import Any

from botocore.exceptions import ClientError
from django.db import transaction

from accounts.models import User
from cases.access import require_may_act
from cases.actions import require_allowed
from cases.models import Case
from core.refusals import Refused

from .models import Record
from .records import (
    _storage_client_and_bucket,
    record_direct_upload_completed,
    record_start_direct_upload,
)

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
# Every part except the last; S3 wants at least 5 MiB and at most 10,000 parts.
PART_BYTES = 16 * MiB
MAX_PARTS = 10_000
# A presigned part URL is valid for 15 minutes; the browser asks again for a retried part.
SIGN_SECONDS = 900

_GONE = frozenset({"NoSuchUpload", "404", "NotFound"})


class UploadRefused(Refused):
    """The upload cannot go on; ``message`` is shown to the person uploading and ``status``
    is the HTTP status the uploader's JSON answer carries."""

    def __init__(self, message: str, *, status: int = 409) -> None:
        super().__init__(message, code="upload")
        self.status = status


def part_size(total: int) -> int:
    """The length of every part but the last, for a file of ``total`` bytes."""
    return max(PART_BYTES, -(-total // MAX_PARTS))


def part_count(total: int) -> int:
    return max(1, -(-total // part_size(total)))


def part_bytes(total: int, part_number: int) -> int:
    """How long part ``part_number`` (1-based) of a ``total``-byte file must be."""
    size, count = part_size(total), part_count(total)
    if not 1 <= part_number <= count:
        raise UploadRefused(f"Part numbers go from 1 to {count} for this file.", status=400)
    return size if part_number < count else total - size * (count - 1)


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _check_in_progress(record: Record, upload_id: str | None) -> None:
    if record.state != Record.State.UPLOADING or not record.multipart_upload_id:
        raise UploadRefused("This upload is no longer in progress. Please add the file again.")
    if upload_id is not None and upload_id != record.multipart_upload_id:
        raise UploadRefused("This upload is no longer in progress. Please add the file again.")


def _s3() -> tuple[Any, str]:
    """The boto3 client and bucket of the default (S3) storage."""
    client, bucket = _storage_client_and_bucket()
    return client, bucket


def _locked(record: Record) -> Record:
    return Record.objects.select_for_update().get(pk=record.pk)


def multipart_create(*, record: Record) -> str:
    """Start the multipart upload under the record's random key; return S3's upload id
    (also set on ``record``)."""
    with transaction.atomic():
        locked = _locked(record)
        if locked.state != Record.State.UPLOADING or locked.multipart_upload_id:
            raise UploadRefused("This upload was already started.")
        client, bucket = _s3()
        response = client.create_multipart_upload(
            Bucket=bucket,
            Key=locked.file.name,
            ServerSideEncryption="AES256",
            ContentType="application/octet-stream",
        )
        locked.multipart_upload_id = str(response["UploadId"])
        locked.save(update_fields=["multipart_upload_id"])
    record.multipart_upload_id = locked.multipart_upload_id
    return record.multipart_upload_id


def multipart_sign_part(*, record: Record, part_number: int, upload_id: str | None = None) -> str:
    """A presigned URL the browser PUTs one part to, valid for ``SIGN_SECONDS``."""
    _check_in_progress(record, upload_id)
    length = part_bytes(record.size, part_number)
    client, bucket = _s3()
    return str(
        client.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": bucket,
                "Key": record.file.name,
                "UploadId": record.multipart_upload_id,
                "PartNumber": part_number,
                "ContentLength": length,
            },
            ExpiresIn=SIGN_SECONDS,
            HttpMethod="PUT",
        )
    )


def _stored_parts(record: Record) -> list[dict[str, Any]]:
    client, bucket = _s3()
    parts: list[dict[str, Any]] = []
    paginator = client.get_paginator("list_parts")
    for page in paginator.paginate(
        Bucket=bucket, Key=record.file.name, UploadId=record.multipart_upload_id
    ):
        for part in page.get("Parts", []):
            parts.append(
                {
                    "PartNumber": int(part["PartNumber"]),
                    "Size": int(part["Size"]),
                    "ETag": str(part["ETag"]),
                }
            )
    return sorted(parts, key=lambda p: p["PartNumber"])


def multipart_list_parts(*, record: Record, upload_id: str | None = None) -> list[dict[str, Any]]:
    """The parts S3 already holds (PartNumber, Size, ETag): what a resumed upload skips."""
    _check_in_progress(record, upload_id)
    try:
        return _stored_parts(record)
    except ClientError as error:
        if _error_code(error) in _GONE:
            raise UploadRefused(
                "This upload is no longer in progress. Please add the file again."
            ) from error
        raise


def _etag(value: object) -> str:
    return str(value).strip().strip('"')


def _parts_to_complete(record: Record, claimed: list[dict[str, Any]] | None) -> list[dict]:
    """S3's own list of parts, checked against the declared size and the browser's list."""
    stored = _stored_parts(record)
    count = part_count(record.size)
    expected = [(n, part_bytes(record.size, n)) for n in range(1, count + 1)]
    if [(p["PartNumber"], p["Size"]) for p in stored] != expected:
        raise UploadRefused(
            "Some parts of this file have not arrived yet. Keep this page open: the upload "
            "resumes where it stopped.",
            status=400,
        )
    if claimed is not None:
        mine = sorted((int(p["PartNumber"]), _etag(p["ETag"])) for p in claimed)
        if mine != [(p["PartNumber"], _etag(p["ETag"])) for p in stored]:
            raise UploadRefused(
                "The parts sent do not match the parts stored. Please add the file again.",
                status=400,
            )
    return [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in stored]


def _object_already_assembled(record: Record) -> bool:
    """True when an earlier completion call got as far as S3 (a retried request)."""
    client, bucket = _s3()
    try:
        head = client.head_object(Bucket=bucket, Key=record.file.name)
    except ClientError:
        return False
    return int(head["ContentLength"]) == record.size


def multipart_complete(
    *, record: Record, parts: list[dict[str, Any]] | None, upload_id: str | None = None
) -> Record:
    """Assemble the parts into the object, then check it (``record_direct_upload_completed``).

    ``parts`` is the browser's list ([{PartNumber, ETag}]); S3's own list is what is used,
    and it must hold every part of the declared size.
    """
    with transaction.atomic():
        record = _locked(record)
        _check_in_progress(record, upload_id)
        client, bucket = _s3()
        try:
            to_complete = _parts_to_complete(record, parts)
            client.complete_multipart_upload(
                Bucket=bucket,
                Key=record.file.name,
                UploadId=record.multipart_upload_id,
                MultipartUpload={"Parts": to_complete},
            )
        except ClientError as error:
            # A retried request whose first attempt completed the upload finds it gone and
            # the object assembled: carry on with the checks.
            if _error_code(error) not in _GONE:
                raise
            if not _object_already_assembled(record):
                raise UploadRefused(
                    "This upload is no longer in progress. Please add the file again."
                ) from error
        return record_direct_upload_completed(record=record)


def multipart_abort(*, record: Record, upload_id: str | None = None) -> None:
    """Cancel an upload in progress: S3 drops the parts and the record row is deleted.

    A cancelled upload never became a record (no bytes were accepted), so nothing is kept
    and nobody is notified; the access log keeps the request.
    """
    with transaction.atomic():
        record = _locked(record)
        if record.state != Record.State.UPLOADING:
            raise UploadRefused("This file has already been received; it cannot be cancelled.")
        if upload_id is not None and upload_id != record.multipart_upload_id:
            raise UploadRefused("This upload is no longer in progress.")
        if record.multipart_upload_id:
            client, bucket = _s3()
            try:
                client.abort_multipart_upload(
                    Bucket=bucket, Key=record.file.name, UploadId=record.multipart_upload_id
                )
            except ClientError as error:
                if _error_code(error) not in _GONE:
                    raise
        record.delete()


# --- the steps the views call: the table of actions first, on the locked case row ----------


def _may_upload(case: Case | int, by: User, *, now: bool = True) -> Case:
    """Lock the case; refuse anyone the table does not let add records (``NotYours``) and,
    when ``now``, a case whose state takes no more (``LifecycleRefused``)."""
    locked = Case.objects.lock(case)
    require_may_act(by, locked, "upload_records")
    if now:
        require_allowed(locked, "upload_records")
    return locked


@transaction.atomic
def upload_start(
    *, case: Case, by: User, name: str, size: int, kind: str, description: str = ""
) -> Record:
    """Register a large file and start its multipart upload (``record.multipart_upload_id``)."""
    locked = _may_upload(case, by)
    record = record_start_direct_upload(
        case=locked, by=by, name=name, size=size, kind=kind, description=description
    )
    multipart_create(record=record)
    return record


@transaction.atomic
def upload_sign_part(
    *, record: Record, by: User, part_number: int, upload_id: str | None = None
) -> str:
    _may_upload(record.case_id, by)
    return multipart_sign_part(record=record, part_number=part_number, upload_id=upload_id)


@transaction.atomic
def upload_list_parts(
    *, record: Record, by: User, upload_id: str | None = None
) -> list[dict[str, Any]]:
    _may_upload(record.case_id, by)
    return multipart_list_parts(record=record, upload_id=upload_id)


@transaction.atomic
def upload_complete(
    *, record: Record, by: User, parts: list[dict[str, Any]] | None, upload_id: str | None = None
) -> Record:
    _may_upload(record.case_id, by)
    return multipart_complete(record=record, parts=parts, upload_id=upload_id)


@transaction.atomic
def upload_cancel(*, record: Record, by: User, upload_id: str | None = None) -> None:
    """Whatever the request's stage, so nothing is left behind."""
    _may_upload(record.case_id, by, now=False)
    multipart_abort(record=record, upload_id=upload_id)
