"""Until the virus scan clears a record, only the person who uploaded it may download it;
an infected record goes to nobody; coordinators see each record's scan state."""

from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import User
from cases.models import AccessEvent, Case, Status
from intake.models import Intake, Record
from tests.conftest import login
from tests.factories import CaseFactory
from tests.matrix import close_file

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def case(family: User, physician: User, specialist: User) -> Case:
    case = CaseFactory(
        family=family,
        physician_email=physician.email,
        assigned_specialist=specialist,
        status=Status.IN_REVIEW,
    )
    Intake.objects.create(case=case)
    return case


def _record(case: Case, by: User, scan: str, name: str = "labs.pdf") -> Record:
    record = Record(
        case=case,
        kind="lab_results",
        original_name=name,
        size=len(PDF),
        state=Record.State.AVAILABLE,
        scan_status=scan,
        uploaded_by=by,
        content_type="application/pdf",
        detected_kind="pdf",
    )
    record.file.save("x", ContentFile(PDF), save=False)
    record.save()
    return record


def _download(user: User, record: Record) -> int:
    client = login(Client(), user)
    response = client.get(reverse("record_download", args=[record.case.reference, record.uid]))
    close_file(response)
    return response.status_code


@pytest.mark.parametrize("scan", [Record.Scan.PENDING, Record.Scan.ERROR])
def test_before_the_scan_clears_it_only_the_uploader_downloads(
    case: Case,
    family: User,
    physician: User,
    coordinator: User,
    specialist: User,
    scan: str,
) -> None:
    record = _record(case, family, scan)
    assert _download(family, record) == 200
    for other in (physician, coordinator, specialist):
        before = AccessEvent.objects.count()
        assert _download(other, record) == 404, other.role
        event = AccessEvent.objects.order_by("pk")[before]
        assert (event.user, event.case, event.object_type, event.outcome) == (
            other,
            case,
            "record",
            AccessEvent.Outcome.DENIED,
        )
    # The physician's own upload is theirs to download, not the family's yet.
    theirs = _record(case, physician, scan, name="letter.pdf")
    assert _download(physician, theirs) == 200
    assert _download(family, theirs) == 404


@pytest.mark.parametrize("scan", [Record.Scan.CLEAN, Record.Scan.DEVELOPMENT])
def test_once_cleared_everyone_on_the_case_downloads(
    case: Case, family: User, physician: User, coordinator: User, specialist: User, scan: str
) -> None:
    record = _record(case, family, scan)
    for user in (family, physician, coordinator, specialist):
        assert _download(user, record) == 200, user.role


def test_an_infected_record_goes_to_nobody_not_even_its_uploader(
    case: Case, family: User, physician: User, coordinator: User
) -> None:
    record = _record(case, family, Record.Scan.INFECTED)
    for user in (family, physician, coordinator):
        assert _download(user, record) == 404, user.role
    assert AccessEvent.objects.latest("pk").outcome == AccessEvent.Outcome.DENIED


def test_the_case_page_links_only_what_the_reader_may_download(
    case: Case, family: User, physician: User, coordinator: User
) -> None:
    pending = _record(case, family, Record.Scan.PENDING, name="pending.pdf")
    clean = _record(case, family, Record.Scan.CLEAN, name="clean.pdf")
    infected = _record(case, family, Record.Scan.INFECTED, name="infected.pdf")

    def links(user: User) -> set[str]:
        page = login(Client(), user).get(reverse("case_detail", args=[case.reference]))
        assert page.status_code == 200
        html = page.content.decode()
        return {
            str(r.uid)
            for r in (pending, clean, infected)
            if reverse("record_download", args=[case.reference, r.uid]) in html
        }

    assert links(family) == {str(pending.uid), str(clean.uid)}
    assert links(physician) == {str(clean.uid)}
    html = login(Client(), coordinator).get(reverse("case_detail", args=[case.reference]))
    text = html.content.decode()
    assert links(coordinator) == {str(clean.uid)}
    for label in ("Waiting for virus scan", "Scanned clean", "Quarantined"):
        assert label in text


def test_the_console_shows_each_scan_state_and_links_only_cleared_files(
    case: Case, family: User, coordinator: User
) -> None:
    pending = _record(case, family, Record.Scan.PENDING, name="pending.pdf")
    clean = _record(case, family, Record.Scan.CLEAN, name="clean.pdf")
    _record(case, family, Record.Scan.INFECTED, name="infected.pdf")
    client = login(Client(), coordinator)
    page = client.get(reverse("admin:cases_case_change", args=[case.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    for label in ("Waiting for virus scan", "Scanned clean", "Quarantined"):
        assert label in html
    assert reverse("record_download", args=[case.reference, clean.uid]) in html
    assert reverse("record_download", args=[case.reference, pending.uid]) not in html
    records_list = client.get(reverse("admin:intake_record_changelist"))
    assert records_list.status_code == 200
    assert "Waiting for virus scan" in records_list.content.decode()


def test_a_fresh_upload_is_the_uploaders_at_once(
    client: Client, case: Case, family: User, physician: User, settings: Any
) -> None:
    """Through the real upload: the scan has not run yet (no clamd reachable here)."""
    settings.CLAMD_HOST, settings.CLAMD_PORT = "127.0.0.1", 9  # nothing listens: not cleared
    case = CaseFactory(family=family, physician_email=physician.email, status=Status.SUBMITTED)
    Intake.objects.create(case=case)

    login(client, family)
    response = client.post(
        reverse("record_upload", args=[case.reference]),
        {"file": SimpleUploadedFile("labs.pdf", PDF), "kind": "other", "description": ""},
    )
    assert response.status_code == 302
    record = Record.objects.get(case=case)
    assert record.scan_status != Record.Scan.CLEAN
    assert _download(family, record) == 200
    assert _download(physician, record) == 404
