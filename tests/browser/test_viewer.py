"""The specialist's record viewer in a real browser: PDF pages and a DICOM preview load as
images under the site's strict CSP, the DICOM details are a table, and axe finds nothing."""

import re
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from accounts.models import User
from cases.models import AccessEvent, Status
from tests.factories import CaseFactory
from tests.reports.helpers import dicom_bytes
from tests.reports.matrix_viewer import stored_record, tiny_pdf

from .conftest import assert_styled, axe_check, signed_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _loaded(page: Page, alt: str) -> bool:
    image = page.get_by_role("img", name=alt)
    image.scroll_into_view_if_needed()
    expect(image).to_be_visible()
    # Lazy images load once near the viewport: wait for a decoded picture, not a broken one.
    page.wait_for_function(
        "(alt) => { const i = [...document.images].find(i => i.alt === alt);"
        " return i && i.complete && i.naturalWidth > 0; }",
        arg=alt,
    )
    return True


def test_specialist_reads_a_pdf_and_a_dicom_study(
    page: Page, live_server: Any, family: User, specialist: User
) -> None:
    case = CaseFactory(status=Status.IN_REVIEW, family=family, assigned_specialist=specialist)
    pdf = stored_record(case, tiny_pdf(2))
    scan = stored_record(
        case,
        dicom_bytes(window=(0, 400)),
        name="chest-ct.dcm",
        detected_kind="dicom",
        content_type="application/dicom",
        kind="imaging",
    )
    signed_in(page, live_server, specialist)

    page.goto(reverse("viewer_record", args=[case.reference, pdf.uid]))
    expect(page.get_by_role("heading", level=1)).to_have_text("labs.pdf")
    assert_styled(page)
    assert _loaded(page, "Page 1 of 2 of labs.pdf")
    assert _loaded(page, "Page 2 of 2 of labs.pdf")
    download = page.get_by_role(
        "link", name=re.compile(r"^Download the original file\b.*labs\.pdf$")
    )
    expect(download).to_have_attribute(
        "href", reverse("record_download", args=[case.reference, pdf.uid])
    )
    axe_check(page)

    page.goto(reverse("viewer_record", args=[case.reference, scan.uid]))
    expect(page.get_by_role("heading", level=1)).to_have_text("chest-ct.dcm")
    details = page.get_by_role("table", name="Details recorded in the DICOM file")
    expect(details.get_by_role("row", name="Modality CT")).to_be_visible()
    expect(details).to_contain_text("CT CHEST W/O CONTRAST")
    assert _loaded(
        page, "Preview of chest-ct.dcm: frame 1 of 1, window center 0, width 400 (from the file)"
    )
    axe_check(page)

    views = AccessEvent.objects.filter(
        user=specialist, object_type="record", action="view", outcome=AccessEvent.Outcome.ALLOWED
    )
    # Each page and each picture on it went through the gate: 2 pages + 2 PDF pictures,
    # and the DICOM page + its preview.
    assert views.filter(object_id=str(pdf.uid)).count() == 3
    assert views.filter(object_id=str(scan.uid)).count() == 2
