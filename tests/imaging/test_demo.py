"""The demo study: a real-looking CT on specialist@'s case in review and on family@'s
delivered case, with geometry a viewer can measure in millimetres."""

import io
import itertools
import math
from io import StringIO
from typing import Any

import numpy as np
import pydicom
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import User
from cases.models import Case
from imaging import synthetic
from imaging.demo import DEMO_NAME
from imaging.models import RecordIndex, Study
from imaging.storage import open_instance
from tests.conftest import login


def test_seed_gives_both_demo_cases_the_indexed_ct_study(settings: Any) -> None:
    settings.STRIPE_SECRET_KEY = ""  # as tests/cases/test_demo.py: the demo without Stripe
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())  # idempotent: nothing added twice

    ada = Case.objects.get(family__email="family@example.com", intake__child_legal_first_name="Ada")
    noa = Case.objects.get(family__email="family@example.com", intake__child_legal_first_name="Noa")
    assert ada.status == "in_review" and ada.assigned_specialist.email == "specialist@example.com"
    # Delivered once its PDF renders, a task that runs after commit (never, in a test).
    assert noa.status in ("report_final", "delivered")
    for case in (ada, noa):
        record = case.records.get(original_name=DEMO_NAME)
        assert record.is_cleared
        index = RecordIndex.objects.get(record=record)
        assert (index.state, index.instances_added, index.duplicates) == ("indexed", 150, 0)
        assert index.skipped == [
            {"name": "DICOMDIR", "reason": "DICOMDIR: the disc's index of its files, not an image"}
        ]
        study = Study.objects.with_counts().get(case=case)
        assert (study.modalities, study.series_count, study.instance_count) == ("CT", 2, 150)

    axial = Study.objects.get(case=ada).series.get(number=2)
    assert (axial.rows, axial.columns, axial.instance_count) == (512, 512, 120)
    assert (axial.pixel_spacing_row, axial.pixel_spacing_col, axial.slice_thickness) == (
        0.5,
        0.5,
        1.25,
    )
    assert (axial.window_center, axial.window_width) == (40.0, 80.0)
    positions = list(axial.instances.order_by("sort_index").values_list("position", flat=True))
    assert all(b - a == 1.25 for a, b in itertools.pairwise(positions))

    # The markers: two bright spots exactly 60 mm apart on slice index 60.
    marked = axial.instances.get(sort_index=60)
    with open_instance(marked) as stored:
        ds = pydicom.dcmread(io.BytesIO(stored.read()))
    hu = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    rows, cols = np.nonzero(hu >= synthetic.MARKER_HU)
    centres = sorted({(int(r), int(c)) for r, c in zip(rows, cols, strict=True)})
    left = np.mean([p for p in centres if p[1] < 256], axis=0)
    right = np.mean([p for p in centres if p[1] >= 256], axis=0)
    spacing = [float(v) for v in ds.PixelSpacing]
    distance = math.hypot((right[0] - left[0]) * spacing[0], (right[1] - left[1]) * spacing[1])
    assert distance == 60.0
    assert ds.ImageOrientationPatient == [1, 0, 0, 0, 1, 0]
    assert ds.Modality == "CT" and ds.BodyPartExamined == "HEAD"

    # The physician of the delivered case sees the study line.
    physician = User.objects.get(email=noa.physician_email)
    response = login(Client(), physician).get(reverse("case_detail", args=[noa.reference]))
    assert response.status_code == 200
    assert "CT head, 2 series, 150 images" in response.content.decode()


def test_generation_is_deterministic() -> None:
    spec = synthetic.StudySpec(
        key="det", series=(synthetic.SeriesSpec(number=1, description="x", slices=3, size=16),)
    )
    first, second = io.BytesIO(), io.BytesIO()
    synthetic.study_zip_with_dicomdir(spec, first)
    synthetic.study_zip_with_dicomdir(spec, second)
    assert first.getvalue() == second.getvalue()
