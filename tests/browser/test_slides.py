"""The slide viewer in a real browser: OpenSeadragon opens the demo slide from our tiles under
the site's CSP, the labelled buttons zoom, rotate and go to native magnification from the
keyboard, the scale bar follows, and axe finds nothing."""

import re
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import Page, Response, expect

from accounts.models import User
from cases.models import AccessEvent, Status
from intake.models import Record
from slides.demo import demo_slide_record
from tests.factories import CaseFactory

from .conftest import assert_styled, axe_check, signed_in

TIMES = "\N{MULTIPLICATION SIGN}"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _slide_cache(settings: Any, tmp_path: Any) -> None:
    settings.SLIDES_CACHE_DIR = str(tmp_path / "slides-cache")


def test_specialist_opens_zooms_and_rotates_a_slide(
    page: Page, live_server: Any, family: User, specialist: User, settings: Any
) -> None:
    # Short grants, so that the page renews its grant during the test (every 4 s; a grant's
    # time stamp has whole seconds, so it lasts 7 to 8 s).
    settings.SLIDES_GRANT_SECONDS = 8
    case = CaseFactory(status=Status.IN_REVIEW, family=family, assigned_specialist=specialist)
    record = demo_slide_record(case, by=family, scan=Record.Scan.CLEAN)
    signed_in(page, live_server, specialist)
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))

    page.goto(reverse("workspace_case", args=[case.reference]))
    page.get_by_role("link", name="Slide viewer for demo-biopsy.svs").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Slide: demo-biopsy.svs")
    assert_styled(page)
    status = page.locator("#slide-status")
    expect(status).to_contain_text("rotated 0°")
    page.wait_for_function(
        "() => { const c = document.querySelector('.openseadragon-canvas canvas');"
        " return c && c.width > 0; }"
    )
    # Properties for the specialist.
    expect(page.get_by_text("aperio")).to_be_visible()
    expect(page.get_by_role("table", name="Levels of the image pyramid")).to_contain_text(
        f"2048 {TIMES} 1536"
    )
    scale = page.locator("#slide-scalebar-label")
    expect(scale).to_have_text(re.compile(r"^Scale: \d+ (µm|mm)$"))
    before_zoom = scale.inner_text()

    # Everything from the keyboard: tab to a button and press Enter.
    zoom_in = page.get_by_role("button", name="Zoom in")
    zoom_in.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    expect(scale).not_to_have_text(before_zoom)
    page.get_by_role("button", name=f"Native (40{TIMES})").focus()
    page.keyboard.press("Enter")
    expect(status).to_contain_text(f"Magnification about 40{TIMES}")
    expect(scale).to_have_text("Scale: 20 µm")  # 120 px at 0.25 µm, rounded down to 20
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Rotate left 90°")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(status).to_contain_text("rotated 90°")
    # The slide itself takes keys once focused ("r" rotates, OpenSeadragon's binding).
    page.locator(".openseadragon-canvas").first.focus()
    page.keyboard.press("r")
    expect(status).to_contain_text("rotated 180°")
    # Past the first grant's life: the renewed grant keeps the tiles coming.
    page.wait_for_timeout(9000)
    tiles_before = len([r for r in responses if "/slide_files/" in r.url])
    page.get_by_role("button", name="Zoom out").click()
    page.get_by_role("button", name="Whole slide").click()
    page.get_by_role("button", name=f"Native (40{TIMES})").click()
    page.locator(".openseadragon-canvas").first.focus()
    # Pan into parts not loaded yet until new tiles arrive (up to 30 s: on a loaded machine
    # the first steps may still land on tiles the viewer already holds).
    for _ in range(30):
        for key in ["ArrowRight"] * 4 + ["ArrowDown"] * 3:
            page.keyboard.press(key)
        page.wait_for_timeout(1000)
        if len([r for r in responses if "/slide_files/" in r.url]) > tiles_before:
            break
    page.wait_for_load_state("networkidle")
    assert len([r for r in responses if "/slide_files/" in r.url]) > tiles_before
    failed = [f"{r.status} {r.url}" for r in responses if r.status >= 400]
    assert not failed, failed
    expect(page.locator("#slide-error")).to_be_hidden()
    axe_check(page)

    tiles = [r for r in responses if "/slide_files/" in r.url]
    assert len(tiles) > 5
    assert all(r.status == 200 and r.headers["content-type"] == "image/jpeg" for r in tiles)
    assert not [r for r in responses if r.status >= 400 and "favicon" not in r.url]
    assert not any("label" in r.url or "macro" in r.url for r in responses)
    # The grant rides in a header, never in a URL (access logs, history, Referer).
    assert not any("grant=" in r.url for r in responses)
    assert all(r.request.headers.get("x-slide-grant") for r in tiles)
    assert len({r.request.headers["x-slide-grant"] for r in tiles}) >= 2  # renewed on the way
    renewals = AccessEvent.objects.filter(user=specialist, action="renew_slide_grant")
    assert renewals.count() >= 1
    assert {e.outcome for e in renewals} == {AccessEvent.Outcome.ALLOWED}
    opens = AccessEvent.objects.filter(user=specialist, action="view_slide")
    assert [(e.outcome, e.object_id) for e in opens] == [
        (AccessEvent.Outcome.ALLOWED, str(record.uid))
    ]
