"""The study viewer in Chromium: a generated CT series (two bright markers 60 mm apart on
every slice) and an ultrasound clip, opened by the assigned specialist; scrolling by wheel,
keys and slider, window presets and drag, a length measured with the mouse and with the
keyboard, the DICOM header, two series side by side, cine, and axe on the page."""

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from cases.models import AccessEvent, Status
from tests.factories import CaseFactory
from tests.imaging.builders import build_study

from .conftest import assert_styled, axe_check, signed_in

pytestmark = pytest.mark.django_db(transaction=True)

SLICES = 20


def viewport_state(page: Page) -> dict[str, Any]:
    return page.evaluate(
        """() => {
            const el = document.getElementById('study-viewport');
            const vp = cornerstone.getViewport(el);
            return {shown: el.dataset.shown, center: vp.voi.windowCenter,
                    width: vp.voi.windowWidth, scale: vp.scale, invert: vp.invert};
        }"""
    )


def page_point(page: Page, x: float, y: float) -> tuple[float, float]:
    """Where image pixel (x, y) is on the page, through cornerstone's own transform."""
    point = page.evaluate(
        """([x, y]) => {
            const el = document.getElementById('study-viewport');
            const c = cornerstone.pixelToCanvas(el, {x, y});
            const r = el.getBoundingClientRect();
            return [r.left + c.x, r.top + c.y];
        }""",
        [x, y],
    )
    return point[0], point[1]


def mm(page: Page) -> float:
    text = page.locator("#measure-result").inner_text()
    match = re.fullmatch(r"([\d.]+) mm", text)
    assert match, text
    return float(match.group(1))


def test_the_specialist_reads_a_generated_study(
    page: Page, live_server: Any, specialist: Any, family: Any
) -> None:
    case = CaseFactory(family=family, assigned_specialist=specialist, status=Status.IN_REVIEW)
    built = build_study(case, slices=SLICES, size=256, with_cine=True)
    ids = [f"so:{i.pk}:0" for i in built.instances]
    signed_in(page, live_server, specialist)
    before = AccessEvent.objects.count()

    page.goto(f"/workspace/{case.reference}/studies/{built.study.pk}/")
    viewport = page.locator("#study-viewport")
    expect(viewport).to_have_attribute("data-ready", "true")
    assert_styled(page)
    status = page.locator("#slice-status")
    # A CT opens in the middle of the stack.
    expect(status).to_have_text(f"Image 10 of {SLICES}")
    assert viewport_state(page)["shown"] == ids[9]
    expect(page.locator("#ov-slice")).to_contain_text("Position 22.5 mm")
    expect(page.locator("#ov-series")).to_contain_text("Axial generated")

    # Wheel, keys, slider.
    box = viewport.bounding_box()
    assert box
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, 120)
    expect(status).to_have_text(f"Image 11 of {SLICES}")
    # One wheel event is one slice; wait between them, or Chromium may merge the two.
    page.mouse.wheel(0, -120)
    expect(status).to_have_text(f"Image 10 of {SLICES}")
    page.mouse.wheel(0, -120)
    expect(status).to_have_text(f"Image 9 of {SLICES}")
    viewport.focus()
    page.keyboard.press("ArrowDown")
    expect(status).to_have_text(f"Image 10 of {SLICES}")
    page.keyboard.press("End")
    expect(status).to_have_text(f"Image {SLICES} of {SLICES}")
    page.keyboard.press("Home")
    expect(status).to_have_text(f"Image 1 of {SLICES}")
    page.keyboard.press("PageDown")
    expect(status).to_have_text(f"Image 11 of {SLICES}")
    page.get_by_label("Slice", exact=True).fill("5")
    expect(status).to_have_text(f"Image 5 of {SLICES}")
    expect(page.locator("#ov-slice")).to_contain_text("Position 10 mm")
    expect(page.locator("#study-viewport")).to_have_attribute("data-shown", ids[4])

    # The window: the file's by default, a CT preset, typed values, a drag.
    state = viewport_state(page)
    assert (state["center"], state["width"]) == (40, 400)
    page.get_by_label("Window preset").select_option(label="Bone (W 2000, L 500)")
    state = viewport_state(page)
    assert (state["center"], state["width"]) == (500, 2000)
    expect(page.locator("#ov-window")).to_have_text("W 2000 · L 500")
    page.get_by_label("Window (width)").fill("80")
    page.get_by_label("Window (width)").press("Tab")
    assert viewport_state(page)["width"] == 80
    page.mouse.move(box["x"] + 100, box["y"] + 100)
    page.mouse.down()
    page.mouse.move(box["x"] + 160, box["y"] + 130, steps=5)
    page.mouse.up()
    dragged = viewport_state(page)
    assert dragged["width"] > 80 and dragged["center"] > 40
    expect(page.get_by_label("Window preset")).to_have_value("custom")

    # Zoom and invert from the toolbar, then reset.
    page.get_by_role("button", name="Zoom in").click()
    page.get_by_role("button", name="Invert").click()
    zoomed = viewport_state(page)
    assert zoomed["invert"] is True
    page.get_by_role("button", name="Reset").click()
    reset = viewport_state(page)
    assert reset["invert"] is False and reset["scale"] < zoomed["scale"]

    # The markers are where the builder put them: bright on the stored pixels.
    (x0, y0), (x1, y1) = built.markers
    stored = page.evaluate(
        """([x0, y0, x1, y1]) => {
            const el = document.getElementById('study-viewport');
            return [cornerstone.getStoredPixels(el, x0, y0, 1, 1)[0],
                    cornerstone.getStoredPixels(el, x1, y1, 1, 1)[0]];
        }""",
        [x0, y0, x1, y1],
    )
    assert stored == [3000, 3000]

    # Measure with the mouse: two clicks on the markers, 60 mm apart.
    page.get_by_label("Measure").check()
    page.mouse.click(*page_point(page, x0 + 0.5, y0 + 0.5))
    expect(page.locator("#measure-result")).to_contain_text("first point")
    page.mouse.click(*page_point(page, x1 + 0.5, y1 + 0.5))
    assert abs(mm(page) - 60.0) <= 1.0

    # Measure with the keyboard: the cross starts in the middle (128, 128).
    page.get_by_role("button", name="Clear measurement").click()
    viewport.focus()
    for _ in range(6):
        page.keyboard.press("Shift+ArrowLeft")
    for _ in range(6):
        page.keyboard.press("Shift+ArrowUp")
    for _ in range(4):
        page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    for _ in range(12):
        page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Enter")
    assert abs(mm(page) - 60.0) <= 1.0
    # The cross (cyan, drawn over the image) now sits on the second marker. It is drawn on
    # the next animation frame, so wait for it (up to 10 s) rather than read the canvas once.
    page.wait_for_function(
        """([x, y]) => {
            const el = document.getElementById('study-viewport');
            const c = cornerstone.pixelToCanvas(el, {x, y});
            const canvas = el.querySelector('canvas');
            const [r, g, b] = canvas.getContext('2d').getImageData(
                Math.round(c.x), Math.round(c.y), 1, 1).data;
            return r < 80 && g > 180 && b > 180;
        }""",
        arg=[x1, y1],
        timeout=10_000,
    )
    page.get_by_label("Window/level").check()

    # The header, as text.
    page.get_by_role("button", name="Show the DICOM header of this image").click()
    header = page.locator("#dicom-header")
    expect(header).to_contain_text("(0008,0060) CS Modality: CT")
    expect(header).to_contain_text("(0028,0030) DS Pixel Spacing: 0.5\\0.5")
    assert "(7FE0,0010)" not in header.inner_text()

    axe_check(page)

    # Side by side: the ultrasound clip opens beside the CT, and cine plays its frames there.
    compare = page.get_by_role("button", name="Two series side by side")
    compare.click()
    expect(compare).to_have_attribute("aria-pressed", "true")
    second = page.locator("#slice-status-2")
    expect(second).to_have_text("Image 1 of 8")
    expect(page.locator("#ov-slice-2")).to_contain_text("Frame 1 / 8")
    expect(page.locator("#ov-series-2")).to_contain_text("Cine loop")
    page.locator("#study-viewport-2").focus()
    page.keyboard.press("ArrowDown")
    expect(second).to_have_text("Image 2 of 8")
    expect(status).to_have_text(f"Image 5 of {SLICES}")  # the CT stays where it was
    # The toolbar now acts on the clip: no CT presets for ultrasound.
    assert page.get_by_label("Window preset").locator("option").all_inner_texts() == [
        "From the file",
        "Full range of the data",
        "Custom (dragged or typed)",
    ]
    # The clip's own rate (Frame Time 40 ms), then another one typed.
    expect(page.get_by_label("Frames per second")).to_have_value("25")
    page.get_by_label("Frames per second").fill("20")
    page.get_by_role("button", name="Play").click()
    expect(second).not_to_have_text("Image 2 of 8")
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("button", name="Play")).to_have_attribute("aria-pressed", "false")
    axe_check(page)
    # Clicking the CT makes it the one the controls act on again.
    viewport.focus()
    expect(page.get_by_label("Window preset").locator("option")).to_have_count(10)
    compare.click()
    expect(page.locator("#second-pane")).to_be_hidden()

    # The clip from the series list, in the single view.
    page.get_by_role("button", name=re.compile("Series 5: US Cine loop")).click()
    expect(status).to_have_text("Image 1 of 8")

    # One audit row for all of it: the open.
    events = list(AccessEvent.objects.order_by("pk")[before:])
    assert [(e.action, e.object_type, e.outcome) for e in events] == [
        ("view_study", "study", AccessEvent.Outcome.ALLOWED)
    ]


def test_a_compressed_series_is_drawn_from_the_servers_decoding(
    page: Page, live_server: Any, physician: Any, family: Any
) -> None:
    """RLE-compressed CT, opened read-only by the case's physician: the server answers each
    instance uncompressed, and the browser draws the same stored values."""
    case = CaseFactory(family=family, physician_email=physician.email, status=Status.IN_REVIEW)
    built = build_study(case, slices=3, size=256, compressed=True)
    signed_in(page, live_server, physician)
    page.goto(f"/workspace/{case.reference}/studies/{built.study.pk}/")
    expect(page.locator("#study-viewport")).to_have_attribute("data-ready", "true")
    expect(page.locator("#slice-status")).to_have_text("Image 2 of 3")
    (x0, y0), _ = built.markers
    stored = page.evaluate(
        """([x, y]) => cornerstone.getStoredPixels(
            document.getElementById('study-viewport'), x, y, 1, 1)[0]""",
        [x0, y0],
    )
    assert stored == 3000
    # The physician's way back is their own case page.
    expect(page.get_by_role("link", name=f"Case {case.reference}")).to_have_attribute(
        "href", f"/cases/{case.reference}/"
    )
    axe_check(page)
