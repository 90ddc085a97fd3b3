"""Demo imaging for ``seed_demo``: a synthetic head CT, delivered as a CD would be (a zip
with a DICOMDIR), on specialist@'s case in review (family@'s "Ada") and on family@'s
delivered case ("Noa"), where the physician sees it too. Indexed at once, so the study is
there when the seed ends. Safe to run again: a case that has the record is left alone.

The study (imaging.synthetic.demo_study): series 2, 120 axial slices of 512 x 512 at
0.5 mm pixels and 1.25 mm apart, with two markers exactly 60 mm apart on slice 61 (index
60) for the viewer's measuring test; series 3, 30 slices 5 mm apart in a bone window.
"""

import hashlib
import io

from django.core.files.base import ContentFile

from accounts.models import User
from cases.models import Case
from intake.models import Record
from intake.records import record_scan
from intake.scanning import clamd_address

from . import synthetic
from .indexing import record_index
from .models import RecordIndex

DEMO_NAME = "CT_head_from_CD.zip"
DEMO_CASES = (("family@example.com", "Ada"), ("family@example.com", "Noa"))


def _scan_or_mark_development(record: Record) -> None:

    if clamd_address() is not None:
        record_scan(record_id=record.pk)
        return
    # No scanner (make run): the explicit development state, shown as such on the page.
    Record.objects.filter(pk=record.pk).update(scan_status=Record.Scan.DEVELOPMENT)


def demo_imaging_ensure(people: dict[str, User]) -> list[Case]:
    cases = []
    for email, first in DEMO_CASES:
        case = (
            Case.objects.filter(family=people[email], intake__child_legal_first_name=first)
            .order_by("pk")
            .first()
        )
        if case is not None and not case.records.filter(original_name=DEMO_NAME).exists():
            cases.append(case)
    if not cases:
        return []
    buffer = io.BytesIO()
    synthetic.study_zip_with_dicomdir(synthetic.demo_study(), buffer)
    data = buffer.getvalue()
    for case in cases:
        record = Record(
            case=case,
            kind=Record.Kind.IMAGING,
            description="Head CT from the local hospital, copied from the CD",
            original_name=DEMO_NAME,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            content_type="application/zip",
            detected_kind="dicom_zip",
            state=Record.State.AVAILABLE,
            uploaded_by=case.family,
        )
        record.file.save("upload", ContentFile(data), save=False)
        record.save()
        _scan_or_mark_development(record)
        # A clean scan already queued the index (eager under make run: done by now); with
        # a worker it comes later and re-indexes the same rows. The seed ends indexed.
        if not RecordIndex.objects.filter(record=record, state=RecordIndex.State.INDEXED):
            record_index(record_id=record.pk)
    return cases
