"""The access matrix's entry type, shared by the modules that list case-scoped URLs.

``tests/cases/test_access_matrix.py`` holds the core entries; each app whose URLs live
under ``<reference>`` lists its own in a ``matrix_*.py`` module named in ``ENTRY_MODULES``
(a dict ``ENTRIES``), so every case-scoped URL is still checked by the one matrix test.
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.files.base import ContentFile

from cases.models import Case, Status
from intake.models import Record

INSIDE = ("family", "physician", "coordinator", "specialist")
OUTSIDE = ("other_family", "other_physician", "other_specialist")

ENTRY_MODULES = (
    "tests.intake.matrix_release",
    "tests.reports.matrix_viewer",
    "tests.reports.matrix_reports",
    "tests.reports.matrix_workspace",
    "tests.slides.matrix_slides",
    "tests.imaging.matrix_viewer",
)


@dataclass
class Entry:
    expect: dict[str, int]  # status per inside persona
    method: str = "get"
    object_type: str = "case"
    status: Status = Status.SUBMITTED
    kwargs: Callable[[Case], dict[str, Any]] = field(default=lambda case: {})
    data: dict[str, Any] = field(default_factory=dict)


ALL_200 = dict.fromkeys(INSIDE, 200)


def extra_entries() -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for name in ENTRY_MODULES:
        module_entries = importlib.import_module(name).ENTRIES
        overlap = set(entries) & set(module_entries)
        assert not overlap, f"{name} repeats matrix entries {overlap}"
        entries.update(module_entries)
    return entries


def matrix_record(case: Case) -> dict[str, Any]:
    """A clean, available PDF record on ``case``; the kwargs naming it."""
    record = Record(
        case=case,
        kind="lab_results",
        original_name="labs.pdf",
        size=9,
        state=Record.State.AVAILABLE,
        scan_status=Record.Scan.CLEAN,
        uploaded_by=case.family,
        content_type="application/pdf",
    )
    record.file.save("x", ContentFile(b"%PDF-1.4\n"), save=False)
    record.save()
    return {"record_uid": record.uid}


def close_file(response: Any) -> None:
    """Close a file response's file. response.close() would also fire request_finished,
    which closes the test's database connection, so close only the file."""
    for closer in getattr(response, "_resource_closers", []):
        closer()
