"""The coordinator's lifecycle of a case: triage, record requests, the proposal the family
confirms (and is then charged for), specialist acceptance, holds and in-person requests.

Every status change goes through ``cases.lifecycle.case_transition``; events that do not
change the status are written to the timeline as notes. Emails are queued in the outbox
inside the same transaction (``case_email``, core.outbox), so they are sent by the task
only after the change commits, never for a change that rolled back; each has a dedupe key
so one event never mails the same person twice. Emails carry no medical detail.

Refusals: a move the case's state does not allow raises ``LifecycleRefused`` (or
``IllegalTransition`` from the state machine), both ``ValidationError`` with a message that
can be shown as it is; a person who may not act raises ``PermissionDenied``.
"""

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from cases.notifications import coordinator_addresses as _coordinator_addresses
from cases.notifications import family_addresses as _family_addresses
from core.refusals import Refused

from .access import can_see_case
from .clock import BusinessCalendar
from .clock import due_at as clock_due_at
from .clock import explain as clock_explain
from .lifecycle import case_transition
from .lifecycle import timeline_note as _note
from .models import Case, CaseHold, RecordRequest, Status, TimelineEvent, TurnaroundPolicy
from .notifications import case_email

S = Status


class LifecycleRefused(Refused):
    """A move the case's current state does not allow; the message can be shown as it is."""

    def __init__(self, message: str, code: str = "lifecycle") -> None:
        super().__init__(message, code=code)


# --- helpers ------------------------------------------------------------------------------


def _lock(case: Case) -> Case:
    return Case.objects.lock(case)


def _sync(case: Case, locked: Case, fields: Iterable[str] = ()) -> None:
    for field in ("status", "status_before_hold", *fields):
        setattr(case, field, getattr(locked, field))


def _require_status(case: Case, *allowed: Status, doing: str) -> None:
    if case.status not in allowed:
        raise LifecycleRefused(
            f"This request cannot {doing} now: it is “{Status(case.status).label}”.",
            code="wrong_state",
        )


def require_coordinator(by: User) -> None:
    if not by.is_active or by.role != Role.COORDINATOR:
        raise PermissionDenied("Only a coordinator can do this.")


def is_family_of(user: User, case: Case) -> bool:
    """The owner of the request or a second guardian invited onto it (verified email)."""
    return (
        user.is_authenticated
        and user.is_active
        and user.role == Role.FAMILY
        and can_see_case(user, case)
    )


def _require_family(by: User, case: Case) -> None:
    if not is_family_of(by, case):
        raise PermissionDenied("Only the child's parent or guardian can do this.")


def require_assigned_specialist(by: User, case: Case) -> None:
    if (
        not by.is_active
        or by.role != Role.SPECIALIST
        or case.assigned_specialist_id is None
        or case.assigned_specialist_id != by.pk
    ):
        raise PermissionDenied("Only the specialist assigned to this request can do this.")


def _round(case: Case, status: Status) -> int:
    """How many times the case has entered ``status``: makes dedupe keys per occurrence."""
    return TimelineEvent.objects.filter(
        case=case, kind=TimelineEvent.Kind.STATUS, to_status=status
    ).count()


def _email_family(case: Case, template: str, key: str, **context: Any) -> None:
    case_email(case, template, _family_addresses(case), key, **context)


def _alert_coordinators(case: Case, what: str, key: str) -> None:
    case_email(case, "coordinator_alert", _coordinator_addresses(), key, what=what)


def _card_detach(case: Case, by: User | None) -> None:
    """Drop the saved card of a case that will never be charged (withdrawn or declined)."""
    from billing import services as billing_services
    from billing import stripe_client

    _locked, billing = billing_services.billing_lock(case)
    if not billing.payment_method_id:
        return
    try:
        billing_services._card_forget(billing)
    except stripe_client.StripeFailure as failure:
        raise LifecycleRefused(
            "The saved card could not be removed just now (the payment service did not "
            "answer). Nothing was changed: please try again in a few minutes.",
            code="card_detach",
        ) from failure
    billing.save()
    _note(case, by, "Saved card removed: this request will not be charged.")


# --- the clock ----------------------------------------------------------------------------


def due_reasons(case: Case) -> list[str]:
    """Why the expected completion date is where it is (holds, review extension), in plain
    sentences for the family and physician."""
    if case.due_at is None:
        return []
    return clock_explain(
        assigned_at=case.assigned_at,
        records_complete_at=case.records_complete_at,
        review_extension=case.review_extension,
        holds=[(h.started_at, h.ended_at) for h in CaseHold.objects.filter(case=case)],
        policy=TurnaroundPolicy.current(),
        calendar=BusinessCalendar.from_db(),
    )


def _due_refresh(case: Case) -> Case:
    """Recompute and store when the report is due (None until the case is both assigned and
    has its records complete)."""
    holds = [(h.started_at, h.ended_at) for h in CaseHold.objects.filter(case=case)]
    case.due_at = clock_due_at(
        assigned_at=case.assigned_at,
        records_complete_at=case.records_complete_at,
        review_extension=case.review_extension,
        holds=holds,
        policy=TurnaroundPolicy.current(),
        calendar=BusinessCalendar.from_db(),
    )
    Case.objects.filter(pk=case.pk).update(due_at=case.due_at)
    return case


# --- triage ---------------------------------------------------------------------------------


@transaction.atomic
def triage_take(*, case: Case, by: User) -> Case:
    """A coordinator starts reviewing a submitted request."""
    require_coordinator(by)
    locked = _lock(case)
    _require_status(locked, S.SUBMITTED, doing="be taken into review")
    case_transition(case=case, to=S.IN_TRIAGE, by=by, note="Taken into review.")
    return case


@transaction.atomic
def question_clarify(*, question: Any, by: User, text: str) -> Any:
    """The coordinator rewords a question with the family's agreement: the old wording is
    kept on the (coordinator-only) timeline and the family is told to look."""
    from intake.models import Question

    require_coordinator(by)
    locked = _lock(question.case)
    _require_status(
        locked, S.SUBMITTED, S.IN_TRIAGE, S.AWAITING_RECORDS, doing="have its questions edited"
    )
    text = text.strip()
    if not Question.MIN_LENGTH <= len(text) <= Question.MAX_LENGTH:
        raise LifecycleRefused("Each question must be between 10 and 1,000 characters.")
    question = Question.objects.select_for_update().get(pk=question.pk)
    if question.text == text:
        return question
    before = question.text
    question.text = text
    question.save(update_fields=["text", "updated_at"])
    _note(locked, by, f"Question {question.position} clarified. Before: “{before}”")
    _email_family(locked, "case_update", f"question-clarified:{question.pk}:{question.updated_at}")
    return question


@transaction.atomic
def record_request_create(
    *,
    case: Case,
    by: User,
    what: str,
    requested_from: str,
    provider_name: str = "",
    provider_contact: str = "",
    due_date: date | None = None,
    by_mail: bool = False,
) -> RecordRequest:
    """Ask for a missing record; the case waits for records (from review) and the family,
    and the physician when the request is theirs, are emailed."""
    require_coordinator(by)
    what = what.strip()
    if not what:
        raise LifecycleRefused("Say which record is needed.", code="what")
    if requested_from not in RecordRequest.From.values:
        raise LifecycleRefused("Say who should send the record.", code="requested_from")
    locked = _lock(case)
    _require_status(locked, S.IN_TRIAGE, S.AWAITING_RECORDS, doing="have records requested")
    request = RecordRequest.objects.create(
        case=locked,
        what=what,
        requested_from=requested_from,
        provider_name=provider_name.strip(),
        provider_contact=provider_contact.strip(),
        due_date=due_date,
        by_mail=by_mail,
        created_by=by,
    )
    if locked.status == S.IN_TRIAGE:
        case_transition(case=case, to=S.AWAITING_RECORDS, by=by, note="Records requested.")
    else:
        _note(locked, by, "Another record requested.")
    recipients = _family_addresses(locked)
    if requested_from == RecordRequest.From.PHYSICIAN and locked.physician_email:
        recipients.append(locked.physician_email)
    case_email(locked, "records_requested", recipients, f"records-requested:{request.pk}")
    return request


@transaction.atomic
def record_request_received(*, request: RecordRequest, by: User) -> RecordRequest:
    """Tick one requested record off the checklist."""
    require_coordinator(by)
    _lock(request.case)
    request.refresh_from_db()
    if request.received_at is None:
        request.received_at = timezone.now()
        request.save(update_fields=["received_at"])
        _note(request.case, by, f"Record received: {request.what}")
    return request


@transaction.atomic
def record_request_uploaded(*, request: RecordRequest, by: User) -> RecordRequest:
    """The family or physician ticks a requested item off by uploading it. The coordinator
    still checks the file and says when all records are complete."""
    case = request.case
    if not (is_family_of(by, case) or (by.role == Role.PHYSICIAN and case.physician_email)):
        raise PermissionDenied("Only the family or the physician answer record requests.")
    _lock(case)
    request.refresh_from_db()
    if request.received_at is None:
        request.received_at = timezone.now()
        request.save(update_fields=["received_at"])
        _note(case, by, f"Uploaded for the request: {request.what}")
    return request


@transaction.atomic
def records_complete(*, case: Case, by: User) -> Case:
    """Every record is in: ticks off what is still open, starts the record side of the
    clock, and sends a case waiting for records back to review."""
    require_coordinator(by)
    locked = _lock(case)
    _require_status(
        locked,
        S.IN_TRIAGE,
        S.AWAITING_RECORDS,
        S.AWAITING_FAMILY_CONFIRMATION,
        S.PAYMENT_NEEDED,
        S.ASSIGNED,
        S.IN_REVIEW,
        S.ON_HOLD,
        doing="be marked as having all records",
    )
    now = timezone.now()
    RecordRequest.objects.filter(case=locked, received_at__isnull=True).update(received_at=now)
    if locked.records_complete_at is None:
        locked.records_complete_at = now
        locked.save(update_fields=["records_complete_at", "updated_at"])
    _note(locked, by, "All records received.")
    if locked.status == S.AWAITING_RECORDS:
        case_transition(case=locked, to=S.IN_TRIAGE, by=by, note="All records received.")
    _due_refresh(locked)
    _sync(case, locked, ("records_complete_at", "due_at"))
    return case


# --- the proposal and the family's answer -------------------------------------------------------


@transaction.atomic
def proposal_make(
    *, case: Case, by: User, specialist: User, note: str = "", review_extension: bool = False
) -> Case:
    """Propose the specialist (and so the charges) to the family, who confirm or withdraw.
    When the family asked for someone else, the note says so before anything is charged."""
    require_coordinator(by)
    if specialist.role != Role.SPECIALIST or not specialist.is_active:
        raise LifecycleRefused("Choose an active specialist.", code="specialist")
    locked = _lock(case)
    _require_status(locked, S.IN_TRIAGE, doing="be proposed to the family")
    note = note.strip()
    intake = getattr(locked, "intake", None)
    if intake is not None:
        wanted = intake.preferred_specialist
        wanted_text = intake.preferred_specialist_text.strip()
        if (wanted is not None and wanted.pk != specialist.pk) or (
            wanted is None and wanted_text and wanted_text != specialist.get_full_name()
        ):
            name = wanted.get_full_name() if wanted is not None else wanted_text
            told = (
                f"You asked for {name}; we were not able to arrange that, and propose "
                f"{specialist.get_full_name()} instead."
            )
            note = f"{told} {note}".strip()
    locked.proposed_specialist = specialist
    locked.proposal_note = note
    locked.review_extension = review_extension
    locked.save(
        update_fields=["proposed_specialist", "proposal_note", "review_extension", "updated_at"]
    )
    case_transition(
        case=locked,
        to=S.AWAITING_FAMILY_CONFIRMATION,
        by=by,
        note=f"Proposed {specialist.get_full_name()} to the family.",
    )
    round_ = _round(locked, S.AWAITING_FAMILY_CONFIRMATION)
    _email_family(locked, "proposal_ready", f"proposal:{locked.pk}:{round_}")
    _sync(case, locked, ("proposed_specialist", "proposal_note", "review_extension"))
    return case


@transaction.atomic
def family_confirm(*, case: Case, by: User) -> Case:
    """The family confirms the specialist and the charges: the specialist is assigned and
    the card charged (billing moves the case to assigned, or to payment needed when the
    charge fails)."""
    from billing.services import payment_charge

    _require_family(by, case)
    locked = _lock(case)
    _require_status(locked, S.AWAITING_FAMILY_CONFIRMATION, doing="be confirmed")
    if locked.proposed_specialist_id is None:
        raise LifecycleRefused("There is no proposal to confirm yet.", code="no_proposal")
    locked.assigned_specialist_id = locked.proposed_specialist_id
    locked.save(update_fields=["assigned_specialist", "updated_at"])
    _note(locked, by, "The family confirmed the specialist and the charges.")
    payment_charge(case=locked, by=by)
    locked.refresh_from_db()
    assignment_after_payment(case=locked, by=by)  # stamps once, whichever path assigned it
    locked.refresh_from_db()
    _sync(case, locked, ("assigned_specialist_id", "assigned_at", "due_at"))
    return case


def _assigned(case: Case, by: User | None) -> None:
    case.assigned_at = timezone.now()
    case.save(update_fields=["assigned_at", "updated_at"])
    _due_refresh(case)
    round_ = _round(case, S.ASSIGNED)
    _email_family(case, "case_assigned", f"assigned:{case.pk}:{round_}")
    specialist = case.assigned_specialist
    if specialist is not None:
        case_email(
            case,
            "specialist_new_case",
            [specialist.email],
            f"specialist-new:{case.pk}:{round_}",
        )


@transaction.atomic
def assignment_after_payment(*, case: Case, by: User | None = None) -> Case:
    """Finish the assignment of a case that reached "assigned" by paying on the page after a
    failed charge (billing moves it): stamp ``assigned_at``, start the clock and send the
    assignment emails. Does nothing for a case not assigned, or already stamped."""
    locked = _lock(case)
    if locked.status == S.ASSIGNED and locked.assigned_at is None:
        _assigned(locked, by)
    _sync(case, locked, ("assigned_at", "due_at"))
    return case


@transaction.atomic
def family_withdraw(*, case: Case, by: User) -> Case:
    """The family does not go ahead: never charged, the saved card is removed."""
    _require_family(by, case)
    locked = _lock(case)
    _require_status(locked, S.AWAITING_FAMILY_CONFIRMATION, doing="be withdrawn")
    case_transition(case=locked, to=S.WITHDRAWN, by=by, note="Withdrawn by the family.")
    _card_detach(locked, by)
    _alert_coordinators(
        locked,
        f"The family withdrew {locked.reference} before confirming. Nothing was charged.",
        f"withdrawn:{locked.pk}",
    )
    _sync(case, locked)
    return case


@transaction.atomic
def case_decline(*, case: Case, by: User, reason: str) -> Case:
    """The hospital cannot give this opinion: never charged, the saved card is removed, and
    the family reads the reason on the portal."""
    require_coordinator(by)
    reason = reason.strip()
    if not reason:
        raise LifecycleRefused("Give the reason the family will read.", code="reason")
    locked = _lock(case)
    _require_status(locked, S.IN_TRIAGE, doing="be declined")
    locked.decline_reason = reason
    locked.save(update_fields=["decline_reason", "updated_at"])
    case_transition(case=locked, to=S.DECLINED, by=by, note="Declined.")
    _card_detach(locked, by)
    _email_family(locked, "case_declined", f"declined:{locked.pk}")
    _sync(case, locked, ("decline_reason",))
    return case


# --- the specialist -------------------------------------------------------------------------


@transaction.atomic
def specialist_accept(*, case: Case, by: User) -> Case:
    locked = _lock(case)
    require_assigned_specialist(by, locked)
    _require_status(locked, S.ASSIGNED, doing="be accepted")
    case_transition(case=case, to=S.IN_REVIEW, by=by, note="Accepted by the specialist.")
    return case


@transaction.atomic
def specialist_decline(*, case: Case, by: User, reason: str) -> Case:
    """The specialist cannot take the case: back to the coordinator to reassign."""
    reason = reason.strip()
    if not reason:
        raise LifecycleRefused("Give the reason for the coordinator.", code="reason")
    locked = _lock(case)
    require_assigned_specialist(by, locked)
    _require_status(locked, S.ASSIGNED, doing="be declined by the specialist")
    locked.assigned_specialist = None
    locked.save(update_fields=["assigned_specialist", "updated_at"])
    case_transition(
        case=locked, to=S.IN_TRIAGE, by=by, note=f"Declined by the specialist: {reason}"
    )
    round_ = _round(locked, S.IN_TRIAGE)
    _alert_coordinators(
        locked,
        f"The specialist declined {locked.reference}: assign another specialist.",
        f"specialist-declined:{locked.pk}:{round_}",
    )
    _email_family(locked, "specialist_changed", f"specialist-changed:{locked.pk}:{round_}")
    _sync(case, locked, ("assigned_specialist_id",))
    return case


@transaction.atomic
def specialist_ask(*, case: Case, by: User, reason: str) -> CaseHold:
    """The specialist needs more information: the case goes on hold (the clock stops) with
    the reason, and the coordinators are told to relay it (the specialist never contacts
    the family directly). The coordinator resumes the case with ``hold_end``."""
    reason = reason.strip()
    if not reason:
        raise LifecycleRefused("Say what information you need.", code="reason")
    locked = _lock(case)
    require_assigned_specialist(by, locked)
    _require_status(locked, S.ASSIGNED, S.IN_REVIEW, doing="be put on hold by the specialist")
    case_transition(
        case=locked, to=S.ON_HOLD, by=by, note=f"The specialist asked for information: {reason}"
    )
    hold = CaseHold.objects.create(
        case=locked, started_at=timezone.now(), reason=reason[:300], started_by=by
    )
    _due_refresh(locked)
    _alert_coordinators(
        locked,
        f"The specialist on {locked.reference} needs more information before going on: "
        "sign in to the console to read the request and relay it.",
        f"specialist-asked:{hold.pk}",
    )
    _email_family(locked, "case_on_hold", f"hold:{hold.pk}")
    _sync(case, locked, ("due_at",))
    return hold


@transaction.atomic
def specialist_reassign(*, case: Case, by: User, specialist: User, reason: str) -> Case:
    """A coordinator hands an assigned or in-review case to another specialist (the first
    cannot go on, or has not answered in time). The new specialist must accept it; a draft
    report carries over to them; the clock is not restarted; the family is told of the
    change (no names or reasons in the email)."""
    require_coordinator(by)
    reason = reason.strip()
    if not reason:
        raise LifecycleRefused("Give the reason, for the timeline.", code="reason")
    locked = _lock(case)
    _require_status(locked, S.ASSIGNED, S.IN_REVIEW, doing="be given to another specialist")
    if (
        not specialist.is_active
        or specialist.role != Role.SPECIALIST
        or specialist.pk == locked.assigned_specialist_id
    ):
        raise LifecycleRefused("Choose another active specialist.", code="specialist")
    before = locked.assigned_specialist
    locked.assigned_specialist = specialist
    locked.save(update_fields=["assigned_specialist", "updated_at"])
    case_transition(
        case=locked,
        to=S.ASSIGNED,
        by=by,
        note=f"Reassigned from {before.email if before else '—'} to {specialist.email}: {reason}",
    )
    round_ = _round(locked, S.ASSIGNED)
    case_email(
        locked, "specialist_new_case", [specialist.email], f"specialist-new:{locked.pk}:{round_}"
    )
    _email_family(locked, "specialist_changed", f"specialist-changed:{locked.pk}:a{round_}")
    _sync(case, locked, ("assigned_specialist_id",))
    return case


# --- holds ----------------------------------------------------------------------------------


@transaction.atomic
def hold_start(*, case: Case, by: User, reason: str) -> CaseHold:
    """Pause the case (and its clock) while waiting on the family or the physician."""
    require_coordinator(by)
    reason = reason.strip()
    if not reason:
        raise LifecycleRefused("Say what the case is waiting for.", code="reason")
    locked = _lock(case)
    case_transition(case=locked, to=S.ON_HOLD, by=by, note=f"On hold: {reason}")
    hold = CaseHold.objects.create(
        case=locked, started_at=timezone.now(), reason=reason[:300], started_by=by
    )
    _due_refresh(locked)
    _email_family(locked, "case_on_hold", f"hold:{hold.pk}")
    _sync(case, locked, ("due_at",))
    return hold


@transaction.atomic
def hold_end(*, case: Case, by: User) -> Case:
    """Resume the case where it was; the due date moves by the business time on hold."""
    require_coordinator(by)
    locked = _lock(case)
    _require_status(locked, S.ON_HOLD, doing="resume")
    case_transition(case=locked, to=Status(locked.status_before_hold), by=by, note="Resumed.")
    hold = CaseHold.objects.filter(case=locked, ended_at__isnull=True).order_by("-pk").first()
    if hold is not None:
        hold.ended_at = timezone.now()
        hold.save(update_fields=["ended_at"])
    _due_refresh(locked)
    key = (
        f"resumed:{hold.pk}"
        if hold is not None
        else f"resumed:{locked.pk}:{_round(locked, S.ON_HOLD)}"
    )
    _email_family(locked, "case_resumed", key)
    _sync(case, locked, ("due_at",))
    return case


# --- in person ----------------------------------------------------------------------------


IN_PERSON_OPEN = frozenset(
    {
        S.SUBMITTED,
        S.IN_TRIAGE,
        S.AWAITING_RECORDS,
        S.AWAITING_FAMILY_CONFIRMATION,
        S.PAYMENT_NEEDED,
        S.ASSIGNED,
        S.IN_REVIEW,
        S.REPORT_FINAL,
        S.DELIVERED,
        S.CLOSED,
        S.DECLINED,
        S.ON_HOLD,
    }
)


@transaction.atomic
def in_person_request(*, case: Case, by: User) -> Case:
    """The family asks to turn the opinion into an in-person appointment (once)."""
    _require_family(by, case)
    locked = _lock(case)
    _require_status(locked, *IN_PERSON_OPEN, doing="ask for an in-person appointment")
    if locked.in_person_requested_at is not None:
        raise LifecycleRefused(
            "You have already asked for an in-person appointment: our team will call you.",
            code="already",
        )
    locked.in_person_requested_at = timezone.now()
    locked.save(update_fields=["in_person_requested_at", "updated_at"])
    _note(locked, by, "The family asked for an in-person appointment.")
    _alert_coordinators(
        locked,
        f"The family of {locked.reference} asked for an in-person appointment: call them.",
        f"in-person:{locked.pk}",
    )
    _sync(case, locked, ("in_person_requested_at",))
    return case
