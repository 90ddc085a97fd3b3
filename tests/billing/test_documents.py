"""Receipts, superbills and no-charge statements: who gets which, through the access gate,
and that every field an insurer needs is in the PDF's text."""

import datetime
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from accounts.models import User
from billing.documents import (
    RECEIPT,
    STATEMENT,
    SUPERBILL,
    available_documents,
    documents_for_user,
    render_document,
)
from billing.models import CaseBilling, Fee, PaymentAttempt, Refund
from cases.models import AccessEvent, Case, Status
from intake.models import Intake
from tests.billing.helpers import make_free, make_paid
from tests.conftest import login
from tests.factories import CaseFactory, specialty
from tests.pdfs import pdf_text


def _text(pdf: bytes) -> str:
    return pdf_text(pdf, layout=True)


URL_NAMES = {RECEIPT: "receipt_pdf", SUPERBILL: "superbill_pdf", STATEMENT: "no_charge_pdf"}


def _intake(case: Case) -> Intake:
    intake, _ = Intake.objects.get_or_create(case=case)
    intake.child_legal_first_name = "Sofia"
    intake.child_legal_last_name = "Ramirez"
    intake.child_date_of_birth = datetime.date(2016, 3, 9)
    intake.guardian_name = "Maria Lopez"
    intake.guardian_relationship = "mother"
    intake.address_line1 = "12 Palm Street"
    intake.address_city = "Pasadena"
    intake.address_state = "CA"
    intake.address_zip = "91101"
    intake.save()
    return intake


@pytest.fixture(autouse=True)
def _hospital(settings: Any) -> None:
    settings.HOSPITAL_NAME = "Sunset Children's Hospital"
    settings.HOSPITAL_ADDRESS = "4650 Sunset Boulevard, Los Angeles, CA 90027"
    settings.HOSPITAL_TAX_ID = "95-1690977"
    settings.HOSPITAL_NPI = "1770587606"
    settings.SUPERBILL_PLACE_OF_SERVICE = "02 Telehealth"
    settings.SERVICE_DESCRIPTION = "Online second opinion by a pediatric specialist"


@pytest.fixture
def paid_case(family: User, physician: User, specialist: User) -> Case:
    case = CaseFactory(
        status=Status.ASSIGNED,
        family=family,
        physician_email=physician.email,
        assigned_specialist=specialist,
    )
    _intake(case)
    make_paid(case)
    return case


@pytest.fixture
def free_case(family: User) -> Case:
    case = CaseFactory(status=Status.SUBMITTED, family=family)
    _intake(case)
    make_free(case)
    return case


def _get(user: User, case: Case, kind: str) -> Any:
    url = reverse(URL_NAMES[kind], kwargs={"reference": case.reference})
    return login(Client(), user).get(url)


def _events(case: Case, since: int) -> list[AccessEvent]:
    return list(AccessEvent.objects.filter(case=case, pk__gt=since).order_by("pk"))


def _last_pk() -> int:
    last = AccessEvent.objects.order_by("-pk").first()
    return last.pk if last else 0


def _assert_pdf_download(response: Any, filename: str) -> bytes:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert response.content.startswith(b"%PDF-")
    return bytes(response.content)


# --- the documents themselves --------------------------------------------------------------


def test_superbill_has_every_field_an_insurer_needs(family: User, paid_case: Case) -> None:
    since = _last_pk()
    response = _get(family, paid_case, SUPERBILL)
    pdf = _assert_pdf_download(response, f"superbill-{paid_case.reference}.pdf")

    text = _text(pdf)
    for expected in [
        "Superbill",
        paid_case.reference,
        "Sunset Children's Hospital",  # hospital name
        "4650 Sunset Boulevard, Los Angeles, CA 90027",  # address
        "95-1690977",  # tax id
        "NPI 1770587606",
        "Sofia Ramirez",  # patient
        "Date of birth March 9, 2016",
        "Maria Lopez (Mother)",  # guardian
        "12 Palm Street",
        "Date of service March 2, 2026",
        "Place of service 02 Telehealth",
        "Online second opinion by a pediatric specialist (Cardiology)",
        "99358",  # CPT
        "Q21.1",  # ICD-10
        "I42.0",
        "Amount charged $875.00",
        "Amount paid on March 2, 2026 $875.00",
        "Balance due $0.00",
        "Visa ending in 4242",
        "Page 1 of 1",
    ]:
        assert expected in text, f"{expected!r} missing from: {text}"

    (event,) = _events(paid_case, since)
    assert (event.user, event.object_type, event.action, event.outcome) == (
        family,
        "superbill",
        "download",
        AccessEvent.Outcome.ALLOWED,
    )
    assert event.request_id == response["X-Request-ID"]


def test_receipt_has_what_a_receipt_needs(family: User, paid_case: Case) -> None:
    since = _last_pk()
    response = _get(family, paid_case, RECEIPT)
    pdf = _assert_pdf_download(response, f"receipt-{paid_case.reference}.pdf")

    text = _text(pdf)
    for expected in [
        "Receipt",
        "Sunset Children's Hospital",
        "4650 Sunset Boulevard, Los Angeles, CA 90027",
        "95-1690977",
        f"Receipt number {paid_case.reference}-1",
        "Date paid March 2, 2026",
        "Paid by Maria Lopez (Mother)",
        "Payment method Visa ending in 4242",
        "Patient Sofia Ramirez",
        "Online second opinion by a pediatric specialist",
        "Date of service March 2, 2026",
        "Amount charged $875.00",
        "Amount paid $875.00",
        "Balance due $0.00",
    ]:
        assert expected in text, f"{expected!r} missing from: {text}"
    (event,) = _events(paid_case, since)
    assert (event.object_type, event.outcome) == ("receipt", AccessEvent.Outcome.ALLOWED)


def test_a_refunded_case_still_has_its_receipt_showing_the_refund(
    family: User, coordinator: User
) -> None:
    case = CaseFactory(status=Status.CLOSED, family=family)
    _intake(case)
    make_paid(case, state=CaseBilling.State.REFUNDED, refunded_cents=87500)
    Refund.objects.create(
        case=case,
        attempt=PaymentAttempt.objects.get(case=case),
        amount_cents=87500,
        reason="Withdrawn before the specialist started",
        refund_id="re_1",
        status="succeeded",
        created_by=coordinator,
    )
    assert available_documents(case) == [RECEIPT, SUPERBILL]

    text = _text(_assert_pdf_download(_get(family, case, RECEIPT), f"receipt-{case.reference}.pdf"))

    assert "Status Refunded" in text
    assert "Total refunded \N{MINUS SIGN}$875.00" in text
    assert "Net paid $0.00" in text
    assert "Withdrawn before" not in text  # the reason stays in our records
    assert _get(family, case, SUPERBILL).status_code == 200


def test_a_partly_refunded_case(family: User) -> None:
    case = CaseFactory(status=Status.IN_REVIEW, family=family)
    _intake(case)
    make_paid(case, state=CaseBilling.State.PARTIALLY_REFUNDED, refunded_cents=30000)

    text = _text(_get(family, case, SUPERBILL).content)

    assert "Refunded \N{MINUS SIGN}$300.00" in text
    assert "Net paid $575.00" in text


def test_a_free_case_has_a_no_charge_statement_and_no_receipt(
    family: User, free_case: Case
) -> None:
    since = _last_pk()
    response = _get(family, free_case, STATEMENT)
    pdf = _assert_pdf_download(response, f"no-charge-statement-{free_case.reference}.pdf")
    text = _text(pdf)
    for expected in [
        "No-charge statement",
        "There is no charge for this second opinion",
        "Sunset Children's Hospital",
        "Name Sofia Ramirez",
        "Date of birth March 9, 2016",
        "Maria Lopez (Mother)",
        "$0.00 (no charge)",
    ]:
        assert expected in text, f"{expected!r} missing from: {text}"
    (event,) = _events(free_case, since)
    assert (event.object_type, event.outcome) == ("statement", AccessEvent.Outcome.ALLOWED)

    for kind in (RECEIPT, SUPERBILL):
        since = _last_pk()
        assert _get(family, free_case, kind).status_code == 404
        allowed, refused = _events(free_case, since)
        assert (allowed.object_type, allowed.outcome) == (kind, AccessEvent.Outcome.ALLOWED)
        assert (refused.object_type, refused.outcome) == (kind, AccessEvent.Outcome.DENIED)


def test_a_free_specialty_without_a_billing_row_still_gets_its_statement(family: User) -> None:
    cardiac = specialty("cardiac-surgery")
    Fee.objects.get_or_create(
        specialty=cardiac,
        effective_from=datetime.date(2026, 1, 1),
        defaults={"amount_cents": 0},
    )
    case = CaseFactory(status=Status.SUBMITTED, family=family, specialty=cardiac)
    assert available_documents(case) == [STATEMENT]
    assert available_documents(CaseFactory(status=Status.SUBMITTED, family=family)) == []


def test_a_free_draft_has_nothing_yet(family: User) -> None:
    case = CaseFactory(status=Status.DRAFT, family=family)
    make_free(case)
    assert available_documents(case) == []
    assert _get(family, case, STATEMENT).status_code == 404


@pytest.mark.parametrize("state", [CaseBilling.State.CARD_SAVED, CaseBilling.State.PAYMENT_NEEDED])
def test_an_unpaid_case_has_no_documents(family: User, state: str) -> None:
    case = CaseFactory(status=Status.PAYMENT_NEEDED, family=family)
    _intake(case)
    CaseBilling.objects.create(
        case=case, fee_cents=87500, state=state, card_brand="visa", card_last4="4242"
    )
    assert available_documents(case) == []
    for kind in (RECEIPT, SUPERBILL, STATEMENT):
        since = _last_pk()
        assert _get(family, case, kind).status_code == 404
        assert [e.outcome for e in _events(case, since)] == ["allowed", "denied"]


def test_another_family_gets_404_and_a_refused_audit_row(
    other_family: User, paid_case: Case
) -> None:
    for kind in (RECEIPT, SUPERBILL, STATEMENT):
        since = _last_pk()
        response = _get(other_family, paid_case, kind)
        assert response.status_code == 404
        (event,) = _events(paid_case, since)
        assert (event.user, event.object_type, event.outcome) == (
            other_family,
            kind,
            AccessEvent.Outcome.DENIED,
        )


def test_who_gets_the_documents(
    paid_case: Case, coordinator: User, physician: User, specialist: User
) -> None:
    """The coordinator, yes; the local physician and the specialist, who are on the case
    for the child's care, never see the family's payment documents."""
    text = _text(_get(coordinator, paid_case, SUPERBILL).content)
    assert "Sofia Ramirez" in text
    for person in (physician, specialist):
        for kind in (RECEIPT, SUPERBILL):
            since = _last_pk()
            assert _get(person, paid_case, kind).status_code == 404
            assert [e.outcome for e in _events(paid_case, since)] == ["allowed", "denied"]


def test_anonymous_is_sent_to_sign_in_and_post_is_refused(family: User, paid_case: Case) -> None:
    url = reverse("receipt_pdf", kwargs={"reference": paid_case.reference})
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert login(Client(), family).post(url).status_code == 405


def test_the_render_needs_no_request(paid_case: Case) -> None:
    """What a Celery task does (e.g. to email the receipt): a case in, a PDF out, no request
    (the renderer itself is shown to work off the main thread in tests/reports)."""
    text = _text(render_document(paid_case, SUPERBILL))
    assert "Sofia Ramirez" in text and "NPI 1770587606" in text


def test_missing_codes_say_so(family: User) -> None:
    case = CaseFactory(status=Status.ASSIGNED, family=family)
    _intake(case)
    make_paid(case, cpt="", icd10="")
    text = _text(render_document(case, SUPERBILL))
    assert "Procedure codes (CPT) Not yet recorded: ask the coordinator." in text


# --- the case page panel and the policy page -----------------------------------------------


def test_the_panel_lists_the_documents_with_download_links(
    family: User, physician: User, paid_case: Case
) -> None:
    documents = documents_for_user(family, paid_case)
    html = render_to_string("billing/_documents_panel.html", {"documents": documents})
    receipt_url = reverse("receipt_pdf", kwargs={"reference": paid_case.reference})
    superbill_url = reverse("superbill_pdf", kwargs={"reference": paid_case.reference})
    assert f'href="{receipt_url}"' in html and f'href="{superbill_url}"' in html
    assert "Download the receipt (PDF)" in html
    assert "Download the superbill (PDF)" in html
    assert 'aria-describedby="billing-doc-superbill-about"' in html
    assert 'id="billing-doc-superbill-about"' in html
    assert reverse("refund_policy") in html
    assert documents_for_user(physician, paid_case) == []
    assert render_to_string("billing/_documents_panel.html", {"documents": []}).strip() == ""


def test_the_refund_policy_is_public_and_plain(client: Client, settings: Any) -> None:
    response = client.get(reverse("refund_policy"))
    assert response.status_code == 200
    text = response.content.decode()
    for expected in [
        "<h1",
        "Refund and cancellation policy",
        "We do not charge it.",
        "never charged",
        "full refund",
        "partial refund",
        "Our coordinator decides the amount",
        f"mailto:{settings.SUPPORT_EMAIL}",
        "5 to 10 business days",
    ]:
        assert expected in text, expected
