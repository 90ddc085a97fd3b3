"""Writes of the imaging app that people trigger (the console's re-index)."""

from django.db import transaction

from accounts.models import User
from cases.models import TimelineEvent
from intake.models import Record

from .indexing import record_index_reset
from .models import RecordIndex
from .tasks import record_index


def index_after_commit(record_id: int) -> None:
    """Queue the record's indexing once the current transaction commits (the task reads the
    committed record). A pending row is made first, so the console lists the record while
    the task waits."""

    def queue() -> None:
        RecordIndex.objects.get_or_create(record_id=record_id)
        record_index.delay(record_id)

    transaction.on_commit(queue)


@transaction.atomic
def record_reindex_request(*, record: Record, by: User) -> RecordIndex:
    """Mark the record for indexing again and queue the task after commit."""
    index = record_index_reset(record=record)
    TimelineEvent.objects.create(
        case_id=record.case_id,
        actor=by,
        kind=TimelineEvent.Kind.NOTE,
        note=f"Imaging index requested again for a record ({record.get_kind_display()}).",
    )
    record_id = record.pk
    index_after_commit(record_id)
    return index
