"""The slide viewer over HTTP: properties, the Deep Zoom descriptor and tiles, the grant that
authorises them, the audit rows, the headers, and the label that is never served."""

import io
import json
import math
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import get_resolver, reverse
from django.utils import timezone
from PIL import Image

from accounts.models import User
from cases.models import AccessEvent, Case, Status
from core import grants
from intake.models import Record
from slides import services
from slides.demo import LABEL_COLOR, LABEL_TEXT, MACRO_COLOR, demo_slide_bytes, demo_slide_record
from slides.models import Slide
from tests.conftest import login
from tests.factories import CaseFactory


@pytest.fixture
def review_case(family: User, physician: User, specialist: User) -> Case:
    return CaseFactory(
        status=Status.IN_REVIEW,
        family=family,
        physician_email=physician.email,
        assigned_specialist=specialist,
    )


@pytest.fixture
def slide_record(review_case: Case) -> Record:
    return demo_slide_record(review_case, by=review_case.family, scan=Record.Scan.CLEAN)


def _viewer_url(record: Record) -> str:
    return reverse("slides:viewer", args=[record.case.reference, record.uid])


GRANT = "HTTP_X_SLIDE_GRANT"


def _data(html: str, name: str) -> str:
    start = html.index(f'data-{name}="') + len(f'data-{name}="')
    return html[start : html.index('"', start)].replace("&amp;", "&")


def _open(client: Client, record: Record) -> str:
    """Open the viewer page: the descriptor URL it hands the script. Like the script, the
    client sends the page's grant in the X-Slide-Grant header from then on."""
    response = client.get(_viewer_url(record))
    assert response.status_code == 200, response.content[:300]
    html = response.content.decode()
    client.defaults[GRANT] = _data(html, "grant")
    return _data(html, "dzi-url")


def _with(token: str) -> dict[str, str]:
    return {"X-Slide-Grant": token}


def _tile_url(dzi_url: str, level: int, col: int, row: int) -> str:
    return f"{dzi_url.removesuffix('.dzi')}_files/{level}/{col}_{row}.jpeg"


def _all_tiles(dzi_url: str, props: dict[str, Any]) -> list[tuple[int, int, int]]:
    tiles = []
    for level, (width, height) in enumerate(services.deep_zoom_levels(props)):
        for col in range(math.ceil(width / 254)):
            for row in range(math.ceil(height / 254)):
                tiles.append((level, col, row))
    return tiles


def _has_colour(pixels: np.ndarray, colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    distance = np.abs(pixels.astype(int) - np.array(colour)).max(axis=-1)
    return bool((distance <= tolerance).any())


# --- properties ---------------------------------------------------------------------------


def test_properties_are_read_after_the_record_is_cleared(slide_record: Record) -> None:
    slide = Slide.objects.get(record=slide_record)
    assert slide.state == Slide.State.READY
    props = slide.properties
    assert props["vendor"] == "aperio"
    assert props["objective_power"] == 40.0
    assert (props["mpp_x"], props["mpp_y"]) == (0.25, 0.25)
    assert (props["width"], props["height"]) == (2048, 1536)
    assert [(lv["width"], lv["height"], lv["downsample"]) for lv in props["levels"]] == [
        (2048, 1536, 1.0),
        (1024, 768, 2.0),
        (512, 384, 4.0),
    ]
    # Picked field by field: nothing about the associated images, nor the label's text.
    text = json.dumps(props).lower()
    for word in ("label", "macro", "associated", "thumbnail", "doe", "barcode"):
        assert word not in text


def test_the_scanner_clearing_a_slide_indexes_it(
    review_case: Case, django_capture_on_commit_callbacks: Any
) -> None:
    record = demo_slide_record(review_case, by=review_case.family, scan=Record.Scan.PENDING)
    Slide.objects.filter(record=record).delete()
    assert not Slide.objects.filter(record=record).exists()  # pending: not read
    with django_capture_on_commit_callbacks(execute=True):
        record.scan_status = Record.Scan.CLEAN
        record.save(update_fields=["scan_status"])
    assert Slide.objects.get(record=record).state == Slide.State.READY


def test_a_plain_tiff_picture_is_not_a_slide(review_case: Case, specialist: User) -> None:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), (10, 120, 30)).save(out, "TIFF")
    record = Record(
        case=review_case,
        kind=Record.Kind.PATHOLOGY_SLIDES,
        original_name="photo.tif",
        size=len(out.getvalue()),
        state=Record.State.AVAILABLE,
        scan_status=Record.Scan.CLEAN,
        uploaded_by=review_case.family,
        content_type="image/tiff",
        detected_kind="tiff",
    )
    record.file.save("x", ContentFile(out.getvalue()), save=False)
    record.save()
    response = login(Client(), specialist).get(_viewer_url(record))
    assert response.status_code == 404
    assert Slide.objects.get(record=record).state == Slide.State.UNSUPPORTED
    outcomes = list(
        AccessEvent.objects.filter(object_id=str(record.uid)).values_list("outcome", flat=True)
    )
    assert outcomes == [AccessEvent.Outcome.DENIED, AccessEvent.Outcome.ALLOWED]  # newest first
    assert services.opens_as_slide(services.local_copy(record, "plain")) is False


def test_a_generic_tiled_pyramidal_tiff_opens(review_case: Case, specialist: User) -> None:
    import tifffile

    base = np.zeros((1024, 1024, 3), np.uint8)
    base[:, :, 1] = 160
    out = io.BytesIO()
    with tifffile.TiffWriter(out) as tiff:
        tiff.write(base, tile=(256, 256), photometric="rgb", compression="zlib", subifds=1)
        tiff.write(
            base[::2, ::2], tile=(256, 256), photometric="rgb", compression="zlib", subfiletype=1
        )
    record = Record(
        case=review_case,
        kind=Record.Kind.PATHOLOGY_SLIDES,
        original_name="scan.tif",
        size=len(out.getvalue()),
        state=Record.State.AVAILABLE,
        scan_status=Record.Scan.CLEAN,
        uploaded_by=review_case.family,
        content_type="image/tiff",
        detected_kind="tiff",
    )
    record.file.save("x", ContentFile(out.getvalue()), save=False)
    record.save()
    client = login(Client(), specialist)
    dzi = _open(client, record)
    slide = Slide.objects.get(record=record)
    assert slide.properties["format"] == "generic-tiff"
    assert slide.properties["mpp_x"] is None
    response = client.get(_tile_url(dzi, 10, 0, 0))
    assert response.status_code == 200
    assert Image.open(io.BytesIO(response.content)).size == (255, 255)  # 254 + right overlap


# --- who may open, and the audit ----------------------------------------------------------


@pytest.mark.parametrize("who", ["family", "physician", "coordinator", "specialist"])
def test_opening_writes_one_audit_row_and_tiles_none(
    who: str, slide_record: Record, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(who)
    client = login(Client(), user)
    before = AccessEvent.objects.count()
    dzi = _open(client, slide_record)
    events = list(AccessEvent.objects.order_by("pk")[before:])
    assert [(e.user, e.case, e.action, e.outcome, e.object_id) for e in events] == [
        (user, slide_record.case, "view_slide", AccessEvent.Outcome.ALLOWED, str(slide_record.uid))
    ]
    assert client.get(dzi).status_code == 200
    for tile in [(11, 0, 0), (11, 1, 1), (10, 0, 0), (0, 0, 0)]:
        assert client.get(_tile_url(dzi, *tile)).status_code == 200
    assert AccessEvent.objects.count() == before + 1


def test_a_slide_not_yet_cleared_is_not_opened(
    review_case: Case, family: User, specialist: User
) -> None:
    record = demo_slide_record(review_case, by=review_case.family, scan=Record.Scan.PENDING)
    for person in (family, specialist):
        response = login(Client(), person).get(_viewer_url(record))
        assert response.status_code == 404
        event = AccessEvent.objects.latest("pk")
        assert (event.user, event.outcome) == (person, AccessEvent.Outcome.DENIED)
    assert not Slide.objects.filter(record=record).exists()  # never fed to OpenSlide


def test_links_to_the_viewer_from_the_record_lists(
    slide_record: Record, specialist: User, family: User
) -> None:
    url = _viewer_url(slide_record)
    workspace = login(Client(), specialist).get(
        reverse("workspace_case", args=[slide_record.case.reference])
    )
    assert url in workspace.content.decode()
    viewer = login(Client(), specialist).get(
        reverse("viewer_record", args=[slide_record.case.reference, slide_record.uid])
    )
    assert url in viewer.content.decode()
    case_page = login(Client(), family).get(
        reverse("case_detail", args=[slide_record.case.reference])
    )
    assert url in case_page.content.decode()
    Record.objects.filter(pk=slide_record.pk).update(scan_status=Record.Scan.PENDING)
    workspace = login(Client(), family).get(
        reverse("case_detail", args=[slide_record.case.reference])
    )
    assert url not in workspace.content.decode()


# --- descriptor and tiles -----------------------------------------------------------------


def test_descriptor_and_tiles(slide_record: Record, specialist: User) -> None:
    client = login(Client(), specialist)
    dzi = _open(client, slide_record)
    response = client.get(dzi)
    assert response.status_code == 200
    image = ET.fromstring(response.content)  # noqa: S314 - our own server's answer
    assert (image.get("TileSize"), image.get("Overlap"), image.get("Format")) == (
        "254",
        "1",
        "jpeg",
    )
    size = image.find("{http://schemas.microsoft.com/deepzoom/2008}Size")
    assert size is not None and (size.get("Width"), size.get("Height")) == ("2048", "1536")

    response = client.get(_tile_url(dzi, 11, 1, 1))  # an inner tile: 1 px overlap each side
    assert response.status_code == 200
    assert Image.open(io.BytesIO(response.content)).size == (256, 256)
    slide = Slide.objects.get(record=slide_record)
    key = services.tile_key(slide, 11, 1, 1)
    assert default_storage.exists(key)
    with default_storage.open(key) as cached:
        assert cached.read() == response.content
    # Served from the cache now, even without the local copy of the slide.
    for copy in services._cache_dir().iterdir():
        copy.unlink()
    assert client.get(_tile_url(dzi, 11, 1, 1)).content == response.content
    # The smallest level is one pixel.
    assert Image.open(io.BytesIO(client.get(_tile_url(dzi, 0, 0, 0)).content)).size == (1, 1)


@pytest.mark.parametrize(
    "tile", [(12, 0, 0), (11, 9, 0), (11, 0, 7), (99999, 0, 0), (11, 99999999999, 0)]
)
def test_tiles_outside_the_pyramid_are_404(
    tile: tuple[int, int, int], slide_record: Record, specialist: User
) -> None:
    client = login(Client(), specialist)
    dzi = _open(client, slide_record)
    assert client.get(_tile_url(dzi, *tile)).status_code == 404


def test_headers(slide_record: Record, specialist: User) -> None:
    client = login(Client(), specialist)
    dzi = _open(client, slide_record)
    for url, content_type in [(dzi, "application/xml"), (_tile_url(dzi, 11, 0, 0), "image/jpeg")]:
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == content_type
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "no-store" in response["Cache-Control"]
        assert response["Content-Security-Policy"].startswith("sandbox")


# --- the label ----------------------------------------------------------------------------


def test_the_label_and_macro_are_never_served(slide_record: Record, coordinator: User) -> None:
    import openslide

    # The detector works: the label in the file is made of the colour we look for.
    path = services.local_copy(slide_record, Slide.objects.get(record=slide_record).storage_prefix)
    with openslide.OpenSlide(str(path)) as slide:
        assert _has_colour(np.asarray(slide.associated_images["label"].convert("RGB")), LABEL_COLOR)
        assert _has_colour(np.asarray(slide.associated_images["macro"].convert("RGB")), MACRO_COLOR)

    client = login(Client(), coordinator)
    page = client.get(_viewer_url(slide_record)).content.decode()
    dzi = _open(client, slide_record)
    texts = [page, client.get(dzi).content.decode()]
    for text in texts:
        assert LABEL_TEXT not in text and "BARCODE" not in text
    slide = Slide.objects.get(record=slide_record)
    tiles = _all_tiles(dzi, slide.properties)
    assert len(tiles) > 60
    for tile in tiles:
        response = client.get(_tile_url(dzi, *tile))
        assert response.status_code == 200, tile
        pixels = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))
        assert not _has_colour(pixels, LABEL_COLOR), tile
        assert not _has_colour(pixels, MACRO_COLOR), tile
    # No URL names an associated image at all.
    patterns = [str(p.pattern) for p in get_resolver("slides.urls").url_patterns]
    assert not any(
        word in p for p in patterns for word in ("label", "macro", "associated", "thumb")
    )
    base = dzi.removesuffix("slide.dzi")
    for name in ("label", "macro", "thumbnail", "associated/label"):
        assert client.get(f"{base}{name}.jpeg").status_code == 404


def test_the_demo_file_has_a_label() -> None:
    assert demo_slide_bytes()[:4] == b"II*\x00"


# --- the grant ----------------------------------------------------------------------------


def _denied_after(before: int, user: User | None) -> None:
    events = list(AccessEvent.objects.order_by("pk")[before:])
    assert [(e.user, e.outcome, e.object_type) for e in events] == [
        (user, AccessEvent.Outcome.DENIED, "slide")
    ]


def test_a_grant_works_for_its_user_only(
    slide_record: Record, specialist: User, coordinator: User
) -> None:
    owner = login(Client(), specialist)
    dzi = _open(owner, slide_record)
    token = owner.defaults[GRANT]
    other = login(Client(), coordinator)  # may see the case, but the grant is not theirs
    for url in (dzi, _tile_url(dzi, 11, 0, 0)):
        before = AccessEvent.objects.count()
        assert other.get(url, headers=_with(token)).status_code == 404
        _denied_after(before, coordinator)
    before = AccessEvent.objects.count()
    assert Client().get(dzi, headers=_with(token)).status_code == 404  # signed out
    _denied_after(before, None)


def test_a_grant_works_for_its_slide_and_case_only(
    slide_record: Record, review_case: Case, specialist: User, family: User
) -> None:
    client = login(Client(), specialist)
    dzi = _open(client, slide_record)
    token = client.defaults[GRANT]
    second = demo_slide_record(
        CaseFactory(status=Status.IN_REVIEW, family=family, assigned_specialist=specialist),
        by=family,
        scan=Record.Scan.CLEAN,
    )
    other_dzi = reverse("slides:dzi", args=[second.uid])
    before = AccessEvent.objects.count()
    assert client.get(other_dzi, headers=_with(token)).status_code == 404  # another slide
    _denied_after(before, specialist)
    # Right user and slide, but issued for another case: refused.
    forged_case = grants.issue(
        kind="slide", user_id=specialist.pk, case_id=second.case_id, object_id=slide_record.uid
    )
    assert client.get(dzi, headers=_with(forged_case)).status_code == 404
    # Another kind of grant for the same objects: refused.
    study = grants.issue(
        kind="study", user_id=specialist.pk, case_id=review_case.pk, object_id=slide_record.uid
    )
    assert client.get(dzi, headers=_with(study)).status_code == 404
    assert client.get(dzi).status_code == 200  # the real one still works


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: "x" + t,
        lambda t: "",
        lambda t: t.split(":")[0],
        lambda t: "not a grant at all",
    ],
)
def test_a_tampered_grant_is_refused(mangle: Any, slide_record: Record, specialist: User) -> None:
    client = login(Client(), specialist)
    dzi = _open(client, slide_record)
    token = client.defaults[GRANT]
    before = AccessEvent.objects.count()
    assert client.get(_tile_url(dzi, 11, 0, 0), headers=_with(mangle(token))).status_code == 404
    _denied_after(before, specialist)


def test_no_grant_is_refused(slide_record: Record, specialist: User) -> None:
    client = login(Client(), specialist)
    dzi = _open(client, slide_record)
    token = client.defaults.pop(GRANT)
    assert client.get(dzi).status_code == 404
    # Only the header counts: a grant in the URL would land in access logs and history.
    assert client.get(f"{dzi}?grant={token}").status_code == 404
    assert client.get(_tile_url(dzi, 11, 0, 0), {"grant": token}).status_code == 404
    assert client.get(dzi, headers=_with(token)).status_code == 200


def test_a_grant_expires(slide_record: Record, specialist: User, settings: Any) -> None:
    # The clock is moved, not waited for: a one-second grant read back after a sleep raced a
    # loaded machine (the first request could come after the grant had already expired).
    settings.SLIDES_GRANT_SECONDS = 60
    client = login(Client(), specialist)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        dzi = _open(client, slide_record)
        clock.shift(timedelta(seconds=59))
        assert client.get(dzi).status_code == 200
        clock.shift(timedelta(seconds=2))
        before = AccessEvent.objects.count()
        assert client.get(_tile_url(dzi, 11, 0, 0)).status_code == 404
        _denied_after(before, specialist)


def test_the_default_grant_lasts_minutes() -> None:
    assert 60 <= services.grant_seconds() <= 15 * 60


def test_a_grant_stops_working_when_the_record_is_quarantined(
    slide_record: Record, specialist: User
) -> None:
    client = login(Client(), specialist)
    dzi = _open(client, slide_record)
    Record.objects.filter(pk=slide_record.pk).update(scan_status=Record.Scan.INFECTED)
    assert client.get(_tile_url(dzi, 11, 0, 0)).status_code == 404


def test_deleting_the_record_deletes_its_tiles_and_local_copy(
    slide_record: Record, specialist: User, django_capture_on_commit_callbacks: Any
) -> None:
    client = login(Client(), specialist)
    dzi = _open(client, slide_record)
    for tile in [(11, 0, 0), (11, 1, 0), (10, 0, 0)]:
        assert client.get(_tile_url(dzi, *tile)).status_code == 200
    slide = Slide.objects.get(record=slide_record)
    keys = [services.tile_key(slide, *t) for t in [(11, 0, 0), (11, 1, 0), (10, 0, 0)]]
    assert all(default_storage.exists(k) for k in keys)
    assert list(services._cache_dir().glob(f"{slide.storage_prefix}.*"))
    with django_capture_on_commit_callbacks(execute=True):
        Record.objects.filter(pk=slide_record.pk).delete()
    assert not any(default_storage.exists(k) for k in keys)
    assert not list(services._cache_dir().glob(f"{slide.storage_prefix}.*"))
    with pytest.raises(ValueError, match="prefix"):
        services.slide_tiles_delete("../records")


def test_a_viewer_left_open_renews_its_grant_through_the_gate(
    slide_record: Record, specialist: User, other_specialist: User, settings: Any
) -> None:
    settings.SLIDES_GRANT_SECONDS = 60
    client = login(Client(), specialist)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        dzi = _open(client, slide_record)
        clock.shift(timedelta(seconds=61))
        assert client.get(dzi).status_code == 404  # expired
        url = reverse("slides:grant", args=[slide_record.case.reference, slide_record.uid])
        before = AccessEvent.objects.count()
        response = client.get(url)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        events = list(AccessEvent.objects.order_by("pk")[before:])
        assert [(e.user, e.action, e.outcome) for e in events] == [
            (specialist, "renew_slide_grant", AccessEvent.Outcome.ALLOWED)
        ]
        renewed = response.json()["grant"]
        assert client.get(dzi, headers=_with(renewed)).status_code == 200
        assert client.get(_tile_url(dzi, 11, 0, 0), headers=_with(renewed)).status_code == 200
        # Not for someone outside the case.
        assert login(Client(), other_specialist).get(url).status_code == 404
