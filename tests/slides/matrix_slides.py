"""Access-matrix entries for the slide viewer (see tests/matrix.py).

The page is for everyone who may see the case's records (it is read-only); the descriptor
and tiles are not under the case reference: they are authorised by the page's grant and
have their own persona tests in tests/slides/test_slides.py."""

from typing import Any

from cases.models import Case, Status
from intake.models import Record
from slides.demo import demo_slide_record
from tests.matrix import ALL_200, Entry


def slide_kwargs(case: Case) -> dict[str, Any]:
    """A cleared demo slide on ``case``; the kwargs naming it."""
    record = demo_slide_record(case, by=case.family, scan=Record.Scan.CLEAN)
    return {"record_uid": record.uid}


ENTRIES: dict[str, Entry] = {
    "slides:viewer": Entry(
        ALL_200, object_type="record", status=Status.IN_REVIEW, kwargs=slide_kwargs
    ),
    "slides:grant": Entry(
        ALL_200, object_type="record", status=Status.IN_REVIEW, kwargs=slide_kwargs
    ),
}
