"""Pictures the record viewer could never decode (more pixels than VIEWER_MAX_IMAGE_PIXELS)
are refused at upload, by their headers, with a sentence next to the field; whole-slide
images (SVS, NDPI, pyramidal TIFF) are accepted for the slide viewer."""

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import User
from cases.models import Case, Status
from intake.filetypes import is_whole_slide, validate_file
from intake.models import Intake, Record
from tests.conftest import login
from tests.factories import CaseFactory
from tests.intake import bombs
from tests.intake.uploader import Browser

REFUSAL = "larger than we can show the specialist"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    tmp = tmp_path_factory.mktemp("pictures")
    svs_description = "Aperio Image Library v12.0.0\n10240x10240 [0,0 10240x10240] |AppMag = 20"
    return {
        "png_bomb": bombs.png_bomb(10_000, 10_000),
        "jpeg_huge": bombs.jpeg_claiming(60_000, 60_000),
        "jpeg_64_megapixels": bombs.jpeg_claiming(8_000, 8_000),
        "tiff_100k": bombs.tiff_strips_claiming(tmp / "strips.tif", 100_000, 100_000),
        "tiff_tiled_one_level": bombs.tiff_tiled(tmp / "flat.tif", 10_240),
        "tiff_pyramid": bombs.tiff_tiled(tmp / "pyramid.tif", 10_240, levels=3),
        "svs": bombs.tiff_tiled(tmp / "slide.svs", 10_240, description=svs_description),
        "png_small": bombs.png_bomb(1_000, 1_000),
    }


TOO_LARGE = ["png_bomb", "jpeg_huge", "jpeg_64_megapixels", "tiff_100k", "tiff_tiled_one_level"]
ACCEPTED = ["tiff_pyramid", "svs", "png_small"]


@pytest.fixture
def case(family: User) -> Case:
    case = CaseFactory(family=family, status=Status.SUBMITTED)
    Intake.objects.create(case=case)
    return case


def _form_upload(client: Client, case: Case, name: str, data: bytes) -> Any:
    return client.post(
        reverse("record_upload", args=[case.reference]),
        {"file": SimpleUploadedFile(name, data), "kind": "photo", "description": ""},
    )


@pytest.mark.parametrize("name", TOO_LARGE)
def test_the_form_refuses_a_picture_too_large_to_view(
    client: Client, family: User, case: Case, files: dict[str, bytes], name: str, settings: Any
) -> None:
    settings.CLAMD_HOST = ""
    login(client, family)
    response = _form_upload(client, case, f"{name}.img", files[name])
    assert response.status_code == 400
    form = response.context["upload_form"]
    message = " ".join(form.errors["file"])  # next to the file field
    assert REFUSAL in message and "smaller copy" in message and "SVS, NDPI" in message
    assert REFUSAL in response.content.decode()
    assert not Record.objects.filter(case=case).exists()


@pytest.mark.parametrize("name", ACCEPTED)
def test_whole_slide_images_and_small_pictures_are_accepted(
    client: Client, family: User, case: Case, files: dict[str, bytes], name: str, settings: Any
) -> None:
    settings.CLAMD_HOST = ""
    login(client, family)
    response = _form_upload(client, case, f"{name}.img", files[name])
    assert response.status_code == 302, response.content[:500]
    record = Record.objects.get(case=case)
    assert record.state == Record.State.AVAILABLE


def test_is_whole_slide_reads_only_headers(files: dict[str, bytes], tmp_path: Path) -> None:
    for name, expected in [
        ("tiff_pyramid", True),
        ("svs", True),
        ("tiff_tiled_one_level", False),
        ("tiff_100k", False),
        ("png_small", False),
    ]:
        path = tmp_path / name
        path.write_bytes(files[name])
        assert is_whole_slide(path) is expected, name
        assert is_whole_slide(io.BytesIO(files[name])) is expected, name
    # The strip TIFF claims 10^10 pixels: decoding it would need 10 GB, reading its
    # directory needs nothing (and answers at once).
    assert validate_file(io.BytesIO(files["tiff_pyramid"]), size=len(files["tiff_pyramid"]))


@pytest.mark.parametrize("name", ["png_bomb", "jpeg_huge", "tiff_100k"])
def test_the_direct_upload_refuses_it_too(
    client: Client,
    family: User,
    case: Case,
    files: dict[str, bytes],
    name: str,
    s3_storage: dict[str, Any],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.CLAMD_HOST = ""
    browser = Browser(login(client, family), case.reference)
    data = files[name]
    upload = browser.create(size=len(data), name=f"{name}.img", kind="photo")
    parts = browser.send_parts(upload, iter([data]))
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.complete(upload, parts)
    assert response.status_code == 200
    record = Record.objects.get(uid=upload.uid)
    assert record.state == Record.State.REJECTED
    assert REFUSAL in record.rejection_reason
    status = client.get(upload.urls["status"]).json()
    assert status["state"] == "rejected" and REFUSAL in status["rejectionReason"]
