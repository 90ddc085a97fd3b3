"""The demo slide: intake accepts it as an SVS, and seed_demo puts it, cleared by the real
scanner, on specialist@'s case in review, once."""

import io
from io import StringIO

import numpy as np
import tifffile
from django.core.management import call_command

from cases.models import Status
from intake.filetypes import validate_file
from intake.models import Record
from slides.demo import DEMO_NAME, demo_slide_bytes
from slides.models import Slide


def test_intake_accepts_the_demo_slide_as_svs() -> None:
    content = demo_slide_bytes()
    assert validate_file(io.BytesIO(content), size=len(content)).kind == "wsi_svs"


def test_intake_accepts_a_generic_tiled_pyramidal_tiff_as_tiff() -> None:
    out = io.BytesIO()
    base = np.zeros((512, 512, 3), np.uint8)
    with tifffile.TiffWriter(out) as tiff:
        tiff.write(base, tile=(256, 256), photometric="rgb", compression="zlib", subifds=1)
        tiff.write(base[::2, ::2], tile=(256, 256), photometric="rgb", subfiletype=1)
    content = out.getvalue()
    assert validate_file(io.BytesIO(content), size=len(content)).kind == "tiff"


def test_seed_demo_adds_one_cleared_slide_to_the_specialists_case_in_review() -> None:
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())  # idempotent
    (record,) = Record.objects.filter(original_name=DEMO_NAME)
    assert record.case.status == Status.IN_REVIEW
    assert record.case.assigned_specialist.email == "specialist@example.com"
    assert record.scan_status == Record.Scan.CLEAN  # clamd is configured in tests
    assert Slide.objects.get(record=record).state == Slide.State.READY
