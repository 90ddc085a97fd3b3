"""The records-release authorisation for outside providers: who gets it, through the access
gate, and that the signed form carries everything a provider needs to release records."""

import datetime
import re
import shutil
import subprocess
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from cases.models import AccessEvent, Case, RecordRequest, Status
from intake.models import Intake
from intake.release import authorisation_context, render_authorisation
from tests.conftest import login
from tests.factories import CaseFactory
from tests.pdfs import inflated, pdf_text

PROVIDER = RecordRequest.From.PROVIDER


@pytest.fixture(autouse=True)
def _hospital(settings: Any) -> None:
    settings.HOSPITAL_NAME = "Sunset Children's Hospital"
    settings.HOSPITAL_ADDRESS = "4650 Sunset Boulevard, Los Angeles, CA 90027"
    settings.SUPPORT_EMAIL = "secondopinion@example.org"


@pytest.fixture
def waiting_case(family: User, physician: User, specialist: User) -> Case:
    case = CaseFactory(
        status=Status.AWAITING_RECORDS,
        family=family,
        physician_email=physician.email,
        assigned_specialist=specialist,
    )
    Intake.objects.create(
        case=case,
        child_legal_first_name="Sofia",
        child_legal_last_name="Ramirez",
        child_date_of_birth=datetime.date(2016, 3, 9),
        guardian_name="Maria Lopez",
        guardian_relationship="mother",
        guardian_phone="626-555-0142",
        address_line1="12 Palm Street",
        address_city="Pasadena",
        address_state="CA",
        address_zip="91101",
    )
    return case


def _request(case: Case, requested_from: str = PROVIDER, **kwargs: Any) -> RecordRequest:
    fields: dict[str, Any] = {
        "what": "MRI brain with contrast, report and images, January 2026",
        "provider_name": "Valley Imaging Center",
        "provider_contact": "1200 Oak Avenue, Fresno, CA 93701 · fax 559-555-0199",
        "due_date": datetime.date(2026, 4, 1),
        **kwargs,
    }
    return RecordRequest.objects.create(
        case=case, requested_from=requested_from, created_by=case.created_by, **fields
    )


def _url(case: Case, record_request: RecordRequest) -> str:
    return reverse("release_authorisation", args=[case.reference, record_request.pk])


def _events(case: Case, since: int) -> list[AccessEvent]:
    return list(AccessEvent.objects.filter(pk__gt=since).order_by("pk"))


def _last_pk() -> int:
    last = AccessEvent.objects.order_by("-pk").first()
    return last.pk if last else 0


def test_family_downloads_a_filled_in_tagged_form(family: User, waiting_case: Case) -> None:
    record_request = _request(waiting_case)
    since = _last_pk()

    response = login(Client(), family).get(_url(waiting_case, record_request))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    filename = f"records-release-{waiting_case.reference}-{record_request.pk}.pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    cache = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= cache
    pdf = bytes(response.content)
    assert pdf.startswith(b"%PDF-")

    [event] = _events(waiting_case, since)
    assert (event.user, event.case, event.object_type, event.object_id) == (
        family,
        waiting_case,
        "release_authorisation",
        str(record_request.pk),
    )
    assert (event.action, event.outcome) == ("download", AccessEvent.Outcome.ALLOWED)

    text = pdf_text(pdf, layout=True)
    for expected in [
        "Authorisation to release medical records",
        waiting_case.reference,
        "Sofia Ramirez",  # the child's legal name
        "March 9, 2016",  # date of birth
        "Maria Lopez",  # guardian
        "Mother",
        "12 Palm Street",
        "Pasadena, CA 91101",
        "626-555-0142",
        "Valley Imaging Center",  # the provider
        "1200 Oak Avenue, Fresno, CA 93701",
        "MRI brain with contrast, report and images, January 2026",  # records wanted
        "Sunset Children's Hospital",  # the recipient
        "4650 Sunset Boulevard, Los Angeles, CA 90027",
        "Second opinion",
        "expires 365 days after the date I sign it",
        "revoke this authorisation at any time",
        "Signature of parent or guardian",
    ]:
        assert expected in text, expected

    raw = inflated(pdf)
    assert b"/StructTreeRoot" in raw and b"/MarkInfo" in raw and b"/Lang" in raw
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
        assert re.search(rb"Tagged:\s+yes", info.stdout)
        assert b"Authorisation to release medical records" in info.stdout  # the PDF title


def test_coordinator_downloads_it_too(coordinator: User, waiting_case: Case) -> None:
    record_request = _request(waiting_case)
    response = login(Client(), coordinator).get(_url(waiting_case, record_request))
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")


@pytest.mark.parametrize("who", ["physician", "specialist"])
def test_physician_and_specialist_get_404_and_the_refusal_is_audited(
    who: str, request: pytest.FixtureRequest, waiting_case: Case
) -> None:
    person: User = request.getfixturevalue(who)
    record_request = _request(waiting_case)
    since = _last_pk()

    response = login(Client(), person).get(_url(waiting_case, record_request))

    assert response.status_code == 404
    gate, refusal = _events(waiting_case, since)
    assert (gate.user, gate.outcome) == (person, AccessEvent.Outcome.ALLOWED)
    assert (refusal.user, refusal.case, refusal.object_type, refusal.outcome) == (
        person,
        waiting_case,
        "release_authorisation",
        AccessEvent.Outcome.DENIED,
    )


@pytest.mark.parametrize("who", ["other_family", "other_physician", "other_specialist"])
def test_outsiders_get_404(who: str, request: pytest.FixtureRequest, waiting_case: Case) -> None:
    person: User = request.getfixturevalue(who)
    record_request = _request(waiting_case)
    since = _last_pk()

    response = login(Client(), person).get(_url(waiting_case, record_request))

    assert response.status_code == 404
    [event] = _events(waiting_case, since)
    assert (event.case, event.outcome) == (waiting_case, AccessEvent.Outcome.DENIED)


@pytest.mark.parametrize(
    "requested_from", [RecordRequest.From.FAMILY, RecordRequest.From.PHYSICIAN]
)
def test_no_form_for_a_request_not_of_an_outside_provider(
    requested_from: str, family: User, coordinator: User, waiting_case: Case
) -> None:
    record_request = _request(waiting_case, requested_from, provider_name="", provider_contact="")
    for person in (family, coordinator):
        response = login(Client(), person).get(_url(waiting_case, record_request))
        assert response.status_code == 404
    assert AccessEvent.objects.latest("pk").outcome == AccessEvent.Outcome.DENIED


def test_no_form_for_another_cases_request(family: User, waiting_case: Case) -> None:
    elsewhere = CaseFactory(status=Status.AWAITING_RECORDS)
    theirs = _request(elsewhere)
    response = login(Client(), family).get(_url(waiting_case, theirs))
    assert response.status_code == 404
    response = login(Client(), family).get(_url(waiting_case, _request(waiting_case)))
    assert response.status_code == 200


def test_post_is_not_allowed(family: User, waiting_case: Case) -> None:
    response = login(Client(), family).post(_url(waiting_case, _request(waiting_case)))
    assert response.status_code == 405


def test_a_case_without_intake_answers_renders_with_blanks(family: User) -> None:
    case = CaseFactory(status=Status.AWAITING_RECORDS, family=family)
    record_request = _request(case, provider_contact="")

    context = authorisation_context(record_request)
    assert context["patient"] == {"name": "", "date_of_birth": None}
    assert context["guardian"]["name"] == "Maria Lopez"  # the account's name
    assert context["guardian"]["address"] == []

    text = pdf_text(render_authorisation(record_request))
    assert "Valley Imaging Center" in text
    assert "Child's legal name" in text and "Date of birth" in text


def test_case_page_links_the_form_for_outside_provider_items(
    family: User, physician: User, waiting_case: Case
) -> None:
    outside = _request(waiting_case)
    own = _request(
        waiting_case, RecordRequest.From.FAMILY, what="School nurse letter", provider_name=""
    )
    received = _request(waiting_case, what="Old X-ray report")
    RecordRequest.objects.filter(pk=received.pk).update(
        received_at=datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC)
    )
    page = reverse("case_detail", args=[waiting_case.reference])

    html = login(Client(), family).get(page).content.decode()
    assert f'href="{_url(waiting_case, outside)}"' in html
    assert "Download the release form to sign" in html
    assert "sign the form and upload it here" in html
    assert _url(waiting_case, own) not in html
    assert _url(waiting_case, received) not in html

    # The physician sees the checklist, not the form with the guardian's details.
    html = login(Client(), physician).get(page).content.decode()
    assert "Valley Imaging Center" in html
    assert "Download the release form to sign" not in html


def test_console_case_page_links_the_form(coordinator: User, waiting_case: Case) -> None:
    outside = _request(waiting_case)
    own = _request(waiting_case, RecordRequest.From.FAMILY, what="School nurse letter")
    page = reverse("admin:cases_case_change", args=[waiting_case.pk])

    html = login(Client(), coordinator).get(page).content.decode()

    assert f'href="{_url(waiting_case, outside)}"' in html
    assert _url(waiting_case, own) not in html
