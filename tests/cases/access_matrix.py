"""The access matrix's core entries: every case-scoped URL of the kernel, intake and billing,
with the status each persona gets (tests/cases/test_access_matrix.py walks it; the other
apps add theirs through ``tests.matrix.extra_entries``). A module of its own, not the test
file, because tests/cases/test_posted_ids.py walks the same URLs."""

from typing import Any

from cases.models import Case, Status
from tests.billing.helpers import make_free, make_paid
from tests.matrix import ALL_200, Entry, extra_entries, matrix_record

_record = matrix_record


LAB_TEXT = b"Haemoglobin 12.1 g/dL\nPlatelets 250 x10^9/L\n"


def _upload(case: Case) -> dict[str, Any]:
    """A large-file upload under way on ``case``, its one part already in S3."""
    from intake import uploads
    from intake.records import record_start_direct_upload

    record = record_start_direct_upload(
        case=case, by=case.family, name="labs.txt", size=len(LAB_TEXT), kind="lab_results"
    )
    uploads.multipart_create(record=record)
    client, bucket = uploads._s3()
    client.upload_part(
        Bucket=bucket,
        Key=record.file.name,
        UploadId=record.multipart_upload_id,
        PartNumber=1,
        Body=LAB_TEXT,
    )
    return {"uid": record.uid}


def _uploaders(status: int) -> dict[str, int]:
    # The specialist sees the case but does not add records: the gate's audited 404.
    return {"family": status, "physician": status, "coordinator": status, "specialist": 404}


# Receipts carry the guardian's name, card and amounts: family and coordinator only.
DOCUMENTS = {"family": 200, "physician": 404, "coordinator": 200, "specialist": 404}

MATRIX: dict[str, Entry] = {
    "case_detail": Entry(ALL_200),
    "intake_step": Entry(
        {"family": 200, "physician": 302, "coordinator": 302, "specialist": 302},
        status=Status.DRAFT,
        object_type="intake",
        kwargs=lambda case: {"step": "start"},
    ),
    "questions_action": Entry(
        {"family": 302, "physician": 302, "coordinator": 404, "specialist": 404},
        method="post",
        object_type="question",
        data={"action": "add", "text": "A question from the matrix test?"},
    ),
    "record_upload": Entry(
        {"family": 400, "physician": 400, "coordinator": 400, "specialist": 404},
        method="post",
        object_type="record",
        data={"kind": "other"},
    ),
    "record_download": Entry(ALL_200, object_type="record", kwargs=_record),
    "uploads:create": Entry(
        _uploaders(201),
        method="post",
        object_type="record",
        data={"name": "scan.dcm", "size": 1024, "kind": "imaging"},
    ),
    "uploads:status": Entry(_uploaders(200), object_type="record", kwargs=_upload),
    "uploads:list_parts": Entry(_uploaders(200), object_type="record", kwargs=_upload),
    "uploads:sign_part": Entry(
        _uploaders(200),
        object_type="record",
        kwargs=lambda case: {**_upload(case), "part_number": 1},
    ),
    "uploads:complete": Entry(_uploaders(200), method="post", object_type="record", kwargs=_upload),
    "uploads:abort": Entry(_uploaders(200), method="post", object_type="record", kwargs=_upload),
    "receipt_pdf": Entry(
        DOCUMENTS, object_type="receipt", kwargs=make_paid, status=Status.ASSIGNED
    ),
    "superbill_pdf": Entry(
        DOCUMENTS, object_type="superbill", kwargs=make_paid, status=Status.ASSIGNED
    ),
    "no_charge_pdf": Entry(DOCUMENTS, object_type="statement", kwargs=make_free),
    "billing:pay": Entry(
        {"family": 302, "physician": 404, "coordinator": 404, "specialist": 404},
        object_type="payment",
    ),
    "billing:card_remove": Entry(
        {"family": 302, "physician": 404, "coordinator": 404, "specialist": 404},
        method="post",
        object_type="card",
    ),
    "case_confirm": Entry(
        {"family": 302, "physician": 404, "coordinator": 404, "specialist": 404}, method="post"
    ),
    "case_withdraw": Entry(
        {"family": 302, "physician": 404, "coordinator": 404, "specialist": 404}, method="post"
    ),
    "case_in_person": Entry(
        {"family": 302, "physician": 404, "coordinator": 404, "specialist": 404}, method="post"
    ),
    "case_messages": Entry(
        {"family": 200, "physician": 200, "coordinator": 200, "specialist": 404},
        object_type="message",
        data={"thread": "coordinator"},
    ),
    "guardians_action": Entry(
        {"family": 302, "physician": 404, "coordinator": 404, "specialist": 404},
        method="post",
        object_type="guardian",
        data={"action": "invite", "email": "grandma@example.com"},
    ),
}

MATRIX.update(extra_entries())
