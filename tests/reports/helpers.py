"""Shared set-up for report tests: a case in review with questions and a clean record; a
DICOM file made by pydicom (the record viewer and the browser viewer tests open it)."""

import io
from datetime import date
from typing import Any

import numpy as np
from django.core.files.base import ContentFile
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import UID, CTImageStorage, ExplicitVRLittleEndian, generate_uid

from accounts.models import SpecialistProfile, User
from cases.models import Case, Status
from intake.models import Intake, Question, Record
from reports.models import SECTIONS, Report
from tests.conftest import TOTP_SECRET, totp_now
from tests.factories import CaseFactory

QUESTIONS = (
    "Is the diagnosis of Kawasaki disease right?",
    "Should she have the second dose of IVIG?",
)


def case_in_review(family: User, specialist: User, **kwargs: Any) -> Case:
    SpecialistProfile.objects.update_or_create(
        user=specialist,
        defaults={"title": "Attending Cardiologist", "credentials": "MD, PhD"},
    )
    case: Case = CaseFactory(
        family=family, assigned_specialist=specialist, status=Status.IN_REVIEW, **kwargs
    )
    Intake.objects.create(
        case=case,
        child_legal_first_name="Sofia",
        child_legal_last_name="Lopez",
        child_date_of_birth=date(2019, 4, 2),
        physician_name="Dr. Priya Shah",
        physician_practice="Valley Pediatrics",
        diagnosis="Kawasaki disease",
        recommended_treatment="A second dose of IVIG",
    )
    for position, text in enumerate(QUESTIONS, start=1):
        Question.objects.create(case=case, position=position, text=text, asked_by=family)
    record = Record(
        case=case,
        kind=Record.Kind.LAB_RESULTS,
        original_name="labs.pdf",
        size=9,
        state=Record.State.AVAILABLE,
        scan_status=Record.Scan.CLEAN,
        uploaded_by=family,
        content_type="application/pdf",
    )
    record.file.save("x", ContentFile(b"%PDF-1.4\n"), save=False)
    record.save()
    return case


def filled_sections(marker: str = "") -> dict[str, str]:
    return {name: f"{heading} text {marker}".strip() for name, heading, *_ in SECTIONS}


def fill(report: Report, by: User, marker: str = "") -> Report:
    from reports.services import draft_save

    return draft_save(
        report=report,
        by=by,
        revision=report.revision,
        sections=filled_sections(marker),
        answers={a.position: f"Answer {a.position} {marker}".strip() for a in report.answers.all()},
    )


def code() -> str:
    return totp_now(TOTP_SECRET)


def dicom_bytes(
    *,
    frames: int = 1,
    rows: int = 64,
    columns: int = 96,
    photometric: str = "MONOCHROME2",
    transfer_syntax: UID = ExplicitVRLittleEndian,
    window: tuple[float, float] | None = None,
    intercept: float = -1024,
    pixels: np.ndarray | None = None,
) -> bytes:
    """A CT image in DICOM Part 10: 16-bit, 12 stored, by default a left-to-right gradient."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = transfer_syntax
    ds = FileDataset("scan.dcm", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = "Lopez^Sofia"
    ds.PatientID = "MRN-0042"
    ds.PatientBirthDate = "20150704"
    ds.Modality = "CT"
    ds.StudyDate = "20260301"
    ds.StudyDescription = "CT CHEST W/O CONTRAST"
    ds.SeriesDescription = "Axial 1.25mm"
    ds.BodyPartExamined = "CHEST"
    ds.Manufacturer = "Acme Medical"
    ds.SliceThickness = "1.25"
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    ds.RescaleSlope, ds.RescaleIntercept = 1, intercept
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    if pixels is None:
        gradient = np.linspace(0, 4095, columns).astype(np.uint16)
        pixels = np.tile(gradient, (rows, 1))
        if frames > 1:
            pixels = np.stack([pixels] * frames)
    if frames > 1:
        ds.NumberOfFrames = frames
    if transfer_syntax.is_compressed:
        # The syntax says JPEG-LS; no decoder for it is installed, and the bytes are junk.
        ds.PixelData = encapsulate([b"\xff\xd8 not really JPEG-LS \xff\xd9"] * frames)
    else:
        ds.PixelData = pixels.astype(np.uint16).tobytes()
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()
