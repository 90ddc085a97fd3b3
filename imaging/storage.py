"""Where the DICOM instances live: the private default storage, under random keys.

Two kinds of object per instance: the file as sent (``storage_key``) and, for a compressed
instance the study viewer has decoded once, its uncompressed copy (``native_key``). Both go
when the instance row goes (``imaging.signals``), after the transaction commits."""

import logging
import secrets
from collections.abc import Iterable
from typing import IO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from .models import Instance

logger = logging.getLogger(__name__)


def instance_key() -> str:
    # Random and meaningless, as record keys are: no UIDs (they can identify a patient).
    return f"imaging/{secrets.token_hex(16)}.dcm"


def native_key() -> str:
    return f"imaging/native/{secrets.token_hex(16)}.dcm"


def instance_save(*, data: bytes) -> str:
    return default_storage.save(instance_key(), ContentFile(data))


def native_save(*, data: bytes) -> str:
    return default_storage.save(native_key(), ContentFile(data))


def keys_delete(keys: Iterable[str]) -> int:
    """Delete stored objects, each on its own: a storage error leaves an orphan (logged,
    without the key or anything about the patient) and never stops the others. Returns
    how many could not be deleted."""
    failed = 0
    for key in keys:
        if not key:
            continue
        try:
            default_storage.delete(key)
        except Exception:  # S3 down or refusing: the rows are gone either way
            failed += 1
    if failed:
        logger.warning("imaging: %d stored object(s) could not be deleted", failed)
    return failed


def keys_delete_on_commit(keys: Iterable[str]) -> None:
    """Delete the objects once the transaction that removed their rows commits (never if it
    rolls back: the rows, and so the files, are still there)."""
    batch = [k for k in keys if k]
    if batch:
        transaction.on_commit(lambda: keys_delete(batch))


def open_instance(instance: Instance) -> IO[bytes]:
    """The stored DICOM file of an instance, opened for reading (caller closes it)."""
    return default_storage.open(instance.storage_key, "rb")


def open_native(instance: Instance) -> IO[bytes]:
    """The cached uncompressed copy of a compressed instance (caller closes it)."""
    if not instance.native_key:
        raise FileNotFoundError("not decoded yet")
    return default_storage.open(instance.native_key, "rb")
