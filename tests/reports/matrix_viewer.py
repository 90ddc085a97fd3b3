"""Access-matrix entries for this module's case-scoped URLs (see tests/matrix.py).

The viewer is for the assigned specialist and coordinators; families and physicians, who may
see the case, still get 404 here (they use the portal's download)."""

from typing import Any

from django.core.files.base import ContentFile

from cases.models import Case, Status
from intake.models import Record
from tests.matrix import Entry

VIEWERS = {"family": 404, "physician": 404, "coordinator": 200, "specialist": 200}


def tiny_pdf(pages: int, *, width: int = 612, height: int = 792) -> bytes:
    """A real PDF of ``pages`` pages, each saying "Page n" in Helvetica, with a correct xref."""
    font = 3 + 2 * pages
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % (3 + 2 * i) for i in range(pages)), pages),
    ]
    for i in range(pages):
        content = b"BT /F1 48 Tf 72 %d Td (Page %d) Tj ET" % (height - 120, i + 1)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
            b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (width, height, 4 + 2 * i, font)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def stored_record(
    case: Case,
    content: bytes,
    *,
    name: str = "labs.pdf",
    detected_kind: str = "pdf",
    content_type: str = "application/pdf",
    kind: str = "lab_results",
    scan: str = Record.Scan.CLEAN,
) -> Record:
    """An available record on ``case`` whose stored bytes are ``content``."""
    record = Record(
        case=case,
        kind=kind,
        original_name=name,
        size=len(content),
        state=Record.State.AVAILABLE,
        scan_status=scan,
        uploaded_by=case.family,
        content_type=content_type,
        detected_kind=detected_kind,
    )
    record.file.save("x", ContentFile(content), save=False)
    record.save()
    return record


def viewer_pdf(case: Case) -> dict[str, Any]:
    """A clean two-page PDF record on ``case``; the kwargs naming it."""
    return {"record_uid": stored_record(case, tiny_pdf(2)).uid}


ENTRIES: dict[str, Entry] = {
    "viewer_record": Entry(
        VIEWERS, object_type="record", status=Status.IN_REVIEW, kwargs=viewer_pdf
    ),
    "viewer_preview": Entry(
        VIEWERS,
        object_type="record",
        status=Status.IN_REVIEW,
        kwargs=lambda case: {**viewer_pdf(case), "page": 1},
    ),
}
