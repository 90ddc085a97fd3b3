"""A real multi-series DICOM study for PACS tests: generated with pydicom and numpy
(consistent geometry, fresh UIDs every time), stored as imaging rows and files the way the
indexer stores them."""

import hashlib
from io import BytesIO
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    generate_uid,
)

from imaging.models import Instance, Series, Study
from imaging.storage import instance_save
from intake.models import Record


def dicom_slice(
    *, study_uid: str, series_uid: str, series_number: int, index: int, size: int = 16
) -> bytes:
    sop_uid = generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.Modality = "CT"
    ds.PatientName = "Test^Pacs"
    ds.PatientID = "PACS-TEST"
    ds.StudyDate = "20261201"
    ds.StudyDescription = "CT chest"
    ds.SeriesDescription = f"Series {series_number}"
    ds.SeriesNumber = series_number
    ds.InstanceNumber = index + 1
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [0, 0, float(index) * 2.5]
    ds.PixelSpacing = [0.7, 0.7]
    ds.SliceThickness = 2.5
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    pixels = (np.arange(size * size, dtype=np.uint16).reshape(size, size) + index) % 4096
    ds.PixelData = pixels.tobytes()
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def build_study(
    *, case: Any, uploaded_by: Any, series: int = 2, per_series: int = 10, scan: str = "clean"
) -> Study:
    """A study of ``series`` x ``per_series`` CT slices on ``case``, from one cleared record."""
    study_uid = generate_uid()
    record = Record.objects.create(
        case=case,
        kind=Record.Kind.IMAGING,
        original_name="study.zip",
        size=0,
        sha256=hashlib.sha256(study_uid.encode()).hexdigest(),
        state=Record.State.AVAILABLE,
        scan_status=scan,
        uploaded_by=uploaded_by,
    )
    study = Study.objects.create(
        case=case, study_uid=study_uid, description="CT chest", modalities="CT"
    )
    for number in range(1, series + 1):
        row = Series.objects.create(
            study=study,
            series_uid=generate_uid(),
            modality="CT",
            number=number,
            instance_count=per_series,
            frame_count=per_series,
        )
        for index in range(per_series):
            data = dicom_slice(
                study_uid=study_uid, series_uid=row.series_uid, series_number=number, index=index
            )
            sop_uid = str(pydicom.dcmread(BytesIO(data), stop_before_pixels=True).SOPInstanceUID)
            Instance.objects.create(
                study=study,
                series=row,
                record=record,
                sop_uid=sop_uid,
                storage_key=instance_save(data=data),
                size=len(data),
                instance_number=index + 1,
                position=index * 2.5,
                sort_index=index,
            )
    return study
