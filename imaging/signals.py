"""The hook from the records pipeline: once a DICOM record is cleared by the scanner (clean,
or the development scanner state), index it after the transaction commits.

A post_save receiver rather than a call inside intake: the scan, the development scanner
mode and the demo seed all save the record's scan state, and each is then indexed.

And the way out: every Instance row deleted (its record or case deleted, a re-index, the
console) takes its stored files with it once the transaction commits. A post_delete
receiver rather than code in each delete path, because CASCADE reaches instances from
cases, records, studies and series alike.
"""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from intake.models import Record

from .indexing import is_imaging
from .models import Instance
from .services import index_after_commit
from .storage import keys_delete_on_commit


@receiver(post_save, sender=Record, dispatch_uid="imaging_index_cleared_record")
def record_saved(sender: Any, instance: Record, created: bool, **kwargs: Any) -> None:
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and not {"scan_status", "state"} & set(update_fields):
        return
    if not instance.is_cleared or not is_imaging(instance):
        return
    record_id = instance.pk
    index_after_commit(record_id)


@receiver(post_delete, sender=Instance, dispatch_uid="imaging_instance_files_deleted")
def instance_deleted(sender: Any, instance: Instance, **kwargs: Any) -> None:
    # Children's medical images: never left in the bucket once their row is gone.
    keys_delete_on_commit([instance.storage_key, instance.native_key or ""])
