"""The study viewer over HTTP: the gated page (one audit row per open), and the instance and
header requests authorised by the page's grant (no audit row each), with their headers.

Studies are generated DICOM files (tests/imaging/builders.py) stored in the test storage."""

import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pydicom
import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pydicom.uid import ExplicitVRLittleEndian

from cases.models import AccessEvent, Status
from core import grants
from imaging import viewer_views
from intake.models import Record
from tests.conftest import login
from tests.factories import CaseFactory

from .builders import build_study


@pytest.fixture
def review_case(family: Any, specialist: Any, physician: Any) -> Any:
    return CaseFactory(
        family=family,
        assigned_specialist=specialist,
        physician_email=physician.email,
        status=Status.IN_REVIEW,
    )


def page_url(case: Any, study: Any) -> str:
    return reverse("study_viewer", args=[case.reference, study.pk])


def open_page(client: Client, case: Any, study: Any) -> dict[str, Any]:
    response = client.get(page_url(case, study))
    assert response.status_code == 200
    match = re.search(
        r'<script id="study-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match
    return json.loads(match.group(1))


def get_instance(client: Client, study_id: int, instance_id: int, grant: str | None) -> Any:
    url = reverse("study_instance", args=[study_id, instance_id])
    headers = {"X-Study-Grant": grant} if grant is not None else {}
    response = client.get(url, headers=headers)
    # Read (and so close) a streamed file at once: the tests look at the bytes anyway.
    response.data = b"".join(response.streaming_content) if response.streaming else response.content
    return response


def body(response: Any) -> bytes:
    return response.data


# --- the page -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["specialist", "coordinator", "physician"])
def test_opening_a_study_writes_one_audit_row_and_none_per_instance(
    who: str, review_case: Any, request: Any
) -> None:
    built = build_study(review_case, slices=4, size=32)
    user = request.getfixturevalue(who)
    client = login(Client(), user)
    before = AccessEvent.objects.count()
    config = open_page(client, review_case, built.study)
    events = list(AccessEvent.objects.order_by("pk")[before:])
    assert [(e.action, e.object_type, e.object_id, e.outcome, e.user) for e in events] == [
        ("view_study", "study", str(built.study.pk), AccessEvent.Outcome.ALLOWED, user)
    ]
    [series] = config["series"]
    assert [i["id"] for i in series["instances"]] == [i.pk for i in built.instances]
    assert series["spacing"] == [0.5, 0.5]
    for instance in built.instances:
        response = get_instance(client, built.study.pk, instance.pk, config["grant"])
        assert response.status_code == 200
        data = body(response)
        assert data[128:132] == b"DICM"
    assert AccessEvent.objects.count() == before + 1


def test_the_page_lists_series_and_links_back(specialist: Any, review_case: Any) -> None:
    built = build_study(review_case, slices=2, size=32, with_cine=True)
    response = login(Client(), specialist).get(page_url(review_case, built.study))
    html = response.content.decode()
    assert "Series 2: CT Axial generated" in html
    assert "Series 5: US Cine loop" in html
    assert reverse("workspace_case", args=[review_case.reference]) in html
    assert "vendor/cornerstone/cornerstone.min.js" in html
    # The page itself is the site's usual one: no CSP widening for the viewer.
    assert "wasm" not in response["Content-Security-Policy"]


def test_family_and_outsiders_get_404_and_a_refusal(
    family: Any, other_specialist: Any, other_physician: Any, review_case: Any
) -> None:
    built = build_study(review_case, slices=1, size=32)
    for user in (family, other_specialist, other_physician):
        before = AccessEvent.objects.count()
        response = login(Client(), user).get(page_url(review_case, built.study))
        assert response.status_code == 404
        events = list(AccessEvent.objects.order_by("pk")[before:])
        assert events[-1].outcome == AccessEvent.Outcome.DENIED
        assert events[-1].action == "view_study"
        assert "grant" not in response.content.decode()


def test_a_study_of_another_case_is_404(specialist: Any, review_case: Any, family: Any) -> None:
    other = CaseFactory(family=family, assigned_specialist=specialist, status=Status.IN_REVIEW)
    built = build_study(other, slices=1, size=32)
    client = login(Client(), specialist)
    assert client.get(page_url(review_case, built.study)).status_code == 404
    assert (
        client.get(reverse("study_viewer", args=[review_case.reference, 999999])).status_code == 404
    )
    # Through its own case it opens.
    assert client.get(page_url(other, built.study)).status_code == 200


@pytest.mark.parametrize("who", ["specialist", "coordinator"])
def test_a_study_from_a_record_not_scanned_clean_is_404(
    who: str, review_case: Any, request: Any
) -> None:
    built = build_study(review_case, slices=1, size=32, scan=Record.Scan.PENDING)
    client = login(Client(), request.getfixturevalue(who))
    assert client.get(page_url(review_case, built.study)).status_code == 404


def test_instances_of_an_unclean_record_are_neither_listed_nor_served(
    specialist: Any, review_case: Any
) -> None:
    clean = build_study(review_case, slices=2, size=32)
    pending = build_study(review_case, slices=1, size=32, scan=Record.Scan.PENDING)
    # Move the pending record's instance into the clean study, as a second series would be.
    hidden = pending.instances[0]
    type(hidden).objects.filter(pk=hidden.pk).update(study=clean.study, series=clean.series)
    client = login(Client(), specialist)
    config = open_page(client, review_case, clean.study)
    listed = [i["id"] for s in config["series"] for i in s["instances"]]
    assert hidden.pk not in listed
    assert get_instance(client, clean.study.pk, hidden.pk, config["grant"]).status_code == 404


# --- the grant ----------------------------------------------------------------------------


def test_instance_headers(specialist: Any, review_case: Any) -> None:
    built = build_study(review_case, slices=1, size=32)
    client = login(Client(), specialist)
    config = open_page(client, review_case, built.study)
    response = get_instance(client, built.study.pk, built.instances[0].pk, config["grant"])
    assert response["Content-Type"] == "application/dicom"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert response["Content-Disposition"].startswith("attachment")


def test_no_grant_or_a_tampered_one_is_404(specialist: Any, review_case: Any) -> None:
    built = build_study(review_case, slices=1, size=32)
    client = login(Client(), specialist)
    grant = open_page(client, review_case, built.study)["grant"]
    instance = built.instances[0].pk
    assert get_instance(client, built.study.pk, instance, None).status_code == 404
    assert get_instance(client, built.study.pk, instance, "").status_code == 404
    tampered = grant[:-2] + ("AA" if not grant.endswith("AA") else "BB")
    assert get_instance(client, built.study.pk, instance, tampered).status_code == 404
    # Another kind's grant (a slide grant) for the same numbers does not open a study.
    slide = grants.issue(
        kind="slide", user_id=specialist.pk, case_id=review_case.pk, object_id=built.study.pk
    )
    assert get_instance(client, built.study.pk, instance, slide).status_code == 404
    assert get_instance(client, built.study.pk, instance, grant).status_code == 200


def test_a_grant_works_for_no_other_user(
    specialist: Any, coordinator: Any, review_case: Any
) -> None:
    built = build_study(review_case, slices=1, size=32)
    grant = open_page(login(Client(), coordinator), review_case, built.study)["grant"]
    response = get_instance(
        login(Client(), specialist), built.study.pk, built.instances[0].pk, grant
    )
    assert response.status_code == 404
    # Signed out, it is the sign-in redirect, never the file.
    response = get_instance(Client(), built.study.pk, built.instances[0].pk, grant)
    assert response.status_code == 302


def test_a_grant_works_for_no_other_study_or_case(
    specialist: Any, review_case: Any, family: Any
) -> None:
    first = build_study(review_case, slices=1, size=32)
    second = build_study(review_case, slices=1, size=32)
    other_case = CaseFactory(family=family, assigned_specialist=specialist, status=Status.IN_REVIEW)
    elsewhere = build_study(other_case, slices=1, size=32)
    client = login(Client(), specialist)
    grant = open_page(client, review_case, first.study)["grant"]
    # The first study's grant, on the second study's URL, or the second's instance.
    assert get_instance(client, second.study.pk, second.instances[0].pk, grant).status_code == 404
    assert get_instance(client, first.study.pk, second.instances[0].pk, grant).status_code == 404
    # A grant naming another case for this study (as if issued there) opens nothing.
    forged_case = grants.issue(
        kind="study", user_id=specialist.pk, case_id=other_case.pk, object_id=first.study.pk
    )
    assert (
        get_instance(client, first.study.pk, first.instances[0].pk, forged_case).status_code == 404
    )
    assert get_instance(client, first.study.pk, elsewhere.instances[0].pk, grant).status_code == 404


def test_a_grant_expires_within_minutes(specialist: Any, review_case: Any) -> None:
    built = build_study(review_case, slices=1, size=32)
    client = login(Client(), specialist)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        grant = open_page(client, review_case, built.study)["grant"]
        clock.shift(timedelta(seconds=viewer_views.GRANT_SECONDS - 5))
        # Re-sign the session's activity so the idle timeout does not end it first.
        assert get_instance(client, built.study.pk, built.instances[0].pk, grant).status_code == 200
        clock.shift(timedelta(seconds=10))
        assert get_instance(client, built.study.pk, built.instances[0].pk, grant).status_code == 404
    assert viewer_views.GRANT_SECONDS <= 15 * 60


def test_instance_urls_refuse_writes(specialist: Any, review_case: Any) -> None:
    built = build_study(review_case, slices=1, size=32)
    client = login(Client(), specialist)
    grant = open_page(client, review_case, built.study)["grant"]
    url = reverse("study_instance", args=[built.study.pk, built.instances[0].pk])
    assert client.post(url, headers={"X-Study-Grant": grant}).status_code == 405


# --- decoding and headers -----------------------------------------------------------------


def test_a_compressed_instance_is_served_uncompressed(specialist: Any, review_case: Any) -> None:
    built = build_study(review_case, slices=1, size=256, compressed=True)
    client = login(Client(), specialist)
    grant = open_page(client, review_case, built.study)["grant"]
    response = get_instance(client, built.study.pk, built.instances[0].pk, grant)
    assert response.status_code == 200
    ds = pydicom.dcmread(io.BytesIO(body(response)))
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    (x0, y0), (x1, y1) = built.markers
    pixels = ds.pixel_array
    assert x1 - x0 == 120  # 60 mm at 0.5 mm
    assert pixels[y0, x0] == pixels[y1, x1] == 3000
    assert pixels[0, 0] == 24


def test_the_header_is_json_without_pixel_data(specialist: Any, review_case: Any) -> None:
    built = build_study(review_case, slices=1, size=32)
    client = login(Client(), specialist)
    grant = open_page(client, review_case, built.study)["grant"]
    before = AccessEvent.objects.count()
    url = reverse("study_header", args=[built.study.pk, built.instances[0].pk])
    response = client.get(url, headers={"X-Study-Grant": grant})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox")
    data = response.json()
    rows = {row["tag"]: row for row in data["dataset"]}
    assert rows["(0008,0060)"]["value"] == "CT"
    assert rows["(0028,0030)"]["value"] == "0.5\\0.5"
    assert "(7FE0,0010)" not in rows
    assert data["meta"][0]["tag"].startswith("(0002,")
    assert client.get(url).status_code == 404  # no grant
    assert AccessEvent.objects.count() == before


def test_an_unreadable_instance_is_404_not_500(specialist: Any, review_case: Any) -> None:
    built = build_study(review_case, slices=1, size=32, compressed=True)
    from django.core.files.storage import default_storage

    default_storage.delete(built.instances[0].storage_key)
    default_storage.save(built.instances[0].storage_key, io.BytesIO(b"not dicom at all"))
    client = login(Client(), specialist)
    grant = open_page(client, review_case, built.study)["grant"]
    assert get_instance(client, built.study.pk, built.instances[0].pk, grant).status_code == 404
    url = reverse("study_header", args=[built.study.pk, built.instances[0].pk])
    assert client.get(url, headers={"X-Study-Grant": grant}).status_code == 404


# --- links from the case pages ------------------------------------------------------------


def test_case_pages_link_to_the_study_for_those_who_may_open_it(
    specialist: Any, coordinator: Any, physician: Any, family: Any, review_case: Any
) -> None:
    built = build_study(review_case, slices=2, size=32)
    hidden = build_study(review_case, slices=1, size=32, scan=Record.Scan.PENDING)
    link = page_url(review_case, built.study)
    workspace = reverse("workspace_case", args=[review_case.reference])
    portal = reverse("case_detail", args=[review_case.reference])
    for user, url in ((specialist, workspace), (coordinator, workspace), (physician, portal)):
        html = login(Client(), user).get(url).content.decode()
        assert f'href="{link}"' in html, user
        assert "Open the CT study: Generated study</a> (1 series, 2 images)" in html
        assert page_url(review_case, hidden.study) not in html
    html = login(Client(), family).get(portal).content.decode()
    assert link not in html
    assert "Imaging studies" not in html


@pytest.mark.parametrize(
    "name", ["SC_rgb_jpeg_dcmtk.dcm", "MR_small_jp2klossless.dcm", "SC_rgb_jpeg_gdcm.dcm"]
)
def test_jpeg_family_instances_are_decoded_for_the_browser(
    name: str, specialist: Any, review_case: Any
) -> None:
    """pydicom's own compressed examples (JPEG baseline in YBR, JPEG 2000, JPEG lossless),
    read from its installed data folder: served uncompressed, colour as RGB."""
    from imaging.models import Instance
    from imaging.storage import instance_save

    source = Path(pydicom.__file__).parent / "data" / "test_files" / name
    original = pydicom.dcmread(source)
    built = build_study(review_case, slices=1, size=32)
    instance = Instance.objects.create(
        study=built.study,
        series=built.series,
        record=built.record,
        sop_uid=str(original.SOPInstanceUID),
        storage_key=instance_save(data=source.read_bytes()),
        size=source.stat().st_size,
        sort_index=1,
        frames=1,
        transfer_syntax=str(original.file_meta.TransferSyntaxUID),
    )
    client = login(Client(), specialist)
    grant = open_page(client, review_case, built.study)["grant"]
    response = get_instance(client, built.study.pk, instance.pk, grant)
    assert response.status_code == 200
    served = pydicom.dcmread(io.BytesIO(body(response)))
    assert served.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    # pydicom's pixel_array is RGB for colour (it converts YBR itself).
    assert (served.pixel_array == original.pixel_array).all()
    if original.SamplesPerPixel == 3:
        assert served.PhotometricInterpretation == "RGB"
        # The top band of these pictures is red, whatever their encoding.
        assert served.pixel_array[0, 0].tolist()[0] > 240
        assert served.pixel_array[0, 0].tolist()[1:] == [0, 0]
