"""The imaging indexer: turns a cleared record (a DICOM file, a zip of them, a CD's layout)
into studies, series and stored instances of its case.

The record is copied to a private temporary directory; the bounded child
(``imaging.dicomfiles:index_job``) reads every header there and copies accepted zip entries
out under counters; this process stores each new instance under a random key and writes the
rows. Re-indexing a record replaces what it added before, so the task can run twice.
Several records may add to one study; an instance (SOP Instance UID) already in the study
is a duplicate, kept once and counted.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, fields
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction

from core import bounded
from intake.models import Record
from intake.records import stored_chunks

from .dicomfiles import Header, Limits
from .models import Instance, RecordIndex, Series, Study
from .storage import instance_key

logger = logging.getLogger(__name__)

IMAGING_KINDS = ("dicom", "dicom_zip")
# Our own words for the coordinator: never a decoder's message, which may quote the file.
ERROR_TOO_LARGE = "The record is larger than the indexer accepts."
ERROR_CHILD = "The files could not be read in time or within the memory limit."
ERROR_STORAGE = "The record could not be read from storage."
NO_IMAGES = "No DICOM images could be read from this record."


def limits() -> Limits:
    return Limits(**settings.IMAGING_LIMITS)


def is_imaging(record: Record) -> bool:
    return record.detected_kind in IMAGING_KINDS


# --- reading (outside any transaction) ----------------------------------------------------


def _copy_record(record: Record, target: Path) -> None:

    limit = settings.IMAGING_MAX_RECORD_MB * 1024 * 1024
    copied = 0
    with target.open("wb") as out:
        for chunk in stored_chunks(record):
            copied += len(chunk)
            if copied > limit:
                raise _Failed(ERROR_TOO_LARGE)
            out.write(chunk)


class _Failed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def read_record(record: Record, workdir: Path) -> dict[str, Any]:
    source = workdir / "record"
    try:
        _copy_record(record, source)
    except _Failed:
        raise
    except Exception as exc:  # S3 or disk errors: a retryable failure, reported in words
        raise _Failed(ERROR_STORAGE) from exc
    out_dir = workdir / "out"
    out_dir.mkdir()
    try:
        out = bounded.run_script(
            "imaging.dicomfiles:index_job",
            {
                "path": str(source),
                "workdir": str(out_dir),
                "name": record.original_name,
                "limits": asdict(limits()),
            },
            seconds=settings.IMAGING_INDEX_SECONDS,
            memory_bytes=settings.IMAGING_INDEX_MEMORY_MB * 1024 * 1024,
            label="Imaging index",
        )
    except bounded.ChildRefused as exc:
        raise _Failed(exc.message[:300]) from None
    except bounded.ChildFailed:
        raise _Failed(ERROR_CHILD) from None
    result: dict[str, Any] = json.loads(out)
    names = {f.name for f in fields(Header)}
    allowed = (str(out_dir), str(source))
    headers = []
    for raw in result["headers"]:
        header = Header(**{k: v for k, v in raw.items() if k in names})
        # The child only ever names files it was given or wrote; check, don't trust.
        if header.file != allowed[1] and Path(header.file).parent != out_dir:
            continue
        headers.append(header)
    result["headers"] = headers
    return result


# --- geometry ---------------------------------------------------------------------------------


def slice_position(header: Header, orientation: list[float] | None) -> float | None:
    """Distance along the slice normal: (row cosines x column cosines) . position."""
    cosines = header.orientation or orientation
    if cosines is None or header.position is None:
        return None
    r, c = cosines[:3], cosines[3:]
    normal = (r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0])
    if math.isclose(sum(n * n for n in normal), 0.0, abs_tol=1e-9):
        return None
    return sum(n * p for n, p in zip(normal, header.position, strict=True))


def _order_key_position(instance: Instance) -> tuple[float, int, str]:
    return (float(instance.position or 0.0), instance.instance_number or 0, instance.sop_uid)


def _order_key_number(instance: Instance) -> tuple[int, int, str]:
    number = instance.instance_number
    return (number is None, number or 0, instance.sop_uid)


def series_order(instances: list[Instance]) -> list[Instance]:
    """By position along the slice normal when every instance has one; otherwise by
    instance number (then UID, so the order is stable)."""
    if instances and all(i.position is not None for i in instances):
        return sorted(instances, key=_order_key_position)
    return sorted(instances, key=_order_key_number)


# --- writing --------------------------------------------------------------------------------


def _study_date(text: str) -> date | None:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8])) if text else None
    except ValueError:
        return None


def _modalities(values: Iterable[str]) -> str:
    seen: list[str] = []
    for value in values:
        if value and value not in seen:
            seen.append(value)
    return "/".join(seen)[:64]


def _refresh_series(series: Series) -> None:
    instances = series_order(list(series.instances.all()))
    for index, instance in enumerate(instances):
        if instance.sort_index != index:
            instance.sort_index = index
            instance.save(update_fields=["sort_index"])
    series.instance_count = len(instances)
    series.frame_count = sum(i.frames for i in instances)
    series.save(update_fields=["instance_count", "frame_count"])


def _refresh_study(study: Study) -> None:
    study.modalities = _modalities(
        study.series.order_by("number", "pk").values_list("modality", flat=True)
    )
    study.save(update_fields=["modalities"])


def _series_for(study: Study, header: Header, cache: dict[tuple[int, str], Series]) -> Series:
    key = (study.pk, header.series_uid)
    if key in cache:
        return cache[key]
    spacing: list[float | None] = [None, None]
    if header.pixel_spacing:
        spacing = [header.pixel_spacing[0], header.pixel_spacing[1]]
    series, _ = Series.objects.get_or_create(
        study=study,
        series_uid=header.series_uid,
        defaults={
            "modality": header.modality,
            "description": header.series_description,
            "number": header.series_number,
            "body_part": header.body_part,
            "rows": header.rows,
            "columns": header.columns,
            "pixel_spacing_row": spacing[0],
            "pixel_spacing_col": spacing[1],
            "slice_thickness": header.slice_thickness,
            "window_center": header.window_center,
            "window_width": header.window_width,
            "orientation": header.orientation,
        },
    )
    cache[key] = series
    return series


def _study_for(record: Record, header: Header, cache: dict[str, Study]) -> Study:
    if header.study_uid in cache:
        return cache[header.study_uid]
    study, created = Study.objects.get_or_create(
        case_id=record.case_id,
        study_uid=header.study_uid,
        defaults={
            "description": header.study_description,
            "study_date": _study_date(header.study_date),
            "body_part": header.body_part,
        },
    )
    if not created and not study.description and header.study_description:
        study.description = header.study_description
        study.save(update_fields=["description"])
    cache[header.study_uid] = study
    return study


def _lock_case(case_id: int) -> None:
    # Records of one case are indexed one at a time (studies and series are shared rows);
    # a transaction-scoped advisory lock on PostgreSQL, so nothing else on the case row
    # waits. SQLite (make run) has no advisory locks and needs none: its IMMEDIATE
    # transactions (config/settings/base.py) already admit one writer at a time.
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [0x494D47, case_id])


def _first_header_per_series(headers: list[Header]) -> dict[tuple[str, str], Header]:
    """The header that will sort first in its series gives its window and geometry."""
    best: dict[tuple[str, str], Header] = {}
    for header in headers:
        key = (header.study_uid, header.series_uid)
        current = best.get(key)
        if current is None or (header.instance_number or 0) < (current.instance_number or 0):
            best[key] = header
    return best


def _store(header: Header) -> str:
    with Path(header.file).open("rb") as source:
        return default_storage.save(instance_key(), File(source))


def _delete_keys(keys: list[str]) -> None:
    for key in keys:
        try:
            default_storage.delete(key)
        except Exception:  # storage hiccup: an orphan object, never a failed index
            logger.warning("imaging: could not delete a stored instance")


def _known_sops(record: Record, headers: list[Header]) -> set[tuple[str, str]]:
    """Instances of this case from other records: duplicates, not stored again."""
    uids = {h.sop_uid for h in headers}
    rows = (
        Instance.objects.filter(study__case_id=record.case_id, sop_uid__in=uids)
        .exclude(record=record)
        .values_list("study__study_uid", "sop_uid")
    )
    return set(rows)


def record_index(*, record_id: int) -> RecordIndex | None:
    """Index (or re-index) one record. Returns its RecordIndex, or None when the record
    is not (yet) something to index."""
    record = Record.objects.filter(pk=record_id).select_related("case").first()
    if record is None:
        return None
    if not record.is_cleared:
        return None  # the scan decides first; the hook calls again once it is cleared
    index, _ = RecordIndex.objects.get_or_create(record=record)
    if not is_imaging(record):
        RecordIndex.objects.filter(pk=index.pk).update(
            state=RecordIndex.State.NOT_IMAGING, error="", skipped=[]
        )
        index.refresh_from_db()
        return index
    with tempfile.TemporaryDirectory(prefix="imaging-", dir=settings.FILE_UPLOAD_TEMP_DIR) as work:
        try:
            result = read_record(record, Path(work))
        except _Failed as exc:
            RecordIndex.objects.filter(pk=index.pk).update(
                state=RecordIndex.State.FAILED, error=exc.message[:300]
            )
            index.refresh_from_db()
            return index
        return _write(record, index, result)


def _write(record: Record, index: RecordIndex, result: dict[str, Any]) -> RecordIndex:
    headers: list[Header] = result["headers"]
    # Duplicates inside the record itself: the first copy wins.
    unique: dict[tuple[str, str], Header] = {}
    duplicates = 0
    for header in headers:
        key = (header.study_uid, header.sop_uid)
        if key in unique:
            duplicates += 1
        else:
            unique[key] = header
    known = _known_sops(record, list(unique.values()))
    stored: dict[tuple[str, str], str] = {}
    try:
        for key, header in unique.items():
            if key not in known:
                stored[key] = _store(header)
    except Exception:
        _delete_keys(list(stored.values()))
        raise
    firsts = _first_header_per_series(list(unique.values()))
    unused: list[str] = []
    try:
        with transaction.atomic():
            _lock_case(record.case_id)
            RecordIndex.objects.select_for_update().get(pk=index.pk)
            old = list(Instance.objects.filter(record=record).select_related("series__study"))
            touched_series = {i.series_id: i.series for i in old}
            Instance.objects.filter(pk__in=[i.pk for i in old]).delete()
            studies: dict[str, Study] = {}
            series_cache: dict[tuple[int, str], Series] = {}
            # Settle the series from the header that sorts first in each.
            for header in firsts.values():
                _series_for(_study_for(record, header, studies), header, series_cache)
            taken = set(
                Instance.objects.filter(
                    study__case_id=record.case_id, sop_uid__in=[k[1] for k in unique]
                ).values_list("study__study_uid", "sop_uid")
            )
            added = 0
            new_rows = []
            for key, header in unique.items():
                if key in taken or key not in stored:
                    duplicates += 1
                    if key in stored:
                        unused.append(stored.pop(key))
                    continue
                study = _study_for(record, header, studies)
                series = _series_for(study, header, series_cache)
                orientation = series.orientation if isinstance(series.orientation, list) else None
                new_rows.append(
                    Instance(
                        study=study,
                        series=series,
                        record=record,
                        sop_uid=header.sop_uid,
                        storage_key=stored[key],
                        size=header.size,
                        instance_number=header.instance_number,
                        position=slice_position(header, orientation),
                        frames=header.frames,
                        transfer_syntax=header.transfer_syntax,
                        rows=header.rows,
                        columns=header.columns,
                    )
                )
                touched_series[series.pk] = series
                added += 1
            Instance.objects.bulk_create(new_rows, batch_size=500)
            for series in touched_series.values():
                _refresh_series(series)
            empty = Series.objects.filter(pk__in=touched_series, instance_count=0)
            studies_touched = {s.study_id for s in touched_series.values()}
            empty.delete()
            for study in Study.objects.filter(pk__in=studies_touched):
                if not study.series.exists():
                    study.delete()
                else:
                    _refresh_study(study)
            skipped = result["skipped"]
            more = int(result.get("skipped_total", len(skipped))) - len(skipped)
            if more > 0:
                skipped = [*skipped, {"name": "…", "reason": f"and {more} more not listed"}]
            found = bool(added or duplicates)
            RecordIndex.objects.filter(pk=index.pk).update(
                state=RecordIndex.State.INDEXED if found else RecordIndex.State.NOT_IMAGING,
                instances_added=added,
                duplicates=duplicates,
                skipped=skipped,
                error="" if found else NO_IMAGES,
            )
            # The old rows' files go by imaging.signals (post_delete); these were stored
            # for this run and not used.
            transaction.on_commit(lambda: _delete_keys(unused))
    except Exception:
        _delete_keys(list(stored.values()) + unused)
        raise
    index.refresh_from_db()
    return index


def record_index_reset(*, record: Record) -> RecordIndex:
    """Mark a record for (re-)indexing; the caller queues the task after commit."""
    index, _ = RecordIndex.objects.get_or_create(record=record)
    RecordIndex.objects.filter(pk=index.pk).update(state=RecordIndex.State.PENDING, error="")
    index.refresh_from_db()
    return index
