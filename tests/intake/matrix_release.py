"""Access-matrix entries for this module's case-scoped URLs (see tests/matrix.py)."""

from typing import Any

from cases.models import Case, RecordRequest, Status
from tests.matrix import Entry


def outside_provider_request(case: Case) -> dict[str, Any]:
    """A record request of an outside provider on ``case``; the kwargs naming it. The case
    may have an empty intake: the form then has blanks to fill in by hand."""
    record_request = RecordRequest.objects.create(
        case=case,
        what="MRI brain report, January 2026",
        requested_from=RecordRequest.From.PROVIDER,
        provider_name="Valley Imaging Center",
        provider_contact="Fax 555-0100",
        created_by=case.created_by,
    )
    return {"request_id": record_request.pk}


ENTRIES: dict[str, Entry] = {
    # The form carries the guardian's address and phone: family and coordinator only.
    "release_authorisation": Entry(
        {"family": 200, "physician": 404, "coordinator": 200, "specialist": 404},
        object_type="release_authorisation",
        status=Status.AWAITING_RECORDS,
        kwargs=outside_provider_request,
    ),
}
