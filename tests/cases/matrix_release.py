"""Access-matrix entries for this module's case-scoped URLs (see tests/matrix.py)."""

from tests.matrix import Entry

ENTRIES: dict[str, Entry] = {}
