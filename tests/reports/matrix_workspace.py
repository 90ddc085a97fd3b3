"""Access-matrix entries for the specialist workspace's case-scoped URLs (see tests/matrix.py).

The workspace is for the assigned specialist; coordinators may read the case page; families
and physicians, who may see the case in the portal, get 404 here. The matrix's case has an
empty intake, no question and no record: every view must cope.
"""

from cases.models import Status
from tests.matrix import Entry

SPECIALIST_ONLY = {"family": 404, "physician": 404, "coordinator": 404, "specialist": 200}


def specialist(status: int) -> dict[str, int]:
    return {**SPECIALIST_ONLY, "specialist": status}


ENTRIES: dict[str, Entry] = {
    "workspace_case": Entry(
        {"family": 404, "physician": 404, "coordinator": 200, "specialist": 200},
        status=Status.IN_REVIEW,
    ),
    "workspace_accept": Entry(specialist(302), method="post", status=Status.ASSIGNED),
    "workspace_decline": Entry(
        specialist(302),
        method="post",
        status=Status.ASSIGNED,
        data={"decline-reason": "Outside my field."},
    ),
    "workspace_ask": Entry(
        specialist(302),
        method="post",
        status=Status.IN_REVIEW,
        data={"ask-reason": "The echo report from March, please."},
    ),
    "report_edit": Entry(SPECIALIST_ONLY, object_type="report", status=Status.IN_REVIEW),
    # No report_uid posted: refused, nothing saved.
    "report_autosave": Entry(
        specialist(400), method="post", object_type="report", status=Status.IN_REVIEW
    ),
    "report_preview": Entry(SPECIALIST_ONLY, object_type="report", status=Status.IN_REVIEW),
    # Nothing posted: the editor comes back with the sign form's errors.
    "report_sign": Entry(
        specialist(400), method="post", object_type="report", status=Status.IN_REVIEW
    ),
    # No follow-up question on the case: the specialist is sent back to the case page.
    "addendum_edit": Entry(specialist(302), object_type="report", status=Status.DELIVERED),
    "addendum_autosave": Entry(
        specialist(400), method="post", object_type="report", status=Status.DELIVERED
    ),
    "addendum_preview": Entry(specialist(302), object_type="report", status=Status.DELIVERED),
    "addendum_sign": Entry(
        specialist(302), method="post", object_type="report", status=Status.DELIVERED
    ),
}
