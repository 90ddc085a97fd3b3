"""Generated imaging studies for the study viewer's tests and benchmark.

``ct_series`` writes real DICOM files (pydicom + numpy): a stack of axial CT slices with
consistent ImagePositionPatient, ImageOrientationPatient and PixelSpacing, each with two
bright markers ``marker_mm`` apart on one row, so a length measured in the browser can be
checked against a known distance. ``build_study`` stores them in the private storage
(``imaging.storage.instance_save``) and makes the Study, Series and Instance rows the indexer
would make, tied to one clean record on the case.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.files.base import ContentFile
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    RLELossless,
    UltrasoundMultiFrameImageStorage,
    generate_uid,
)

from cases.models import Case
from imaging.models import Instance, Series, Study
from imaging.storage import instance_save
from intake.models import Record

SPACING_MM = 0.5
MARKER_MM = 60.0


@dataclass
class Built:
    study: Study
    series: Series
    instances: list[Instance]
    record: Record
    # Pixel (column, row) of the two markers, the same on every slice.
    markers: tuple[tuple[int, int], tuple[int, int]]


def _base(modality: str, sop_class: str, study_uid: str, series_uid: str) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.Modality = modality
    ds.PatientName = "Test^Viewer"
    ds.PatientID = "TEST-0001"
    ds.StudyDescription = "Generated study"
    ds.StudyDate = "20261201"
    return ds


def ct_slice(
    number: int,
    *,
    size: int = 256,
    spacing: float = SPACING_MM,
    marker_mm: float = MARKER_MM,
    study_uid: str,
    series_uid: str,
    compressed: bool = False,
) -> tuple[bytes, tuple[tuple[int, int], tuple[int, int]]]:
    """One CT slice as DICOM bytes, and the pixel positions of its two markers."""
    ds = _base("CT", CTImageStorage, study_uid, series_uid)
    ds.SeriesDescription = "Axial generated"
    ds.SeriesNumber = 2
    ds.InstanceNumber = number + 1
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [0, 0, float(number) * 2.5]
    ds.SliceThickness = 2.5
    ds.PixelSpacing = [spacing, spacing]
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.WindowCenter = 40
    ds.WindowWidth = 400
    # A soft-tissue disc whose radius changes with the slice, on air; then two markers.
    yy, xx = np.mgrid[0:size, 0:size]
    radius = size * (0.25 + 0.15 * np.sin(number / 7.0))
    pixels = np.where((xx - size / 2) ** 2 + (yy - size / 2) ** 2 < radius**2, 1064, 24)
    pixels = pixels.astype(np.int16)
    gap = round(marker_mm / spacing)
    row = size // 4
    left = (size - gap) // 2
    markers = ((left, row), (left + gap, row))
    if left < 1:
        # Too small an image for the markers (small files for quick tests): none drawn.
        markers = ((0, 0), (0, 0))
    else:
        for x, y in markers:
            pixels[y - 1 : y + 2, x - 1 : x + 2] = 3000
    ds.PixelData = pixels.tobytes()
    if compressed:
        ds.compress(RLELossless, pixels)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue(), markers


def us_cine(*, frames: int = 8, size: int = 64, study_uid: str, series_uid: str) -> bytes:
    """A multi-frame RGB ultrasound clip."""
    ds = _base("US", UltrasoundMultiFrameImageStorage, study_uid, series_uid)
    ds.SeriesDescription = "Cine loop"
    ds.SeriesNumber = 5
    ds.InstanceNumber = 1
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel = 3
    ds.PlanarConfiguration = 0
    ds.PhotometricInterpretation = "RGB"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.NumberOfFrames = frames
    ds.FrameTime = 40
    data = np.zeros((frames, size, size, 3), dtype=np.uint8)
    for f in range(frames):
        data[f, :, : (f + 1) * size // frames, 0] = 200
    ds.PixelData = data.tobytes()
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def clean_record(case: Case, *, scan: str = Record.Scan.CLEAN, name: str = "ct.zip") -> Record:
    record = Record(
        case=case,
        kind="imaging",
        original_name=name,
        size=4,
        state=Record.State.AVAILABLE,
        scan_status=Record.Scan.PENDING,
        uploaded_by=case.family,
        content_type="application/zip",
        detected_kind="dicom_zip",
    )
    record.file.save("x", ContentFile(b"PK\x05\x06"), save=False)
    record.save()
    # The scan result by update(), not save(): no post_save, so the imaging indexer is not
    # queued for this stand-in file; the rows it would make are made here instead.
    Record.objects.filter(pk=record.pk).update(scan_status=scan)
    record.scan_status = scan
    return record


def build_study(
    case: Case,
    *,
    slices: int = 5,
    size: int = 256,
    spacing: float = SPACING_MM,
    scan: str = Record.Scan.CLEAN,
    compressed: bool = False,
    with_cine: bool = False,
) -> Built:
    """A CT study of ``slices`` slices (and optionally an ultrasound clip) stored on ``case``."""
    record = clean_record(case, scan=scan)
    study_uid, series_uid = generate_uid(), generate_uid()
    study = Study.objects.create(
        case=case,
        study_uid=study_uid,
        description="Generated study",
        modalities="CT/US" if with_cine else "CT",
        body_part="HEAD",
    )
    series = Series.objects.create(
        study=study,
        series_uid=series_uid,
        modality="CT",
        description="Axial generated",
        number=2,
        rows=size,
        columns=size,
        pixel_spacing_row=spacing,
        pixel_spacing_col=spacing,
        slice_thickness=2.5,
        frame_count=slices,
        instance_count=slices,
        window_center=40,
        window_width=400,
        orientation=[1, 0, 0, 0, 1, 0],
    )
    instances = []
    markers: Any = None
    for n in range(slices):
        data, markers = ct_slice(
            n,
            size=size,
            spacing=spacing,
            study_uid=study_uid,
            series_uid=series_uid,
            compressed=compressed,
        )
        instances.append(
            Instance.objects.create(
                study=study,
                series=series,
                record=record,
                sop_uid=generate_uid(),
                storage_key=instance_save(data=data),
                size=len(data),
                instance_number=n + 1,
                position=n * 2.5,
                sort_index=n,
                frames=1,
                transfer_syntax=RLELossless if compressed else ExplicitVRLittleEndian,
                rows=size,
                columns=size,
            )
        )
    if with_cine:
        cine_uid = generate_uid()
        data = us_cine(study_uid=study_uid, series_uid=cine_uid)
        cine = Series.objects.create(
            study=study,
            series_uid=cine_uid,
            modality="US",
            description="Cine loop",
            number=5,
            rows=64,
            columns=64,
            frame_count=8,
            instance_count=1,
        )
        Instance.objects.create(
            study=study,
            series=cine,
            record=record,
            sop_uid=generate_uid(),
            storage_key=instance_save(data=data),
            size=len(data),
            instance_number=1,
            sort_index=0,
            frames=8,
            transfer_syntax=ExplicitVRLittleEndian,
            rows=64,
            columns=64,
        )
    return Built(study, series, instances, record, markers)
