"""Writes of the imaging app that people trigger (the console's re-index)."""

from django.db import transaction

from accounts.models import User
from cases.models import TimelineEvent
from intake.models import Record

from .indexing import record_index_reset
from .models import RecordIndex


def _queue(record_id: int) -> None:
    from .tasks import record_index

    record_index.delay(record_id)


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
    transaction.on_commit(lambda: _queue(record_id))
    return index
