"""Indexing real DICOM (pydicom's test files) and generated series into studies, series
and stored instances: geometry, order, compressed syntaxes, multi-frame, duplicates, CD
layouts, and re-indexing."""

import io
import random
from typing import Any

import pydicom
import pytest
from django.core.files.storage import default_storage

from imaging import synthetic
from imaging.indexing import record_index
from imaging.models import Instance, RecordIndex, Series, Study
from imaging.storage import open_instance
from tests.factories import CaseFactory

from .conftest import make_record, pydicom_file


def small_study(key: str = "t", slices: int = 12, size: int = 32) -> synthetic.StudySpec:
    return synthetic.StudySpec(
        key=key,
        series=(
            synthetic.SeriesSpec(number=2, description="Axial", slices=slices, size=size),
            synthetic.SeriesSpec(
                number=3, description="Bone", slices=4, size=size, thickness_mm=5.0
            ),
        ),
    )


def test_generated_zip_indexes_studies_series_and_sorted_instances(case: Any) -> None:
    files = list(synthetic.study_files(small_study()))
    record = make_record(case, synthetic.plain_zip(files))

    index = record_index(record_id=record.pk)

    assert index is not None
    assert index.state == RecordIndex.State.INDEXED
    assert index.instances_added == 16
    assert index.duplicates == 0
    assert index.skipped == []
    study = Study.objects.with_counts().get(case=case)
    assert study.study_uid == synthetic.uid("t", "study")
    assert (study.modalities, study.description, str(study.study_date)) == (
        "CT",
        "CT head without contrast",
        "2026-09-15",
    )
    assert study.body_part == "HEAD"
    assert (study.series_count, study.instance_count) == (2, 16)
    axial = study.series.get(number=2)
    assert (axial.rows, axial.columns, axial.instance_count, axial.frame_count) == (32, 32, 12, 12)
    assert (axial.pixel_spacing_row, axial.pixel_spacing_col, axial.slice_thickness) == (
        0.5,
        0.5,
        1.25,
    )
    assert (axial.window_center, axial.window_width) == (40.0, 80.0)
    assert axial.orientation == [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    assert axial.description == "Axial"
    # The zip was shuffled: the order comes from the geometry, feet to head.
    ordered = list(axial.instances.order_by("sort_index"))
    assert [i.sort_index for i in ordered] == list(range(12))
    assert [i.instance_number for i in ordered] == list(range(1, 13))
    positions = [i.position for i in ordered]
    assert positions == sorted(positions)
    assert positions[1] - positions[0] == pytest.approx(1.25)
    first = ordered[0]
    assert first.storage_key.startswith("imaging/")
    assert synthetic.uid("t", "instance", 2, 0) not in first.storage_key
    assert first.transfer_syntax == "1.2.840.10008.1.2.1"
    assert (first.rows, first.columns, first.frames, first.record_id) == (32, 32, 1, record.pk)
    with open_instance(first) as stored:
        ds = pydicom.dcmread(stored)
    assert ds.SOPInstanceUID == first.sop_uid
    assert ds.InstanceNumber == 1


def test_order_follows_the_slice_normal_not_z_alone(case: Any) -> None:
    """Sagittal slices (normal along x): the position is along the cross product."""
    study = small_study(slices=6)
    datasets = list(synthetic.series_datasets(study, study.series[0]))
    files = []
    for number, ds in enumerate(datasets):
        ds.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]
        ds.ImagePositionPatient = [float(10 - 3 * number), 0.0, 0.0]
        ds.InstanceNumber = 100 - number  # numbers disagree with the geometry
        files.append((f"{number}.dcm", synthetic.dicom_bytes(ds)))
    random.Random(3).shuffle(files)
    record = make_record(case, synthetic.plain_zip(files))

    record_index(record_id=record.pk)

    ordered = Series.objects.get().instances.order_by("sort_index")
    # normal = (0,1,0) x (0,0,-1) = (-1,0,0): position = -x, so x decreasing = ascending.
    assert [i.position for i in ordered] == [-10.0, -7.0, -4.0, -1.0, 2.0, 5.0]
    assert [i.instance_number for i in ordered] == [100, 99, 98, 97, 96, 95]


def test_missing_geometry_falls_back_to_instance_number(case: Any) -> None:
    spec = small_study(slices=5).series[0]
    files = []
    for number, ds in enumerate(synthetic.series_datasets(small_study(), spec)):
        if number < 5:
            if number == 2:
                del ds.ImagePositionPatient  # one slice without position: the whole series
            ds.InstanceNumber = 5 - number
            files.append((f"{number}.dcm", synthetic.dicom_bytes(ds)))
    record = make_record(case, synthetic.plain_zip(files))

    record_index(record_id=record.pk)

    ordered = list(Series.objects.get().instances.order_by("sort_index"))
    assert [i.instance_number for i in ordered] == [1, 2, 3, 4, 5]
    assert [i.position is None for i in ordered] == [False, False, True, False, False]


@pytest.mark.parametrize(
    ("name", "syntax", "frames", "modality"),
    [
        ("SC_rgb_jpeg_dcmtk.dcm", "1.2.840.10008.1.2.4.50", 1, "OT"),  # JPEG baseline
        ("JPGExtended.dcm", "1.2.840.10008.1.2.4.51", 1, "NM"),  # JPEG extended
        ("SC_rgb_jpeg_gdcm.dcm", "1.2.840.10008.1.2.4.70", 1, "OT"),  # JPEG lossless
        ("MR_small_jpeg_ls_lossless.dcm", "1.2.840.10008.1.2.4.80", 1, "MR"),  # JPEG-LS
        ("MR_small_jp2klossless.dcm", "1.2.840.10008.1.2.4.90", 1, "MR"),  # JPEG 2000 lossless
        ("693_J2KI.dcm", "1.2.840.10008.1.2.4.91", 1, "CT"),  # JPEG 2000
        ("MR_small_RLE.dcm", "1.2.840.10008.1.2.5", 1, "MR"),  # RLE
        ("rtdose.dcm", "1.2.840.10008.1.2", 15, "RTDOSE"),  # multi-frame
        ("SC_rgb_rle_2frame.dcm", "1.2.840.10008.1.2.5", 2, "OT"),  # multi-frame RLE
        ("examples_ybr_color.dcm", "1.2.840.10008.1.2.4.50", 30, "US"),  # multi-frame JPEG
    ],
)
def test_single_dicom_files_of_every_syntax_index(
    case: Any, name: str, syntax: str, frames: int, modality: str
) -> None:
    data = pydicom_file(name)
    record = make_record(case, data, name=name, detected_kind="dicom")

    index = record_index(record_id=record.pk)

    assert index is not None and index.state == RecordIndex.State.INDEXED
    instance = Instance.objects.get(record=record)
    assert instance.transfer_syntax == syntax
    assert instance.frames == frames
    assert instance.series.frame_count == frames
    assert instance.series.modality == modality
    assert instance.size == len(data)
    with open_instance(instance) as stored:
        assert stored.read() == data


def test_real_ct_geometry(case: Any) -> None:
    record = make_record(case, pydicom_file("CT_small.dcm"), name="ct.dcm", detected_kind="dicom")
    record_index(record_id=record.pk)
    series = Series.objects.get()
    assert (series.rows, series.columns) == (128, 128)
    assert series.pixel_spacing_row == pytest.approx(0.661468)
    assert series.slice_thickness == pytest.approx(5.0)
    instance = series.instances.get()
    # CT_small: axial, normal (0,0,1): the position is its z.
    assert instance.position == pytest.approx(-75.699997)


def test_duplicates_are_kept_once_and_counted(case: Any) -> None:
    # The MR_small files are one instance in several encodings: one SOP Instance UID.
    files = [
        ("a/MR_small.dcm", pydicom_file("MR_small.dcm")),
        ("b/MR_small_RLE.dcm", pydicom_file("MR_small_RLE.dcm")),
        ("c/MR_small_implicit.dcm", pydicom_file("MR_small_implicit.dcm")),
    ]
    record = make_record(case, synthetic.plain_zip(files))

    index = record_index(record_id=record.pk)

    assert index is not None
    assert (index.instances_added, index.duplicates) == (1, 2)
    assert Instance.objects.count() == 1
    assert len(default_storage.listdir("imaging")[1]) == 1

    # The same instance in another record of the case: a duplicate there too.
    other = make_record(
        case, pydicom_file("MR_small_expb.dcm"), name="mr.dcm", detected_kind="dicom"
    )
    index = record_index(record_id=other.pk)
    assert index is not None
    assert (index.state, index.instances_added, index.duplicates) == ("indexed", 0, 1)
    assert Instance.objects.count() == 1
    assert len(default_storage.listdir("imaging")[1]) == 1


def test_several_records_add_to_one_study(case: Any) -> None:
    files = list(synthetic.study_files(small_study()))
    first = make_record(case, synthetic.plain_zip(files[:10]), name="disc1.zip")
    second = make_record(case, synthetic.plain_zip(files[10:]), name="disc2.zip")
    record_index(record_id=first.pk)
    record_index(record_id=second.pk)
    study = Study.objects.with_counts().get()
    assert (study.series_count, study.instance_count) == (2, 16)
    axial = study.series.get(number=2)
    assert list(
        axial.instances.order_by("sort_index").values_list("instance_number", flat=True)
    ) == list(range(1, 13))


def test_mixed_studies_and_series_in_one_zip(case: Any) -> None:
    files = [
        *synthetic.study_files(small_study(key="one", slices=3)),
        ("x/MR_small.dcm", pydicom_file("MR_small.dcm")),
        ("x/CT_small.dcm", pydicom_file("CT_small.dcm")),
        ("x/rtdose.dcm", pydicom_file("rtdose.dcm")),
    ]
    record = make_record(case, synthetic.plain_zip(files))
    index = record_index(record_id=record.pk)
    assert index is not None and index.instances_added == 10
    studies = Study.objects.with_counts().filter(case=case)
    assert studies.count() == 4
    assert sorted(s.instance_count for s in studies) == [1, 1, 1, 7]
    assert Series.objects.count() == 5


def test_cd_layout_with_dicomdir(case: Any) -> None:
    buffer = io.BytesIO()
    synthetic.study_zip_with_dicomdir(small_study(slices=6), buffer)
    record = make_record(case, buffer.getvalue(), name="cd.zip")

    index = record_index(record_id=record.pk)

    assert index is not None and index.instances_added == 10
    assert index.skipped == [
        {"name": "DICOMDIR", "reason": "DICOMDIR: the disc's index of its files, not an image"}
    ]
    assert Study.objects.with_counts().get().instance_count == 10


def test_reindexing_replaces_without_duplicates(
    case: Any, django_capture_on_commit_callbacks: Any
) -> None:
    files = list(synthetic.study_files(small_study(slices=4)))
    record = make_record(case, synthetic.plain_zip(files))
    record_index(record_id=record.pk)
    keys = set(Instance.objects.values_list("storage_key", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        index = record_index(record_id=record.pk)

    assert index is not None
    assert (index.state, index.instances_added, index.duplicates) == ("indexed", 8, 0)
    assert Instance.objects.count() == 8
    assert Series.objects.count() == 2 and Study.objects.count() == 1
    assert set(Instance.objects.values_list("storage_key", flat=True)).isdisjoint(keys)
    # The first run's objects are gone from storage: no orphans.
    assert sorted(default_storage.listdir("imaging")[1]) == sorted(
        k.removeprefix("imaging/") for k in Instance.objects.values_list("storage_key", flat=True)
    )


def test_records_not_cleared_or_not_dicom_are_left_alone(case: Any) -> None:
    files = list(synthetic.study_files(small_study(slices=2)))
    pending = make_record(case, synthetic.plain_zip(files), scan_status="pending")
    assert record_index(record_id=pending.pk) is None
    infected = make_record(
        case, b"%PDF-1.4 x", name="r.pdf", detected_kind="pdf", scan_status="infected"
    )
    assert record_index(record_id=infected.pk) is None
    pdf = make_record(
        CaseFactory(family=case.family), b"%PDF-1.4 x", name="r.pdf", detected_kind="pdf"
    )
    index = record_index(record_id=pdf.pk)
    assert index is not None and index.state == RecordIndex.State.NOT_IMAGING
    assert not Instance.objects.exists()


def test_development_scanner_state_counts_as_cleared(case: Any) -> None:
    files = list(synthetic.study_files(small_study(slices=2)))
    record = make_record(case, synthetic.plain_zip(files), scan_status="dev")
    index = record_index(record_id=record.pk)
    assert index is not None and index.instances_added == 6  # 2 axial + 4 bone


def test_indexing_from_s3(case: Any, s3_storage: dict[str, Any]) -> None:
    files = list(synthetic.study_files(small_study(slices=3)))
    record = make_record(case, synthetic.plain_zip(files))
    index = record_index(record_id=record.pk)
    assert index is not None and index.instances_added == 7
    instance = Instance.objects.order_by("sort_index").first()
    assert instance is not None
    listed = s3_storage["client"].list_objects_v2(Bucket=s3_storage["bucket"], Prefix="imaging/")
    assert listed["KeyCount"] == 7
    with open_instance(instance) as stored:
        assert pydicom.dcmread(stored).SOPInstanceUID == instance.sop_uid
