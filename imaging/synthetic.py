"""Synthetic, deterministic CT of a head phantom: for the demo case, the tests and the
benchmark. No real patient, correct geometry (so the viewer's measurements read in mm),
CT rescale and window values, and a CD-like zip with a DICOMDIR.

The phantom is a stack of ellipses (skull, brain, two ventricles) in Hounsfield units,
stored as unsigned values with RescaleIntercept -1024. ``markers`` puts two bright dots
exactly ``MARKER_DISTANCE_MM`` apart on one slice, for the viewer's measuring test.
"""

from __future__ import annotations

import hashlib
import io
import random
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.fileset import FileSet
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, CTImageStorage, ExplicitVRLittleEndian

UID_ROOT = "1.2.826.0.1.3680043.10.1447."  # a demo root: never seen on a real study
MARKER_DISTANCE_MM = 60.0
MARKER_HU = 3000
INTERCEPT = -1024
ZIP_DATE = (2026, 9, 15, 10, 15, 0)


def uid(*parts: object) -> str:
    """A deterministic UID from ``parts`` (same inputs, same UID)."""

    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()
    return (UID_ROOT + str(int(digest[:24], 16)))[:64]


@dataclass(frozen=True)
class SeriesSpec:
    number: int
    description: str
    slices: int
    size: int = 512
    spacing_mm: float = 0.5
    thickness_mm: float = 1.25
    window_center: float = 40.0
    window_width: float = 80.0
    # (slice index, row, first column): where the two markers go, if anywhere.
    marker_slice: int | None = None


@dataclass(frozen=True)
class StudySpec:
    key: str
    description: str = "CT head without contrast"
    study_date: str = "20260915"
    patient_name: str = "DEMO^PHANTOM"
    patient_id: str = "DEMO-0001"
    series: tuple[SeriesSpec, ...] = ()


def demo_study(key: str = "demo") -> StudySpec:
    return StudySpec(
        key=key,
        series=(
            SeriesSpec(
                number=2,
                description="Axial 1.25 mm brain",
                slices=120,
                thickness_mm=1.25,
                marker_slice=60,
            ),
            SeriesSpec(
                number=3,
                description="Axial 5 mm bone",
                slices=30,
                thickness_mm=5.0,
                window_center=600.0,
                window_width=2800.0,
            ),
        ),
    )


class Phantom:
    """The head in HU on a pixel grid; cheap per slice (one set of grids per size)."""

    def __init__(self, size: int, spacing_mm: float) -> None:
        half = size * spacing_mm / 2
        centers = (np.arange(size) + 0.5) * spacing_mm - half
        self.x, self.y = np.meshgrid(centers, centers)  # mm from the centre
        self.size = size

    def slice_hu(self, z_mm: float, half_height_mm: float = 90.0) -> np.ndarray:
        image = np.full((self.size, self.size), -1000.0, dtype=np.float32)
        scale = 1.0 - (z_mm / half_height_mm) ** 2
        if scale <= 0.0:
            return image
        shrink = float(np.sqrt(scale))
        a, b = 75.0 * shrink, 95.0 * shrink  # half-axes of the head, mm
        outer = (self.x / a) ** 2 + (self.y / b) ** 2
        inner = (self.x / (a - 6)) ** 2 + (self.y / (b - 6)) ** 2
        image[outer <= 1.0] = 1000.0  # skull
        image[inner <= 1.0] = 35.0  # brain
        if abs(z_mm) < 40:
            for side in (-1, 1):
                ventricle = ((self.x - side * 12) / 7) ** 2 + ((self.y + 5) / 22) ** 2
                image[ventricle <= 1.0] = 5.0
        return image


def _marker_columns(spec: SeriesSpec) -> tuple[int, int, int]:
    """Row and the two columns of the markers' centre pixels, MARKER_DISTANCE_MM apart."""
    offset = round(MARKER_DISTANCE_MM / spec.spacing_mm)
    row = spec.size // 2
    first = (spec.size - offset) // 2
    return row, first, first + offset


def _dataset(study: StudySpec, spec: SeriesSpec, index: int, pixels: np.ndarray) -> Dataset:
    series_uid = uid(study.key, "series", spec.number)
    sop_uid = uid(study.key, "instance", spec.number, index)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = uid(study.key, "study")
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = uid(study.key, "frame")
    ds.PatientName = study.patient_name
    ds.PatientID = study.patient_id
    ds.PatientBirthDate = "20150301"
    ds.PatientSex = "O"
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = study.study_date
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = "101500"
    ds.StudyID = "1"
    ds.AccessionNumber = "DEMO1"
    ds.StudyDescription = study.description
    ds.SeriesDescription = spec.description
    ds.Modality = "CT"
    ds.BodyPartExamined = "HEAD"
    ds.Manufacturer = "Synthetic phantom"
    ds.SeriesNumber = spec.number
    ds.InstanceNumber = index + 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    half = spec.size * spec.spacing_mm / 2
    z = _z(spec, index)
    ds.ImagePositionPatient = [
        f"{-half + spec.spacing_mm / 2:g}",
        f"{-half + spec.spacing_mm / 2:g}",
        f"{z:g}",
    ]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.SliceLocation = f"{z:g}"
    ds.SliceThickness = f"{spec.thickness_mm:g}"
    ds.SpacingBetweenSlices = f"{spec.thickness_mm:g}"
    ds.PixelSpacing = [f"{spec.spacing_mm:g}", f"{spec.spacing_mm:g}"]
    ds.KVP = "120"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = spec.size
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = str(INTERCEPT)
    ds.RescaleSlope = "1"
    ds.RescaleType = "HU"
    ds.WindowCenter = f"{spec.window_center:g}"
    ds.WindowWidth = f"{spec.window_width:g}"
    ds.PixelData = pixels.tobytes()
    return ds


def _z(spec: SeriesSpec, index: int) -> float:
    # Slices centred on the head, feet-to-head (z grows towards the head).
    return (index - (spec.slices - 1) / 2) * spec.thickness_mm


def series_datasets(study: StudySpec, spec: SeriesSpec) -> Iterator[Dataset]:
    phantom = Phantom(spec.size, spec.spacing_mm)
    for index in range(spec.slices):
        hu = phantom.slice_hu(_z(spec, index))
        if spec.marker_slice == index:
            row, first, second = _marker_columns(spec)
            for column in (first, second):
                hu[row - 1 : row + 2, column - 1 : column + 2] = MARKER_HU
        stored = np.clip(hu - INTERCEPT, 0, 4095).astype(np.uint16)
        yield _dataset(study, spec, index, stored)


def dicom_bytes(ds: Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def study_files(study: StudySpec) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every instance of ``study``, in a shuffled (seeded) order: a zip's
    order says nothing about the slices' order."""
    names: list[tuple[str, Dataset]] = []
    for spec in study.series:
        for number, ds in enumerate(series_datasets(study, spec)):
            names.append((f"S{spec.number:02d}/IM{number:05d}.dcm", ds))
    random.Random(study.key).shuffle(names)  # noqa: S311 - a test order, not a secret
    for name, ds in names:
        yield name, dicom_bytes(ds)


def study_zip_with_dicomdir(study: StudySpec, target: Path | io.BytesIO) -> None:
    """The study as a CD would hold it: a DICOMDIR and PT/ST/SE folders, zipped."""
    with tempfile.TemporaryDirectory(prefix="cd-") as folder:
        fileset = FileSet()
        fileset.ID = "DEMO_CD"
        fileset.UID = UID(uid(study.key, "fileset"))
        for spec in study.series:
            for ds in series_datasets(study, spec):
                fileset.add(ds)
        fileset.write(folder)
        # pydicom leaves its staging directory to the garbage collector, which warns
        # (ResourceWarning); remove it now.
        stage = getattr(fileset, "_stage", {}).get("t")
        if stage is not None:
            stage.cleanup()
        root = Path(folder)
        with zipfile.ZipFile(target, "w") as archive:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    # A fixed date, so the same study zips to the same bytes.
                    info = zipfile.ZipInfo(path.relative_to(root).as_posix(), ZIP_DATE)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, path.read_bytes(), compresslevel=1)


def plain_zip(files: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in files:
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=1)
    return out.getvalue()
