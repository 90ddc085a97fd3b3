"""The specialist's in-page record viewer: pages through HTTP, previews drawn by the server.

Inputs are made here for real: PDFs written byte by byte, pictures by Pillow, DICOM files by
pydicom (16-bit greyscale gradients, multi-frame, MONOCHROME1, and a compressed transfer
syntax without a decoder). Each preview is decoded again with Pillow to check what it shows.
"""

import io
import itertools
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape
from PIL import Image
from pydicom.uid import (
    JPEGLSLossless,
)

from accounts.models import User
from cases.models import AccessEvent, Case, Status
from core.previews import decoders, runner
from intake.models import Record
from tests.conftest import login
from tests.factories import CaseFactory
from tests.reports.helpers import dicom_bytes

from .matrix_viewer import stored_record, tiny_pdf

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --- inputs -----------------------------------------------------------------------------


def jpeg_bytes(width: int = 2400, height: int = 1200) -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x9286] = "child at home, 12 Elm St"  # UserComment
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes(), quality=80)
    return out.getvalue()


def dicom_zip_bytes(count: int = 2) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(count):
            archive.writestr(f"study/IM{i:04d}.dcm", dicom_bytes())
    return out.getvalue()


# --- helpers --------------------------------------------------------------------------------


@pytest.fixture
def review_case(family: User, physician: User, specialist: User) -> Case:
    return CaseFactory(
        status=Status.IN_REVIEW,
        family=family,
        physician_email=physician.email,
        assigned_specialist=specialist,
    )


def page_url(record: Record) -> str:
    return reverse(
        "viewer_record", kwargs={"reference": record.case.reference, "record_uid": record.uid}
    )


def preview_url(record: Record, page: int = 1) -> str:
    return reverse(
        "viewer_preview",
        kwargs={"reference": record.case.reference, "record_uid": record.uid, "page": page},
    )


def assert_png(response: Any) -> Image.Image:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "image/png"
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert response["X-Content-Type-Options"] == "nosniff"
    cache = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= cache
    assert response["Content-Disposition"].startswith("inline;")
    assert response.content.startswith(PNG_MAGIC)
    image = Image.open(io.BytesIO(response.content))
    image.load()
    assert image.format == "PNG"
    assert 0 < max(image.size) <= 1600
    return image


def last_event() -> AccessEvent:
    return AccessEvent.objects.latest("pk")


def assert_viewed(record: Record, user: User) -> None:
    event = last_event()
    assert (event.user, event.case, event.object_type, event.object_id, event.action) == (
        user,
        record.case,
        "record",
        str(record.uid),
        "view",
    )
    assert event.outcome == AccessEvent.Outcome.ALLOWED


# --- PDF --------------------------------------------------------------------------------------


def test_pdf_pages_are_shown_as_server_drawn_pngs(review_case: Case, specialist: User) -> None:
    record = stored_record(review_case, tiny_pdf(2))
    client = login(Client(), specialist)

    response = client.get(page_url(record))

    assert response.status_code == 200
    assert_viewed(record, specialist)
    html = response.content.decode()
    assert 'alt="Page 1 of 2 of labs.pdf"' in html and 'alt="Page 2 of 2 of labs.pdf"' in html
    assert 'loading="lazy"' in html
    assert preview_url(record, 2) in html
    download = reverse("record_download", args=[review_case.reference, record.uid])
    assert f'href="{download}"' in html
    assert "PDF document" in html and "Lab results" in html
    # The page never points the browser at the original bytes, only at our PNGs.
    assert "<iframe" not in html and "<embed" not in html and "<object" not in html

    for page in (1, 2):
        before = AccessEvent.objects.count()
        image = assert_png(client.get(preview_url(record, page)))
        assert AccessEvent.objects.count() == before + 1
        assert_viewed(record, specialist)
        # US Letter (612 x 792 pt) at 144 dpi, the most we draw at.
        assert image.size == (1224, 1584)
        # Black text on white: the page was really drawn.
        assert image.convert("L").getextrema() == (0, 255)


def test_a_page_out_of_range_is_404(review_case: Case, specialist: User) -> None:
    record = stored_record(review_case, tiny_pdf(2))
    client = login(Client(), specialist)
    assert client.get(preview_url(record, 3)).status_code == 404
    assert client.get(preview_url(record, 0)).status_code == 404


def test_long_pdfs_show_the_first_pages_and_say_so(
    review_case: Case, coordinator: User, settings: Any
) -> None:
    settings.VIEWER_MAX_PAGES = 3
    record = stored_record(review_case, tiny_pdf(5))
    client = login(Client(), coordinator)

    html = client.get(page_url(record)).content.decode()

    assert "Showing the first 3 of 5 pages. Download the file to see the rest." in html
    assert 'alt="Page 3 of 5 of labs.pdf"' in html and "Page 4 of 5" not in html
    assert_png(client.get(preview_url(record, 3)))
    assert client.get(preview_url(record, 4)).status_code == 404


def test_an_absurd_page_size_is_still_capped(review_case: Case, specialist: User) -> None:
    record = stored_record(review_case, tiny_pdf(1, width=14400, height=200))
    image = assert_png(login(Client(), specialist).get(preview_url(record)))
    assert image.width == 1600 and image.height <= 30


def test_a_damaged_pdf_says_no_preview(review_case: Case, specialist: User) -> None:
    record = stored_record(review_case, b"%PDF-1.4\nnot a real document\n")
    client = login(Client(), specialist)
    response = client.get(page_url(record))
    assert response.status_code == 200
    assert escape(decoders.NOTE_FAILED) in response.content.decode()
    assert client.get(preview_url(record)).status_code == 404


# --- pictures -----------------------------------------------------------------------------


def test_photos_are_re_encoded_without_metadata(review_case: Case, specialist: User) -> None:
    content = jpeg_bytes()
    assert b"12 Elm St" in content
    record = stored_record(
        review_case,
        content,
        name="rash.jpg",
        detected_kind="jpeg",
        content_type="image/jpeg",
        kind="photo",
    )
    client = login(Client(), specialist)

    html = client.get(page_url(record)).content.decode()
    assert 'alt="Preview of rash.jpg"' in html
    assert 'width="1600" height="800"' in html

    response = client.get(preview_url(record))
    image = assert_png(response)
    assert image.size == (1600, 800)
    assert b"12 Elm St" not in response.content and b"PhoneMaker" not in response.content
    assert not {"exif", "icc_profile"} & set(image.info)
    red, green, blue = image.convert("RGB").getpixel((800, 400))  # type: ignore[misc]
    assert red > 180 and green < 60 and blue < 60
    assert client.get(preview_url(record, 2)).status_code == 404


def test_multi_page_tiffs_show_each_page(review_case: Case, specialist: User) -> None:
    out = io.BytesIO()
    first, second = Image.new("L", (300, 400), 0), Image.new("L", (300, 400), 255)
    first.save(out, format="TIFF", save_all=True, append_images=[second])
    record = stored_record(
        review_case, out.getvalue(), name="fax.tif", detected_kind="tiff", content_type="image/tiff"
    )
    client = login(Client(), specialist)
    assert 'alt="Page 2 of 2 of fax.tif"' in client.get(page_url(record)).content.decode()
    assert assert_png(client.get(preview_url(record, 2))).convert("L").getextrema() == (255, 255)


def test_decompression_bombs_are_refused(
    review_case: Case, specialist: User, settings: Any
) -> None:
    settings.VIEWER_MAX_IMAGE_PIXELS = 10_000
    out = io.BytesIO()
    Image.new("L", (500, 500), 128).save(out, format="PNG")
    record = stored_record(
        review_case, out.getvalue(), name="big.png", detected_kind="png", content_type="image/png"
    )
    client = login(Client(), specialist)
    assert "too large to preview" in client.get(page_url(record)).content.decode()
    assert client.get(preview_url(record)).status_code == 404


# --- DICOM --------------------------------------------------------------------------------


def _dicom_record(case: Case, content: bytes, name: str = "scan.dcm") -> Record:
    return stored_record(
        case,
        content,
        name=name,
        detected_kind="dicom",
        content_type="application/dicom",
        kind="imaging",
    )


def test_dicom_shows_its_details_and_a_windowed_preview(
    review_case: Case, specialist: User
) -> None:
    record = _dicom_record(review_case, dicom_bytes())
    client = login(Client(), specialist)

    response = client.get(page_url(record))

    assert response.status_code == 200
    html = response.content.decode()
    for shown in (
        "DICOM details",
        '<th scope="row">Modality</th><td class="text-break">CT</td>',
        "Lopez, Sofia",
        "MRN-0042",
        "2015-07-04",
        "2026-03-01",
        "CT CHEST W/O CONTRAST",
        "Axial 1.25mm",
        "CHEST",
        "Acme Medical",
        "Explicit VR Little Endian",
        "frame 1 of 1",
    ):
        assert shown in html, shown
    assert_viewed(record, specialist)

    image = assert_png(client.get(preview_url(record)))
    assert image.size == (96, 64) and image.mode == "L"
    row = [image.getpixel((x, 32)) for x in range(96)]
    # MONOCHROME2, gradient rising left to right: black to white, never falling.
    assert row[0] == 0 and row[-1] == 255
    assert all(a <= b for a, b in itertools.pairwise(row))


def test_monochrome1_is_inverted(review_case: Case, specialist: User) -> None:
    record = _dicom_record(review_case, dicom_bytes(photometric="MONOCHROME1"))
    image = assert_png(login(Client(), specialist).get(preview_url(record)))
    assert image.getpixel((0, 32)) == 255 and image.getpixel((95, 32)) == 0


def test_the_window_in_the_file_and_the_rescale_are_applied(
    review_case: Case, specialist: User
) -> None:
    # Stored 0..4095 with intercept -1024 is -1024..3071 HU; a window of 0 +/- 200 HU makes
    # everything below -200 black and above 200 white, with a ramp only in between.
    record = _dicom_record(review_case, dicom_bytes(window=(0, 400)))
    image = assert_png(login(Client(), specialist).get(preview_url(record)))
    row = [image.getpixel((x, 10)) for x in range(96)]
    grey = [v for v in row if 0 < v < 255]
    assert row[0] == 0 and row[-1] == 255
    # Stored values step by ~43 per column: the 400 HU window spans about 9 columns.
    assert 5 <= len(grey) <= 12


def test_multi_frame_dicom_previews_the_middle_frame(review_case: Case, specialist: User) -> None:
    frames = np.stack([np.full((32, 32), 100 * i, dtype=np.uint16) for i in range(5)])
    content = dicom_bytes(
        frames=5, rows=32, columns=32, pixels=frames, window=(200, 401), intercept=0
    )
    record = _dicom_record(review_case, content)
    client = login(Client(), specialist)

    html = client.get(page_url(record)).content.decode()
    assert "frame 3 of 5" in html and '<td class="text-break">5</td>' in html

    image = assert_png(client.get(preview_url(record)))
    # Frame 3 holds 200, the window's centre: mid grey. Frame 1 (0) would be black.
    assert image.getextrema() == (128, 128)


def test_compressed_dicom_without_a_decoder_shows_details_and_says_why(
    review_case: Case, specialist: User
) -> None:
    record = _dicom_record(review_case, dicom_bytes(transfer_syntax=JPEGLSLossless))
    client = login(Client(), specialist)

    response = client.get(page_url(record))

    assert response.status_code == 200
    html = response.content.decode()
    assert "There is no preview for this compression (JPEG-LS Lossless" in html
    assert "Download the study to view its images." in html
    assert "Lopez, Sofia" in html and "JPEG-LS Lossless" in html
    assert "<img" not in html
    assert client.get(preview_url(record)).status_code == 404


def test_a_zipped_study_shows_the_first_instance(review_case: Case, specialist: User) -> None:
    record = stored_record(
        review_case,
        dicom_zip_bytes(3),
        name="study.zip",
        detected_kind="dicom_zip",
        content_type="application/zip",
        kind="imaging",
    )
    client = login(Client(), specialist)
    html = client.get(page_url(record)).content.decode()
    assert "This zip holds 3 DICOM files." in html and decoders.NOTE_ZIP in html
    assert "study/IM0000.dcm" in html and "CT CHEST W/O CONTRAST" in html
    assert client.get(preview_url(record)).status_code == 404


# --- what has no preview ----------------------------------------------------------------------


def test_other_files_get_a_download_link_only(review_case: Case, specialist: User) -> None:
    record = stored_record(
        review_case,
        b"Haemoglobin 12.1 g/dL\n",
        name="labs.txt",
        detected_kind="text",
        content_type="text/plain; charset=utf-8",
    )
    client = login(Client(), specialist)
    html = client.get(page_url(record)).content.decode()
    assert decoders.NOTE_NO_PREVIEW in html and "<img" not in html
    assert reverse("record_download", args=[review_case.reference, record.uid]) in html
    assert client.get(preview_url(record)).status_code == 404


def test_files_over_the_size_limit_are_not_read(
    review_case: Case, specialist: User, settings: Any
) -> None:
    settings.VIEWER_MAX_SOURCE_MB = 0
    record = stored_record(review_case, tiny_pdf(1))
    client = login(Client(), specialist)
    assert "larger than 0 MB, too large to preview" in client.get(page_url(record)).content.decode()
    assert client.get(preview_url(record)).status_code == 404


def test_a_render_over_its_time_limit_is_stopped(
    review_case: Case, specialist: User, settings: Any
) -> None:
    settings.VIEWER_RENDER_SECONDS = 0.001
    record = stored_record(review_case, tiny_pdf(1))
    client = login(Client(), specialist)
    response = client.get(page_url(record))
    assert response.status_code == 200
    assert decoders.NOTE_TIMEOUT in response.content.decode()
    assert client.get(preview_url(record)).status_code == 404


# --- who may look -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["family", "physician", "other_specialist", "other_family"])
def test_only_the_specialist_and_coordinators_may_use_the_viewer(
    who: str, review_case: Case, request: pytest.FixtureRequest
) -> None:
    record = stored_record(review_case, tiny_pdf(1))
    client = login(Client(), request.getfixturevalue(who))
    for url in (page_url(record), preview_url(record)):
        assert client.get(url).status_code == 404


@pytest.mark.parametrize("scan", [Record.Scan.PENDING, Record.Scan.ERROR, Record.Scan.INFECTED])
@pytest.mark.parametrize("who", ["specialist", "coordinator"])
def test_files_that_have_not_scanned_clean_are_never_decoded(
    who: str, scan: str, review_case: Case, request: pytest.FixtureRequest
) -> None:
    record = stored_record(review_case, tiny_pdf(1), scan=scan)
    client = login(Client(), request.getfixturevalue(who))
    for url in (page_url(record), preview_url(record)):
        assert client.get(url).status_code == 404


def test_refusals_are_audited(review_case: Case, other_specialist: User) -> None:
    record = stored_record(review_case, tiny_pdf(1))
    login(Client(), other_specialist).get(preview_url(record))
    event = last_event()
    assert (event.user, event.case, event.object_id, event.action, event.outcome) == (
        other_specialist,
        review_case,
        str(record.uid),
        "view",
        AccessEvent.Outcome.DENIED,
    )


def test_a_record_of_another_case_is_404(review_case: Case, specialist: User) -> None:
    other = CaseFactory(status=Status.IN_REVIEW, assigned_specialist=specialist)
    record = stored_record(other, tiny_pdf(1))
    url = reverse(
        "viewer_preview",
        kwargs={"reference": review_case.reference, "record_uid": record.uid, "page": 1},
    )
    assert login(Client(), specialist).get(url).status_code == 404


# --- storage and cost -------------------------------------------------------------------------


@pytest.mark.s3
def test_previews_from_s3(s3_storage: dict[str, Any], review_case: Case, specialist: User) -> None:
    record = stored_record(review_case, tiny_pdf(2))
    stored = s3_storage["client"].head_object(Bucket=s3_storage["bucket"], Key=record.file.name)
    assert stored["ContentLength"] == record.size
    client = login(Client(), specialist)
    assert 'alt="Page 2 of 2 of labs.pdf"' in client.get(page_url(record)).content.decode()
    assert_png(client.get(preview_url(record, 2)))
    assert_viewed(record, specialist)


def _page_queries(client: Client, record: Record) -> int:
    from django.db import connection

    with CaptureQueriesContext(connection) as queries:
        response = client.get(page_url(record))
    assert response.status_code == 200
    return len(queries)


def test_the_page_costs_the_same_queries_however_many_pages_and_records(
    review_case: Case, specialist: User
) -> None:
    client = login(Client(), specialist)
    small = stored_record(review_case, tiny_pdf(1), name="one.pdf")
    baseline = _page_queries(client, small)

    big = stored_record(review_case, tiny_pdf(12), name="twelve.pdf")
    for i in range(5):
        stored_record(review_case, tiny_pdf(1) + b"%" * (i + 1), name=f"more-{i}.pdf")
    html = client.get(page_url(big)).content.decode()
    assert html.count("<img") == 12

    assert _page_queries(client, big) == baseline


# --- the renderer on its own ------------------------------------------------------------------
# (decoding files is pure: those tests get no database)


@pytest.mark.no_db
def test_viewer_kind_trusts_the_detected_kind_first() -> None:
    assert decoders.viewer_kind(detected_kind="dicom", name="x.pdf") == decoders.DICOM
    assert decoders.viewer_kind(detected_kind="wsi_svs") == decoders.WHOLE_SLIDE
    assert (
        decoders.viewer_kind(detected_kind="text", content_type="application/pdf") == decoders.NONE
    )
    assert decoders.viewer_kind(detected_kind="", content_type="application/pdf") == decoders.PDF
    assert decoders.viewer_kind(detected_kind="", name="IMG0001.DCM") == decoders.DICOM
    assert decoders.viewer_kind(detected_kind="", content_type="text/html") == decoders.NONE


def test_whole_slide_images_are_never_opened(review_case: Case, specialist: User) -> None:
    record = stored_record(
        review_case,
        b"II*\x00" + b"\x00" * 64,
        name="slide.svs",
        detected_kind="wsi_svs",
        content_type="image/tiff",
        kind="pathology_slides",
    )
    client = login(Client(), specialist)
    assert decoders.NOTE_WHOLE_SLIDE in client.get(page_url(record)).content.decode()
    assert client.get(preview_url(record)).status_code == 404


@pytest.mark.no_db
def test_render_in_process_matches_the_bounded_child(tmp_path: Path) -> None:
    source = tmp_path / "scan.dcm"
    source.write_bytes(dicom_bytes())
    assert decoders.render(source, decoders.DICOM, 1) == runner.render_bounded(
        source, decoders.DICOM, 1
    )
    assert decoders.summarize(source, decoders.DICOM) == runner.summarize_bounded(
        source, decoders.DICOM
    )


@pytest.mark.no_db
def test_in_process_renders_leave_pillows_limit_as_it_was(tmp_path: Path) -> None:
    source = tmp_path / "big.png"
    Image.new("L", (200, 200)).save(source)
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(decoders.NoPreview, match="too large"):
        decoders.render(source, decoders.IMAGE, 1, decoders.Limits(max_image_pixels=100))
    assert before == Image.MAX_IMAGE_PIXELS
