"""Records: how an uploaded file becomes a record a coordinator and specialist may open.

Two ways in, one pipeline:
- up to 50 MB through Django (``record_create_from_upload``): checked by content, hashed
  and stored at once;
- larger files, up to 5 GB, straight from the browser to S3 in parts
  (``record_start_direct_upload`` then ``record_direct_upload_completed``): the web process
  only checks the stored object's size and first bytes; the ``record_verify`` task hashes
  and fully checks it without holding it in memory.
Every accepted record is then scanned for malware (``record_scan``). A file that fails any
check is deleted and the family is told why; a duplicate (same sha256 on the same case) is
reported, not stored twice.

Who may add a record on the case page, and in which states, is the table of actions'
"upload_records", asked on the locked case row by ``record_add`` (the form) and by
``intake.uploads``' steps (the large-file uploader). A message's attachment goes through
``record_create_from_upload`` too, with the messages' own rules.
"""

import hashlib
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.text import get_valid_filename

from accounts.models import User
from cases.access import require_may_act
from cases.actions import require_allowed
from cases.lifecycle import timeline_note as _note
from cases.models import Case

from .filetypes import (
    HEAD_BYTES,
    MAX_FORM_UPLOAD_BYTES,
    MAX_RECORD_BYTES,
    Rejected,
    detect_head,
    validate_file,
)
from .models import Record
from .notifications import notify_coordinators_quarantine, notify_record_refused
from .scanning import ScanError, clamd_address, scan_chunks

logger = logging.getLogger(__name__)

# The pipeline's next steps, sent once the transaction commits, with record_id: a stored
# record is to be scanned, a finished direct upload verified. intake.receivers queues the
# tasks: intake.tasks imports this module, so this module imports nothing of them.
record_stored = Signal()
record_uploaded = Signal()

CHUNK = 1024 * 1024


class DuplicateRecord(Exception):
    def __init__(self, existing: Record) -> None:
        self.existing = existing
        super().__init__(
            f"This file was already added to the request as “{existing.original_name}” "
            f"on {timezone.localtime(existing.uploaded_at):%B %-d, %Y}; it was not stored twice."
        )


@dataclass(frozen=True)
class Hashed:
    sha256: str
    size: int


def clean_name(name: str) -> str:
    """A display name safe for headers and pages: no path, no control characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable())
    return (get_valid_filename(base) if base.strip(". ") else "file")[:200] or "file"


def _sha256(chunks: Iterator[bytes]) -> Hashed:
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return Hashed(digest.hexdigest(), size)


def _duplicate_of(case: Case, sha256: str, *, excluding: int | None = None) -> Record | None:
    qs = Record.objects.filter(case=case, sha256=sha256).exclude(state=Record.State.REJECTED)
    if excluding is not None:
        qs = qs.exclude(pk=excluding)
    return qs.first()


@transaction.atomic
def record_create_from_upload(
    *, case: Case, by: User, uploaded: UploadedFile, kind: str, description: str = ""
) -> Record:
    """Accept a file posted through Django (≤ 50 MB). Raises Rejected or DuplicateRecord."""
    size = uploaded.size or 0
    if size > MAX_FORM_UPLOAD_BYTES:
        # Only point at the large-file uploader where the page offers one (a bucket).
        if getattr(default_storage, "bucket_name", None):
            raise Rejected(
                "Files larger than 50 MB must be added with the large-file uploader on this page."
            )
        raise Rejected(
            "Files larger than 50 MB cannot be sent here: our coordinator will arrange "
            "another way to send them."
        )
    uploaded.seek(0)
    detected = validate_file(uploaded, size=size)
    uploaded.seek(0)
    hashed = _sha256(uploaded.chunks(CHUNK))
    existing = _duplicate_of(case, hashed.sha256)
    if existing is not None:
        raise DuplicateRecord(existing)
    uploaded.seek(0)
    record = Record(
        case=case,
        kind=kind,
        description=description,
        original_name=clean_name(uploaded.name or "file"),
        size=hashed.size,
        sha256=hashed.sha256,
        content_type=detected.content_type,
        detected_kind=detected.kind,
        state=Record.State.AVAILABLE,
        uploaded_by=by,
    )
    record.file.save("upload", uploaded, save=False)
    record.save()
    _note(case, by, f"Record added: {record.get_kind_display()} ({record.size} bytes)")
    record_id = record.pk
    transaction.on_commit(lambda: _schedule_scan(record_id))
    return record


@transaction.atomic
def record_add(
    *, case: Case, by: User, uploaded: UploadedFile, kind: str, description: str = ""
) -> Record:
    """A record added with the case page's form: the family, the physician or a coordinator
    (``NotYours`` for anyone else), while the case takes records (``LifecycleRefused``)."""
    locked = Case.objects.lock(case)
    require_may_act(by, locked, "upload_records")
    require_allowed(locked, "upload_records")
    return record_create_from_upload(
        case=locked, by=by, uploaded=uploaded, kind=kind, description=description
    )


def _schedule_scan(record_id: int) -> None:
    record_stored.send(sender=Record, record_id=record_id)


@transaction.atomic
def record_start_direct_upload(
    *, case: Case, by: User, name: str, size: int, kind: str, description: str = ""
) -> Record:
    """Register a large file the browser is about to send straight to S3."""
    if size <= 0:
        raise Rejected("This file is empty.")
    if size > MAX_RECORD_BYTES:
        raise Rejected("Each file can be at most 5 GB. Please split the study or contact us.")
    record = Record(
        case=case,
        kind=kind,
        description=description,
        original_name=clean_name(name),
        size=size,
        state=Record.State.UPLOADING,
        uploaded_by=by,
    )
    record.file.name = record.file.field.generate_filename(record, "upload")
    record.save()
    return record


def _storage_client_and_bucket() -> tuple[object, str]:
    bucket = getattr(default_storage, "bucket_name", None)
    if not bucket:
        raise RuntimeError("Direct uploads need S3 storage (AWS_STORAGE_BUCKET_NAME).")
    return default_storage.connection.meta.client, bucket  # type: ignore[attr-defined]


@transaction.atomic
def record_reject(*, record: Record, reason: str) -> Record:
    """Refuse a file: delete what was stored and keep the reason for the family."""
    record = Record.objects.select_for_update().get(pk=record.pk)
    if record.file.name:
        try:
            default_storage.delete(record.file.name)
        except Exception:  # the object may never have been written; the refusal stands
            logger.warning("record %s: stored object could not be deleted", record.pk)
    record.state = Record.State.REJECTED
    record.rejection_reason = reason[:300]
    record.save(update_fields=["state", "rejection_reason"])
    _note(record.case, None, f"Record refused: {record.original_name}: {reason}")
    record_id = record.pk
    transaction.on_commit(lambda: _tell_family_of_refusal(record_id))
    return record


def _tell_family_of_refusal(record_id: int) -> None:
    notify_record_refused(record_id=record_id)


@transaction.atomic
def record_direct_upload_completed(*, record: Record) -> Record:
    """The browser says the upload is complete: check the stored object, then hash it."""
    record = Record.objects.select_for_update().get(pk=record.pk)
    if record.state != Record.State.UPLOADING:
        return record  # a repeated completion call changes nothing
    client, bucket = _storage_client_and_bucket()
    head = client.head_object(Bucket=bucket, Key=record.file.name)  # type: ignore[attr-defined]
    size = int(head["ContentLength"])
    try:
        if size > MAX_RECORD_BYTES:
            raise Rejected("Each file can be at most 5 GB.")
        first = client.get_object(  # type: ignore[attr-defined]
            Bucket=bucket, Key=record.file.name, Range=f"bytes=0-{HEAD_BYTES - 1}"
        )["Body"].read()
        detected = detect_head(first, size=size)
    except Rejected as refusal:
        return record_reject(record=record, reason=refusal.message)
    record.size = size
    record.content_type = detected.content_type
    record.detected_kind = detected.kind
    record.state = Record.State.VERIFYING
    record.multipart_upload_id = ""
    record.save(
        update_fields=["size", "content_type", "detected_kind", "state", "multipart_upload_id"]
    )
    record_id = record.pk
    transaction.on_commit(lambda: _schedule_verify(record_id))
    return record


def _schedule_verify(record_id: int) -> None:
    record_uploaded.send(sender=Record, record_id=record_id)


def stored_chunks(record: Record) -> Iterator[bytes]:
    """The stored file, a chunk at a time, never whole in memory.

    django-storages' S3 file object buffers the entire object in RAM on first read, so on
    S3 we stream the GET body ourselves.
    """
    if getattr(default_storage, "bucket_name", None):
        client, bucket = _storage_client_and_bucket()
        body = client.get_object(Bucket=bucket, Key=record.file.name)["Body"]  # type: ignore[attr-defined]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()
        return
    with default_storage.open(str(record.file.name), "rb") as source:
        while chunk := source.read(CHUNK):
            yield chunk


def _spool(record: Record) -> tuple[IO[bytes], Hashed]:
    """Copy the stored object to a temporary file on disk, hashing as it streams."""
    spooled = tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR)  # noqa: SIM115
    digest = hashlib.sha256()
    size = 0
    for chunk in stored_chunks(record):
        digest.update(chunk)
        spooled.write(chunk)
        size += len(chunk)
    spooled.seek(0)
    return spooled, Hashed(digest.hexdigest(), size)


def record_verify(*, record_id: int) -> Record:
    """Hash and fully check a directly uploaded object (Celery: ``intake.tasks``)."""
    record = Record.objects.get(pk=record_id)
    if record.state != Record.State.VERIFYING:
        return record
    spooled, hashed = _spool(record)
    with spooled, transaction.atomic():
        record = Record.objects.select_for_update().get(pk=record_id)
        if record.state != Record.State.VERIFYING:
            return record  # another worker finished it
        try:
            detected = validate_file(spooled, size=hashed.size)
        except Rejected as refusal:
            return record_reject(record=record, reason=refusal.message)
        existing = _duplicate_of(record.case, hashed.sha256, excluding=record.pk)
        if existing is not None:
            return record_reject(record=record, reason=str(DuplicateRecord(existing)))
        record.sha256 = hashed.sha256
        record.size = hashed.size
        record.detected_kind = detected.kind
        record.content_type = detected.content_type
        record.state = Record.State.AVAILABLE
        record.save(update_fields=["sha256", "size", "detected_kind", "content_type", "state"])
        _note(
            record.case,
            record.uploaded_by,
            f"Record added: {record.get_kind_display()} ({record.size} bytes)",
        )
        transaction.on_commit(lambda: _schedule_scan(record_id))
    return record


# States a scan may still move on from; CLEAN, INFECTED and DEVELOPMENT are final.
SCANNABLE = (Record.Scan.PENDING, Record.Scan.ERROR)


def record_scan(*, record_id: int) -> Record:
    """Stream the file to clamd; quarantine it if infected. Without a scanner configured the
    record stays "waiting for virus scan", which keeps it away from specialists. Under the
    development scanner mode (settings.SCANNER, local settings only) it is marked "not
    scanned — development" instead, so make run can be tried end to end."""
    record = Record.objects.get(pk=record_id)
    if record.state != Record.State.AVAILABLE or record.scan_status in (
        Record.Scan.CLEAN,
        Record.Scan.INFECTED,
        Record.Scan.DEVELOPMENT,
    ):
        return record
    if settings.SCANNER == "development":
        Record.objects.filter(pk=record_id, scan_status__in=SCANNABLE).update(
            scan_status=Record.Scan.DEVELOPMENT, scanned_at=timezone.now()
        )
        record.refresh_from_db()
        return record
    address = clamd_address()
    if address is None:
        return record
    host, port = address

    try:
        result = scan_chunks(stored_chunks(record), host=host, port=port)
    except ScanError:
        Record.objects.filter(pk=record_id).update(scan_status=Record.Scan.ERROR)
        raise
    with transaction.atomic():
        record = Record.objects.select_for_update().get(pk=record_id)
        record.scan_status = Record.Scan.CLEAN if result.clean else Record.Scan.INFECTED
        record.scanned_at = timezone.now()
        record.save(update_fields=["scan_status", "scanned_at"])
        if not result.clean:
            _note(
                record.case, None, f"Record quarantined by the virus scan: {record.original_name}"
            )
            record_id = record.pk
            transaction.on_commit(lambda: _alert_coordinators(record_id))
    return record


def _alert_coordinators(record_id: int) -> None:
    notify_coordinators_quarantine(record_id=record_id)
