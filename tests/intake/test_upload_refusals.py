"""Who may add a record, and when, is the table of actions' "upload_records": the family,
the physician, and a coordinator adding what came by fax, by post or on a CD. The case
page's form (``record_add``) and the large-file uploader's steps (``intake.uploads``) ask it
on the locked case row, so a case that moved on meanwhile is refused with the table's words
and anyone else is ``NotYours`` (the gate's audited 404 over HTTP)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import User
from cases.access import NotYours
from cases.actions import LifecycleRefused
from cases.models import Case, RecordRequest, Status, TimelineEvent
from intake import uploads
from intake.models import Intake, Record
from intake.records import record_add
from tests.audit_rows import refusals as _refusals
from tests.conftest import login
from tests.factories import CaseFactory
from tests.pdfs import TINY_PDF as PDF

REFUSED = "Records can no longer be added to this request."


@pytest.fixture
def case(family: User, physician: User, specialist: User) -> Case:
    case = CaseFactory(
        family=family,
        physician_email=physician.email,
        assigned_specialist=specialist,
        status=Status.AWAITING_RECORDS,
    )
    Intake.objects.create(case=case)
    return case


def _file(name: str = "fax.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF)


def test_a_coordinator_adds_a_faxed_record_from_the_case_page(
    case: Case, family: User, coordinator: User
) -> None:
    asked = RecordRequest.objects.create(
        case=case,
        what="The echo report",
        requested_from=RecordRequest.From.PROVIDER,
        created_by=coordinator,
    )
    client = login(Client(), coordinator)
    page = client.get(reverse("case_detail", args=[case.reference])).content.decode()
    # The table says a coordinator adds records: the page offers the form.
    assert reverse("record_upload", args=[case.reference]) in page
    response = client.post(
        reverse("record_upload", args=[case.reference]),
        {"file": _file(), "kind": "clinical_notes", "for_request": asked.pk},
    )
    assert (response.status_code, response["Location"]) == (
        302,
        f"{reverse('case_detail', args=[case.reference])}#records",
    )
    record = Record.objects.get(case=case)
    assert record.uploaded_by == coordinator
    asked.refresh_from_db()
    assert asked.received_at is not None  # what was asked for is ticked off as received
    assert TimelineEvent.objects.filter(case=case, note="Record received: The echo report").exists()
    assert _refusals(case) == []
    page = client.get(response["Location"]).content.decode()
    assert "File received. Thank you." in page


@pytest.mark.parametrize("who", ["specialist", "other_family"])
def test_anyone_else_gets_the_gates_audited_404_from_the_form(
    who: str, case: Case, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(who)
    response = login(Client(), user).post(
        reverse("record_upload", args=[case.reference]), {"file": _file(), "kind": "other"}
    )
    assert response.status_code == 404
    assert _refusals(case) == [(user.pk, "upload", "record")]
    assert not Record.objects.exists()


def test_the_specialist_sees_no_upload_form(case: Case, specialist: User) -> None:
    page = login(Client(), specialist).get(reverse("case_detail", args=[case.reference]))
    assert reverse("record_upload", args=[case.reference]) not in page.content.decode()


def test_the_service_decides_on_the_locked_row_not_on_the_callers_copy(
    case: Case, family: User, specialist: User
) -> None:
    stale = Case.objects.get(pk=case.pk)  # what the view read before the case moved on
    Case.objects.filter(pk=case.pk).update(status=Status.IN_REVIEW)
    with pytest.raises(LifecycleRefused) as refused:
        record_add(case=stale, by=family, uploaded=_file(), kind="other")
    assert (refused.value.code, refused.value.messages) == ("wrong_state", [REFUSED])
    with pytest.raises(LifecycleRefused):
        uploads.upload_start(case=stale, by=family, name="mri.dcm", size=1, kind="imaging")
    assert not Record.objects.exists()


@pytest.mark.parametrize("service", ["form", "uploader"])
def test_the_specialist_is_not_one_who_adds_records(
    service: str, case: Case, specialist: User
) -> None:
    with pytest.raises(NotYours):
        if service == "form":
            record_add(case=case, by=specialist, uploaded=_file(), kind="other")
        else:
            uploads.upload_start(case=case, by=specialist, name="a.pdf", size=1, kind="other")
    assert not Record.objects.exists()
