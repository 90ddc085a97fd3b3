"""Access-matrix entries for the study viewer's case-scoped URL (see tests/matrix.py).

The page is for the assigned specialist, coordinators and the case's physician (read-only);
families get 404, as in the record viewer. The instance and header URLs it then calls are not
case-scoped: they carry the page's grant (tests/imaging/test_viewer_http.py)."""

from typing import Any

from cases.models import Case, Status
from tests.matrix import Entry

from .builders import build_study

STUDY_VIEWERS = {"family": 404, "physician": 200, "coordinator": 200, "specialist": 200}


def study_kwargs(case: Case) -> dict[str, Any]:
    return {"study_id": build_study(case, slices=2, size=32).study.pk}


ENTRIES: dict[str, Entry] = {
    "study_viewer": Entry(
        STUDY_VIEWERS, object_type="study", status=Status.IN_REVIEW, kwargs=study_kwargs
    ),
}
