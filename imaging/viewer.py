"""Server-side help for the study viewer: the DICOM header as JSON, and compressed instances
rewritten uncompressed, both parsed in the bounded child (``core.bounded``).

The browser viewer (cornerstone-core with dicom-parser, see static/vendor/cornerstone) reads
uncompressed pixel data only. Rather than ship JPEG/JPEG 2000/JPEG-LS/RLE codecs to the browser
(WebAssembly, and a ``'wasm-unsafe-eval'`` hole in the page's CSP), the server decodes such an
instance in the child with pydicom + pylibjpeg (already dependencies) and answers Explicit VR
Little Endian. The decoded bytes are kept in storage under a random key recorded on the
instance (``Instance.native_key``), so the child runs once per instance, not once per
request; the copy goes with the instance (``imaging.signals``). Most studies families send
are uncompressed and are streamed from storage untouched.

Nothing read from a file is logged; a file we cannot read is a refusal, never a 500.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core import bounded

from .models import Instance
from .storage import keys_delete, native_save, open_instance, open_native

logger = logging.getLogger(__name__)

# Transfer syntaxes the browser reads as they are.
EXPLICIT_LE = "1.2.840.10008.1.2.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
NATIVE = frozenset({EXPLICIT_LE, IMPLICIT_LE})

CHILD_SECONDS = 30.0
CHILD_MEMORY = 1536 * 1024 * 1024
_CHUNK = 1024 * 1024


class Unreadable(Exception):
    """The instance could not be read or decoded; the view answers 404 (or 422), not 500."""


@contextmanager
def instance_copy(instance: Instance) -> Iterator[Path]:
    """A private temporary copy of the stored instance, for the child to read."""
    with tempfile.NamedTemporaryFile(prefix="study-") as copy:
        try:
            with open_instance(instance) as source:
                while chunk := source.read(_CHUNK):
                    copy.write(chunk)
        except Exception as exc:  # storage unreachable or object missing: not a 500
            raise Unreadable from exc
        copy.flush()
        yield Path(copy.name)


def _run(op: str, path: Path, label: str) -> bytes:
    try:
        return bounded.run_script(
            "imaging.viewer_child:child_job",
            {"op": op, "path": str(path)},
            seconds=CHILD_SECONDS,
            memory_bytes=CHILD_MEMORY,
            label=label,
        )
    except (bounded.ChildRefused, bounded.ChildFailed) as exc:
        raise Unreadable from exc


def header_json(instance: Instance) -> bytes:
    """The instance's DICOM header (no pixel data) as JSON bytes, parsed in the child."""
    with instance_copy(instance) as path:
        return _run("header", path, "DICOM header")


def _cached_native(instance: Instance) -> bytes | None:
    if not instance.native_key:
        return None
    try:
        with open_native(instance) as cached:
            data: bytes = cached.read()
    except Exception:  # gone or unreachable: decode again (and cache anew below)
        return None
    return data or None


def _cache_native(instance: Instance, data: bytes) -> None:
    """Keep the decoded bytes for the next request. Best effort: a failure costs a decode."""
    try:
        key = native_save(data=data)
    except Exception:
        logger.warning("imaging: a decoded instance could not be cached (storage)")
        return
    old = instance.native_key
    # Only over the value we read: a concurrent request that cached first wins, and an
    # instance deleted meanwhile updates nothing; either way our copy is not kept.
    updated = Instance.objects.filter(pk=instance.pk, native_key=old).update(native_key=key)
    if not updated:
        keys_delete([key])
        return
    instance.native_key = key
    if old:  # a copy that could not be read just now
        keys_delete([old])


def native_bytes(instance: Instance) -> bytes:
    """The instance rewritten as Explicit VR Little Endian: the cached copy, else decoded in
    the child (and cached)."""
    cached = _cached_native(instance)
    if cached is not None:
        return cached
    with instance_copy(instance) as path:
        data = _run("native", path, "DICOM decode")
    _cache_native(instance, data)
    return data
