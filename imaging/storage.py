"""Where the DICOM instances live: the private default storage, under random keys."""

import secrets
from typing import IO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from .models import Instance


def instance_key() -> str:
    # Random and meaningless, as record keys are: no UIDs (they can identify a patient).
    return f"imaging/{secrets.token_hex(16)}.dcm"


def instance_save(*, data: bytes) -> str:
    return default_storage.save(instance_key(), ContentFile(data))


def instance_delete(*, key: str) -> None:
    default_storage.delete(key)


def open_instance(instance: Instance) -> IO[bytes]:
    """The stored DICOM file of an instance, opened for reading (caller closes it)."""
    return default_storage.open(instance.storage_key, "rb")
