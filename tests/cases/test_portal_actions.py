"""The family's lifecycle actions over HTTP: confirm (free, charged through localstripe,
declined card), withdraw, ask for an in-person appointment; the access gate and the
messages for moves the case's state does not allow; the lifecycle panel."""

from datetime import UTC, datetime
from typing import Any, cast

import pytest
from django.contrib.messages import get_messages
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.models import User
from billing import services as billing_services
from billing.models import CaseBilling, PaymentAttempt
from cases.clock import format_pacific
from cases.models import AccessEvent, Case, Status
from core.models import OutboundEmail
from intake.models import Intake
from tests.billing.conftest import (  # noqa: F401 (fixtures)
    DECLINED_AT_CHARGE,
    case_to_charge,
    localstripe_url,
    ls_count,
    stripe_on,
)
from tests.conftest import login
from tests.factories import CaseFactory, specialty

S = Status
ACTIONS = ("case_confirm", "case_withdraw", "case_in_person")


def _free(family: User, status: Status = S.AWAITING_FAMILY_CONFIRMATION, **kw: Any) -> Case:
    case = cast(
        Case,
        CaseFactory(family=family, status=S.DRAFT, specialty=specialty("cardiac-surgery"), **kw),
    )
    Intake.objects.create(case=case)
    billing_services.fee_fix_at_submission(case=case)
    Case.objects.filter(pk=case.pk).update(status=status)
    case.refresh_from_db()
    return case


def _post(client: Client, name: str, case: Case) -> Any:
    return client.post(reverse(name, args=[case.reference]))


def _said(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _back_to_case(response: Any, case: Case) -> None:
    assert response.status_code == 302
    assert response["Location"] == reverse("case_detail", args=[case.reference])


def test_confirm_free_specialty(client: Client, family: User, specialist: User) -> None:
    case = _free(family, proposed_specialist=specialist)
    assert CaseBilling.objects.get(case=case).fee_cents == 0
    response = _post(login(client, family), "case_confirm", case)
    _back_to_case(response, case)
    assert "now with the specialist" in _said(response)[0]
    case.refresh_from_db()
    assert (case.status, case.assigned_specialist) == (S.ASSIGNED, specialist)
    assert case.assigned_at is not None
    assert not PaymentAttempt.objects.filter(case=case).exists()
    event = AccessEvent.objects.latest("pk")
    assert (event.action, event.object_type, event.outcome) == ("confirm", "case", "allowed")


def test_confirm_charges_the_saved_card(
    client: Client,
    stripe_on: str,  # noqa: F811
    family: User,
    specialist: User,
) -> None:
    case = case_to_charge(stripe_on, family)
    Case.objects.filter(pk=case.pk).update(proposed_specialist=specialist)
    response = _post(login(client, family), "case_confirm", case)
    _back_to_case(response, case)
    case.refresh_from_db()
    billing = CaseBilling.objects.get(case=case)
    assert case.status == S.ASSIGNED
    assert case.assigned_specialist == specialist
    assert (billing.state, billing.paid_cents) == (CaseBilling.State.PAID, 87500)
    assert ls_count(stripe_on, "payment_intents") == 1
    kinds = set(OutboundEmail.objects.filter(case=case).values_list("kind", flat=True))
    assert {"payment_received", "case_assigned", "specialist_new_case"} <= kinds


def test_confirm_with_a_declined_card_needs_payment(
    client: Client,
    stripe_on: str,  # noqa: F811
    family: User,
    specialist: User,
) -> None:
    case = case_to_charge(stripe_on, family, number=DECLINED_AT_CHARGE)
    Case.objects.filter(pk=case.pk).update(proposed_specialist=specialist)
    response = _post(login(client, family), "case_confirm", case)
    _back_to_case(response, case)
    assert "could not be charged" in _said(response)[0]
    case.refresh_from_db()
    assert case.status == S.PAYMENT_NEEDED
    assert case.assigned_at is None
    assert CaseBilling.objects.get(case=case).state == CaseBilling.State.PAYMENT_NEEDED
    assert OutboundEmail.objects.filter(case=case, kind="payment_needed").exists()
    assert not OutboundEmail.objects.filter(case=case, kind="case_assigned").exists()


def test_withdraw_is_never_charged_and_drops_the_card(
    client: Client,
    stripe_on: str,  # noqa: F811
    family: User,
    specialist: User,
    coordinator: User,
) -> None:
    case = case_to_charge(stripe_on, family)
    Case.objects.filter(pk=case.pk).update(proposed_specialist=specialist)
    response = _post(login(client, family), "case_withdraw", case)
    _back_to_case(response, case)
    assert "not charged" in _said(response)[0]
    case.refresh_from_db()
    billing = CaseBilling.objects.get(case=case)
    assert case.status == S.WITHDRAWN
    assert billing.payment_method_id == ""
    assert billing.state == CaseBilling.State.NO_CARD
    assert ls_count(stripe_on, "payment_intents") == 0
    assert not PaymentAttempt.objects.filter(case=case).exists()
    assert OutboundEmail.objects.filter(
        case=case, kind="coordinator_alert", to=coordinator.email
    ).exists()


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize("who", ["other_family", "physician", "coordinator", "specialist"])
def test_only_the_family_may_act(name: str, who: str, request: pytest.FixtureRequest) -> None:
    family = request.getfixturevalue("family")
    user = request.getfixturevalue(who)
    case = _free(family, physician_email="physician@example.com", assigned_specialist=None)
    Case.objects.filter(pk=case.pk).update(
        proposed_specialist=request.getfixturevalue("specialist"),
        assigned_specialist=request.getfixturevalue("specialist"),
    )
    client = login(Client(), user)
    before = AccessEvent.objects.count()
    response = _post(client, name, case)
    assert response.status_code == 404
    case.refresh_from_db()
    assert (case.status, case.in_person_requested_at) == (S.AWAITING_FAMILY_CONFIRMATION, None)
    # The refusal is in the audit log, whoever tried (the table of actions said no).
    tried = {"case_confirm": "confirm", "case_withdraw": "withdraw", "case_in_person": "in_person"}
    refused = AccessEvent.objects.order_by("pk")[before:].filter(
        user=user, outcome=AccessEvent.Outcome.DENIED
    )
    assert [(e.action, e.object_type) for e in refused] == [(tried[name], "case")]


@pytest.mark.parametrize("name", ACTIONS)
def test_anonymous_is_sent_to_sign_in(name: str, family: User) -> None:
    case = _free(family)
    response = _post(Client(), name, case)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("name", ACTIONS)
def test_post_only(name: str, client: Client, family: User) -> None:
    case = _free(family)
    assert login(client, family).get(reverse(name, args=[case.reference])).status_code == 405


@pytest.mark.parametrize("name", ["case_confirm", "case_withdraw"])
def test_wrong_state_is_a_clear_message(
    name: str, client: Client, family: User, specialist: User
) -> None:
    case = _free(family, S.IN_TRIAGE, proposed_specialist=specialist)
    response = _post(login(client, family), name, case)
    _back_to_case(response, case)
    message = _said(response)[0]
    assert "cannot" in message and "Under review by the coordinator" in message
    case.refresh_from_db()
    assert case.status == S.IN_TRIAGE


def test_in_person_request_once(client: Client, family: User, coordinator: User) -> None:
    case = _free(family, S.IN_REVIEW)
    response = _post(login(client, family), "case_in_person", case)
    _back_to_case(response, case)
    assert "call you" in _said(response)[0]
    case.refresh_from_db()
    assert case.in_person_requested_at is not None
    again = _post(client, "case_in_person", case)
    _back_to_case(again, case)
    assert "already asked" in _said(again)[-1]


# --- the lifecycle panel ----------------------------------------------------------------------


def _panel(case: Case, user: User) -> str:
    request = RequestFactory().get("/")
    request.user = user
    return render_to_string(
        "cases/_lifecycle_panel.html", {"case": case, "user": user}, request=request
    )


def test_panel_shows_the_proposal(family: User, specialist: User, settings: Any) -> None:
    case = cast(Case, CaseFactory(family=family, status=S.DRAFT, specialty=specialty("cardiology")))
    billing_services.fee_fix_at_submission(case=case)
    Case.objects.filter(pk=case.pk).update(
        status=S.AWAITING_FAMILY_CONFIRMATION,
        proposed_specialist=specialist,
        proposal_note="Dr. Park leads our clinic.",
    )
    case.refresh_from_db()
    html = _panel(case, family)
    assert "Dr. Helen Park" in html
    assert "$875.00" in html
    assert "Dr. Park leads our clinic." in html
    assert "charges the fee above to the card" in html
    assert reverse("case_confirm", args=[case.reference]) in html
    assert reverse("case_withdraw", args=[case.reference]) in html
    assert 'aria-labelledby="proposal-heading"' in html
    assert settings.IN_PERSON_PHONE in html
    assert "Please review and confirm" not in _panel(case, specialist)


def test_panel_free_proposal_due_date_and_decline(family: User, specialist: User) -> None:
    case = _free(family, proposed_specialist=specialist)
    assert "No charge" in _panel(case, family)
    due = datetime(2026, 12, 11, 1, 0, tzinfo=UTC)
    Case.objects.filter(pk=case.pk).update(status=S.ASSIGNED, due_at=due)
    case.refresh_from_db()
    html = _panel(case, family)
    assert format_pacific(due) in html
    assert "Thursday, December 10, 2026, 5:00 PM Pacific" in html
    Case.objects.filter(pk=case.pk).update(status=S.DECLINED, decline_reason="Not our field.")
    case.refresh_from_db()
    html = _panel(case, family)
    assert "Not our field." in html and "Why we cannot give this opinion" in html


def test_the_family_sees_the_checklist_and_ticks_an_item_off_by_uploading(
    client: Any, family: Any, coordinator: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from cases.models import RecordRequest, Status
    from cases.services import record_request_create, triage_take
    from intake.models import Intake
    from tests.conftest import login
    from tests.factories import CaseFactory

    case = CaseFactory(family=family, status=Status.SUBMITTED)
    Intake.objects.create(case=case)
    triage_take(case=case, by=coordinator)
    wanted = record_request_create(
        case=case, by=coordinator, what="Latest echocardiogram report", requested_from="family"
    )
    record_request_create(
        case=case, by=coordinator, what="Echo images on CD", requested_from="family", by_mail=True
    )
    login(client, family)
    page = client.get(reverse("case_detail", args=[case.reference])).content.decode()
    assert "What the coordinator asked for" in page
    assert "Latest echocardiogram report" in page and "Expected by post" in page
    assert "Which requested item is this?" in page
    pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    response = client.post(
        reverse("record_upload", args=[case.reference]),
        {
            "file": SimpleUploadedFile("echo.pdf", pdf),
            "kind": "imaging_report",
            "for_request": wanted.pk,
        },
    )
    assert response.status_code == 302
    wanted.refresh_from_db()
    assert wanted.received_at is not None
    assert RecordRequest.objects.filter(case=case, received_at__isnull=True).count() == 1
    assert case.timeline.filter(note__startswith="Uploaded for the request").exists()


def test_the_family_sees_the_expected_date_and_why_it_moved(
    client: Any, family: Any, coordinator: Any, specialist: Any
) -> None:
    from django.urls import reverse

    from cases.models import Status
    from cases.services import (
        family_confirm,
        hold_end,
        hold_start,
        proposal_make,
        records_complete,
        triage_take,
    )
    from intake.models import Intake
    from tests.conftest import login
    from tests.factories import CaseFactory

    case = CaseFactory(family=family, status=Status.SUBMITTED, specialty=None)
    Intake.objects.create(case=case)
    from accounts.models import Specialty
    from billing.services import fee_fix_at_submission

    case.specialty = Specialty.objects.get(slug="cardiac-surgery")
    case.save()
    fee_fix_at_submission(case=case)
    triage_take(case=case, by=coordinator)
    proposal_make(case=case, by=coordinator, specialist=specialist, review_extension=True)
    family_confirm(case=case, by=family)
    records_complete(case=case, by=coordinator)
    hold_start(case=case, by=coordinator, reason="Waiting for notes")
    hold_end(case=case, by=coordinator)
    page = login(client, family).get(reverse("case_detail", args=[case.reference]))
    body = page.content.decode()
    assert "We expect the report by" in body and "Pacific" in body
    assert "Why this date" in body
    assert "Imaging or pathology review is needed" in body
