"""The coordinator's lifecycle services: every move with its state, timeline and emails,
moves the state does not allow refused, and only the right person may act."""

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from django.core.exceptions import PermissionDenied

from accounts.models import User
from billing import services as billing_services
from billing.models import CaseBilling, PaymentAttempt
from cases import services
from cases.clock import BusinessCalendar, due_at
from cases.models import (
    Case,
    CaseHold,
    CaseMember,
    RecordRequest,
    Status,
    TimelineEvent,
    TurnaroundPolicy,
)
from core.models import OutboundEmail
from intake.models import Intake
from tests.factories import CaseFactory, UserFactory, specialty

S = Status


def _case(family: User, status: Status, slug: str = "cardiology", **kwargs: Any) -> Case:
    case = cast(
        Case, CaseFactory(family=family, status=status, specialty=specialty(slug), **kwargs)
    )
    Intake.objects.create(case=case)
    return case


def _free(family: User, status: Status = S.AWAITING_FAMILY_CONFIRMATION, **kw: Any) -> Case:
    case = _case(family, S.DRAFT, "cardiac-surgery", **kw)
    billing_services.fee_fix_at_submission(case=case)
    Case.objects.filter(pk=case.pk).update(status=status)
    case.refresh_from_db()
    return case


def _emails(case: Case, kind: str) -> set[str]:
    return set(OutboundEmail.objects.filter(case=case, kind=kind).values_list("to", flat=True))


def _statuses(case: Case) -> list[tuple[str, str]]:
    return list(
        case.timeline.filter(kind=TimelineEvent.Kind.STATUS).values_list("from_status", "to_status")
    )


def _notes(case: Case) -> list[str]:
    return list(case.timeline.filter(kind=TimelineEvent.Kind.NOTE).values_list("note", flat=True))


# --- triage ---------------------------------------------------------------------------------


def test_triage_take(family: User, coordinator: User) -> None:
    case = _case(family, S.SUBMITTED)
    taken = services.triage_take(case=case, by=coordinator)
    # The service hands back the fresh row and leaves the caller's instance alone.
    assert (taken.status, case.status) == (S.IN_TRIAGE, S.SUBMITTED)
    case.refresh_from_db()
    assert case.status == S.IN_TRIAGE
    event = case.timeline.get(kind=TimelineEvent.Kind.STATUS)
    assert (event.from_status, event.to_status, event.actor) == (
        S.SUBMITTED,
        S.IN_TRIAGE,
        coordinator,
    )


def test_triage_take_refused(family: User, coordinator: User) -> None:
    case = _case(family, S.IN_TRIAGE)
    with pytest.raises(services.LifecycleRefused):
        services.triage_take(case=case, by=coordinator)
    with pytest.raises(PermissionDenied):
        services.triage_take(case=_case(family, S.SUBMITTED), by=family)
    assert not TimelineEvent.objects.exists()


def test_record_request_moves_to_awaiting_records_and_emails(
    family: User, physician: User, coordinator: User
) -> None:
    case = _case(family, S.IN_TRIAGE, physician_email=physician.email)
    request = services.record_request_create(
        case=case,
        by=coordinator,
        what="MRI of the spine, March 2026",
        requested_from=RecordRequest.From.PHYSICIAN,
        by_mail=True,
    )
    case.refresh_from_db()
    assert case.status == S.AWAITING_RECORDS
    assert (request.what, request.requested_from, request.by_mail) == (
        "MRI of the spine, March 2026",
        "physician",
        True,
    )
    assert _statuses(case) == [(S.IN_TRIAGE, S.AWAITING_RECORDS)]
    assert _emails(case, "records_requested") == {family.email, physician.email}
    email = OutboundEmail.objects.filter(kind="records_requested").first()
    assert email is not None and "MRI" not in email.text + email.html + email.subject

    # A second request: the case stays put, the family alone is asked this time.
    second = services.record_request_create(
        case=case, by=coordinator, what="Lab results", requested_from="family"
    )
    case.refresh_from_db()
    assert case.status == S.AWAITING_RECORDS
    assert len(_statuses(case)) == 1
    assert "Another record requested." in _notes(case)
    assert set(
        OutboundEmail.objects.filter(
            dedupe_key__startswith=f"records-requested:{second.pk}:"
        ).values_list("to", flat=True)
    ) == {family.email}


def test_record_request_refused(family: User, coordinator: User) -> None:
    case = _case(family, S.SUBMITTED)
    with pytest.raises(services.LifecycleRefused):
        services.record_request_create(
            case=case, by=coordinator, what="Labs", requested_from="family"
        )
    in_triage = _case(family, S.IN_TRIAGE)
    with pytest.raises(services.LifecycleRefused):
        services.record_request_create(
            case=in_triage, by=coordinator, what=" ", requested_from="family"
        )
    with pytest.raises(PermissionDenied):
        services.record_request_create(
            case=in_triage, by=family, what="Labs", requested_from="family"
        )
    assert not RecordRequest.objects.exists()


def test_record_received_and_records_complete(family: User, coordinator: User) -> None:
    case = _case(family, S.IN_TRIAGE)
    first = services.record_request_create(
        case=case, by=coordinator, what="Labs", requested_from="family"
    )
    second = services.record_request_create(
        case=case, by=coordinator, what="Imaging CD", requested_from="provider"
    )
    services.record_request_received(request=first, by=coordinator)
    first.refresh_from_db()
    assert first.received_at is not None
    assert "Record received: Labs" in _notes(case)

    services.records_complete(case=case, by=coordinator)
    case.refresh_from_db()
    second.refresh_from_db()
    assert second.received_at is not None
    assert case.records_complete_at is not None
    assert case.status == S.IN_TRIAGE
    assert _statuses(case)[-1] == (S.AWAITING_RECORDS, S.IN_TRIAGE)
    assert case.due_at is None  # not assigned yet: the clock has not started


def test_records_complete_refused_for_family_and_closed(family: User, coordinator: User) -> None:
    with pytest.raises(PermissionDenied):
        services.records_complete(case=_case(family, S.IN_TRIAGE), by=family)
    with pytest.raises(services.LifecycleRefused):
        services.records_complete(case=_case(family, S.WITHDRAWN), by=coordinator)


# --- the proposal ---------------------------------------------------------------------------


def test_proposal_make(family: User, coordinator: User, specialist: User) -> None:
    case = _case(family, S.IN_TRIAGE)
    services.proposal_make(
        case=case, by=coordinator, specialist=specialist, note="Dr. Park leads our clinic."
    )
    case.refresh_from_db()
    assert case.status == S.AWAITING_FAMILY_CONFIRMATION
    assert case.proposed_specialist == specialist
    assert case.proposal_note == "Dr. Park leads our clinic."
    assert case.review_extension is False
    assert case.assigned_specialist is None
    assert _statuses(case) == [(S.IN_TRIAGE, S.AWAITING_FAMILY_CONFIRMATION)]
    assert _emails(case, "proposal_ready") == {family.email}


def test_proposal_says_when_the_wished_specialist_is_not_available(
    family: User, coordinator: User, specialist: User, other_specialist: User
) -> None:
    case = _case(family, S.IN_TRIAGE)
    Intake.objects.filter(case=case).update(preferred_specialist=other_specialist)
    case.refresh_from_db()
    services.proposal_make(
        case=case, by=coordinator, specialist=specialist, note="Note.", review_extension=True
    )
    case.refresh_from_db()
    assert case.proposal_note.startswith(f"You asked for {other_specialist.full_name};")
    assert case.proposal_note.endswith("Note.")
    assert case.review_extension is True

    by_text = _case(family, S.IN_TRIAGE)
    Intake.objects.filter(case=by_text).update(preferred_specialist_text="Dr. Someone Else")
    by_text.refresh_from_db()
    services.proposal_make(case=by_text, by=coordinator, specialist=specialist)
    by_text.refresh_from_db()
    assert by_text.proposal_note.startswith("You asked for Dr. Someone Else;")

    granted = _case(family, S.IN_TRIAGE)
    Intake.objects.filter(case=granted).update(preferred_specialist=specialist)
    granted.refresh_from_db()
    services.proposal_make(case=granted, by=coordinator, specialist=specialist)
    granted.refresh_from_db()
    assert granted.proposal_note == ""


def test_proposal_refused(
    family: User, coordinator: User, specialist: User, physician: User
) -> None:
    with pytest.raises(services.LifecycleRefused):
        services.proposal_make(
            case=_case(family, S.AWAITING_RECORDS), by=coordinator, specialist=specialist
        )
    with pytest.raises(services.LifecycleRefused):
        services.proposal_make(
            case=_case(family, S.IN_TRIAGE), by=coordinator, specialist=physician
        )
    with pytest.raises(PermissionDenied):
        services.proposal_make(
            case=_case(family, S.IN_TRIAGE), by=specialist, specialist=specialist
        )


# --- the family's answer ------------------------------------------------------------------------


def test_family_confirm_free_assigns_and_starts_the_clock(family: User, specialist: User) -> None:
    complete = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    case = _free(family, proposed_specialist=specialist, records_complete_at=complete)
    confirmed = services.family_confirm(case=case, by=family)
    assert confirmed.status == S.ASSIGNED  # the fresh row, as the service left it
    assert case.status == S.AWAITING_FAMILY_CONFIRMATION  # the caller's copy is not patched
    case.refresh_from_db()
    assert case.status == S.ASSIGNED
    assert case.assigned_specialist == specialist
    assert case.assigned_at is not None
    assert case.due_at == due_at(
        assigned_at=case.assigned_at,
        records_complete_at=complete,
        review_extension=False,
        holds=[],
        policy=TurnaroundPolicy.current(),
        calendar=BusinessCalendar.from_db(),
    )
    assert not PaymentAttempt.objects.filter(case=case).exists()
    assert CaseBilling.objects.get(case=case).state == CaseBilling.State.NOT_CHARGEABLE
    assert _statuses(case) == [(S.AWAITING_FAMILY_CONFIRMATION, S.ASSIGNED)]
    assert _emails(case, "case_assigned") == {family.email}
    assert _emails(case, "specialist_new_case") == {specialist.email}


def test_family_confirm_by_a_guardian(family: User, specialist: User) -> None:
    guardian = cast(User, UserFactory(email="guardian@example.com"))
    case = _free(family, proposed_specialist=specialist)
    CaseMember.objects.create(
        case=case, role=CaseMember.Role.GUARDIAN, email=guardian.email, invited_by=family
    )
    services.family_confirm(case=case, by=guardian)
    case.refresh_from_db()
    assert case.status == S.ASSIGNED
    assert case.due_at is None  # records are not complete yet
    assert _emails(case, "case_assigned") == {family.email, guardian.email}


def test_family_confirm_without_a_card_needs_payment(family: User, specialist: User) -> None:
    case = _case(family, S.DRAFT, proposed_specialist=specialist)
    billing_services.fee_fix_at_submission(case=case)
    Case.objects.filter(pk=case.pk).update(status=S.AWAITING_FAMILY_CONFIRMATION)
    case.refresh_from_db()
    services.family_confirm(case=case, by=family)
    case.refresh_from_db()
    assert case.status == S.PAYMENT_NEEDED
    assert case.assigned_at is None
    assert _emails(case, "payment_needed") == {family.email}
    assert not _emails(case, "case_assigned")
    assert not _emails(case, "specialist_new_case")


def test_assignment_after_payment_on_the_page(family: User, specialist: User) -> None:
    case = _free(family, S.PAYMENT_NEEDED, assigned_specialist=specialist)
    services.assignment_after_payment(case=case)
    assert case.assigned_at is None  # not assigned yet: nothing happens
    Case.objects.filter(pk=case.pk).update(status=S.ASSIGNED)
    services.assignment_after_payment(case=case)
    case.refresh_from_db()
    stamped = case.assigned_at
    assert stamped is not None
    assert _emails(case, "specialist_new_case") == {specialist.email}
    services.assignment_after_payment(case=case)
    case.refresh_from_db()
    assert case.assigned_at == stamped


def test_family_confirm_refused(
    family: User, other_family: User, physician: User, coordinator: User, specialist: User
) -> None:
    case = _free(family, proposed_specialist=specialist, physician_email=physician.email)
    for who in (other_family, physician, coordinator, specialist):
        with pytest.raises(PermissionDenied):
            services.family_confirm(case=case, by=who)
    triage = _free(family, S.IN_TRIAGE, proposed_specialist=specialist)
    with pytest.raises(services.LifecycleRefused):
        services.family_confirm(case=triage, by=family)
    no_proposal = _free(family)
    with pytest.raises(services.LifecycleRefused):
        services.family_confirm(case=no_proposal, by=family)
    for refused in (case, triage, no_proposal):
        refused.refresh_from_db()
        assert refused.assigned_specialist is None
    assert not TimelineEvent.objects.filter(kind=TimelineEvent.Kind.STATUS).exists()


def test_family_withdraw(family: User, coordinator: User, specialist: User) -> None:
    case = _free(family, proposed_specialist=specialist)
    services.family_withdraw(case=case, by=family)
    case.refresh_from_db()
    assert case.status == S.WITHDRAWN
    assert _statuses(case) == [(S.AWAITING_FAMILY_CONFIRMATION, S.WITHDRAWN)]
    assert _emails(case, "coordinator_alert") == {coordinator.email}
    assert not PaymentAttempt.objects.filter(case=case).exists()
    with pytest.raises(services.LifecycleRefused):
        services.family_withdraw(case=case, by=family)
    with pytest.raises(billing_services.PaymentRefused):
        billing_services.payment_charge(case=case, by=coordinator)


def test_family_withdraw_refused(family: User, other_family: User, coordinator: User) -> None:
    with pytest.raises(PermissionDenied):
        services.family_withdraw(case=_free(family), by=other_family)
    with pytest.raises(PermissionDenied):
        services.family_withdraw(case=_free(family), by=coordinator)
    with pytest.raises(services.LifecycleRefused):
        services.family_withdraw(case=_free(family, S.ASSIGNED), by=family)


def test_case_decline(family: User, coordinator: User) -> None:
    case = _free(family, S.IN_TRIAGE)
    services.case_decline(case=case, by=coordinator, reason="We do not see this condition.")
    case.refresh_from_db()
    assert case.status == S.DECLINED
    assert case.decline_reason == "We do not see this condition."
    assert _emails(case, "case_declined") == {family.email}
    email = OutboundEmail.objects.get(kind="case_declined")
    assert "condition" not in email.text + email.html
    with pytest.raises(billing_services.PaymentRefused):
        billing_services.payment_charge(case=case, by=coordinator)


def test_case_decline_refused(family: User, coordinator: User) -> None:
    with pytest.raises(services.LifecycleRefused):
        services.case_decline(case=_free(family, S.IN_TRIAGE), by=coordinator, reason="  ")
    with pytest.raises(services.LifecycleRefused):
        services.case_decline(case=_free(family), by=coordinator, reason="No.")
    with pytest.raises(PermissionDenied):
        services.case_decline(case=_free(family, S.IN_TRIAGE), by=family, reason="No.")


# --- the specialist -------------------------------------------------------------------------


def test_specialist_accept(family: User, specialist: User, other_specialist: User) -> None:
    case = _case(family, S.ASSIGNED, assigned_specialist=specialist)
    with pytest.raises(PermissionDenied):
        services.specialist_accept(case=case, by=other_specialist)
    with pytest.raises(PermissionDenied):
        services.specialist_accept(case=case, by=family)
    services.specialist_accept(case=case, by=specialist)
    case.refresh_from_db()
    assert case.status == S.IN_REVIEW
    assert _statuses(case) == [(S.ASSIGNED, S.IN_REVIEW)]
    with pytest.raises(services.LifecycleRefused):
        services.specialist_accept(case=case, by=specialist)


def test_specialist_decline(
    family: User, coordinator: User, specialist: User, other_specialist: User
) -> None:
    case = _case(family, S.ASSIGNED, assigned_specialist=specialist)
    with pytest.raises(PermissionDenied):
        services.specialist_decline(case=case, by=other_specialist, reason="Busy.")
    with pytest.raises(services.LifecycleRefused):
        services.specialist_decline(case=case, by=specialist, reason="")
    services.specialist_decline(case=case, by=specialist, reason="Conflict of interest.")
    case.refresh_from_db()
    assert case.status == S.IN_TRIAGE
    assert case.assigned_specialist is None
    assert _statuses(case) == [(S.ASSIGNED, S.IN_TRIAGE)]
    assert _emails(case, "coordinator_alert") == {coordinator.email}
    assert _emails(case, "specialist_changed") == {family.email}


# --- holds and the clock ----------------------------------------------------------------------


def test_hold_start_and_end_move_the_due_date(
    family: User, coordinator: User, specialist: User
) -> None:
    start = datetime(2026, 11, 2, 17, 0, tzinfo=UTC)  # Monday 9:00 Pacific
    case = _case(
        family,
        S.IN_REVIEW,
        assigned_specialist=specialist,
        assigned_at=start,
        records_complete_at=start,
    )
    services._due_refresh(case)
    case.refresh_from_db()
    before = case.due_at
    assert before is not None

    hold = services.hold_start(case=case, by=coordinator, reason="Waiting for the family")
    case.refresh_from_db()
    assert (case.status, case.status_before_hold) == (S.ON_HOLD, S.IN_REVIEW)
    assert (hold.reason, hold.started_by, hold.ended_at) == (
        "Waiting for the family",
        coordinator,
        None,
    )
    assert _emails(case, "case_on_hold") == {family.email}

    CaseHold.objects.filter(pk=hold.pk).update(started_at=hold.started_at - timedelta(days=3))
    services.hold_end(case=case, by=coordinator)
    case.refresh_from_db()
    hold.refresh_from_db()
    assert case.status == S.IN_REVIEW
    assert hold.ended_at is not None
    assert _statuses(case) == [(S.IN_REVIEW, S.ON_HOLD), (S.ON_HOLD, S.IN_REVIEW)]
    assert _emails(case, "case_resumed") == {family.email}
    assert case.due_at == due_at(
        assigned_at=start,
        records_complete_at=start,
        review_extension=False,
        holds=[(hold.started_at, hold.ended_at)],
        policy=TurnaroundPolicy.current(),
        calendar=BusinessCalendar.from_db(),
    )


def test_hold_refused(family: User, coordinator: User) -> None:
    with pytest.raises(services.LifecycleRefused, match="cannot be put on hold now"):
        services.hold_start(case=_case(family, S.WITHDRAWN), by=coordinator, reason="x")
    with pytest.raises(services.LifecycleRefused):
        services.hold_start(case=_case(family, S.IN_TRIAGE), by=coordinator, reason=" ")
    with pytest.raises(services.LifecycleRefused):
        services.hold_end(case=_case(family, S.IN_TRIAGE), by=coordinator)
    with pytest.raises(PermissionDenied):
        services.hold_start(case=_case(family, S.IN_TRIAGE), by=family, reason="x")
    assert not CaseHold.objects.exists()


def test_due_refresh_waits_for_both_starts(family: User) -> None:
    case = _case(family, S.ASSIGNED, assigned_at=datetime(2026, 11, 2, 17, 0, tzinfo=UTC))
    services._due_refresh(case)
    case.refresh_from_db()
    assert case.due_at is None
    case.records_complete_at = datetime(2026, 11, 3, 17, 0, tzinfo=UTC)
    case.review_extension = True
    case.save()
    services._due_refresh(case)
    case.refresh_from_db()
    policy = TurnaroundPolicy.current()
    assert case.due_at is not None
    assert case.due_at == due_at(
        assigned_at=case.assigned_at,
        records_complete_at=case.records_complete_at,
        review_extension=True,
        holds=[],
        policy=policy,
        calendar=BusinessCalendar.from_db(),
    )


# --- in person ------------------------------------------------------------------------------


def test_in_person_request(family: User, coordinator: User, physician: User) -> None:
    case = _case(family, S.IN_REVIEW, physician_email=physician.email)
    with pytest.raises(PermissionDenied):
        services.in_person_request(case=case, by=physician)
    services.in_person_request(case=case, by=family)
    case.refresh_from_db()
    assert case.in_person_requested_at is not None
    assert "The family asked for an in-person appointment." in _notes(case)
    assert _emails(case, "coordinator_alert") == {coordinator.email}
    with pytest.raises(services.LifecycleRefused):
        services.in_person_request(case=case, by=family)
    with pytest.raises(services.LifecycleRefused):
        services.in_person_request(case=_case(family, S.DRAFT), by=family)


def test_the_coordinator_clarifies_a_question_audited_and_the_family_told(
    family: Any, coordinator: Any, client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django.core import mail
    from django.urls import reverse

    from cases.models import Status, TimelineEvent
    from intake.models import Intake, Question
    from tests.conftest import login
    from tests.factories import CaseFactory

    case = CaseFactory(family=family, status=Status.IN_TRIAGE)
    Intake.objects.create(case=case)
    question = Question.objects.create(
        case=case, position=1, text="Is surgery needed soon?", asked_by=family
    )
    login(client, coordinator)
    url = reverse("admin:intake_question_change", args=[question.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"text": "Is surgery needed within the next six months?"})
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.text == "Is surgery needed within the next six months?"
    note = TimelineEvent.objects.get(case=case, kind="note", note__startswith="Question 1")
    assert "Is surgery needed soon?" in note.note and note.actor == coordinator
    assert [m.to for m in mail.outbox] == [[family.email]]
    assert "surgery" not in mail.outbox[0].body  # no medical detail in the email
    # The family cannot use the console.
    login(client, family)
    assert client.post(url, {"text": "Changed by the family?"}).status_code in (302, 403)
    question.refresh_from_db()
    assert question.text == "Is surgery needed within the next six months?"
