"""The coordinator's lifecycle of a case: triage, record requests, the proposal the family
confirms (and is then charged for), specialist acceptance, holds and in-person requests.

Every status change goes through ``cases.lifecycle.case_transition``; events that do not
change the status are written to the timeline as notes. Emails are queued in the outbox
inside the same transaction (``case_email``, core.outbox), so they are sent by the task
only after the change commits, never for a change that rolled back; each has a dedupe key
so one event never mails the same person twice. Emails carry no medical detail.

Which state allows which step, and who may take it, is the table in ``cases.actions``:
each service asks ``cases.access.require_may_act`` (a person who may not act:
``NotYours``, a ``PermissionDenied``) and ``cases.actions.require_allowed`` (a state that
does not allow it: ``LifecycleRefused``, a message that can be shown as it is) on the
locked row, and returns that fresh row; the caller's instance is left as it was.
"""

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from cases.notifications import coordinator_addresses as _coordinator_addresses
from cases.notifications import family_addresses as _family_addresses

# is_family_of, require_assigned_specialist, require_coordinator: re-exported, the report
# services and older callers import them from here.
from .access import is_family_of as is_family_of
from .access import require_assigned_specialist as require_assigned_specialist
from .access import require_coordinator as require_coordinator
from .access import require_may_act
from .actions import LifecycleRefused, require_allowed
from .clock import BusinessCalendar
from .clock import due_at as clock_due_at
from .clock import explain as clock_explain
from .lifecycle import case_transition
from .lifecycle import timeline_note as _note
from .models import Case, CaseHold, RecordRequest, Status, TimelineEvent, TurnaroundPolicy
from .notifications import case_email
from .payments import PaymentsUnavailable, payments

S = Status


# --- helpers ------------------------------------------------------------------------------


def _lock(case: Case) -> Case:
    return Case.objects.lock(case)


def _may(by: User | None, locked: Case, action: str) -> None:
    """Who, then when: the person may take this step, and the case's state allows it now."""
    require_may_act(by, locked, action)
    require_allowed(locked, action)


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
    try:
        dropped = payments().card_drop(case=case)
    except PaymentsUnavailable as failure:
        raise LifecycleRefused(
            "The saved card could not be removed just now (the payment service did not "
            "answer). Nothing was changed: please try again in a few minutes.",
            code="card_detach",
        ) from failure
    if dropped:
        _note(case, by, "Saved card removed: this request will not be charged.")


# --- the clock ----------------------------------------------------------------------------


def due_reasons(case: Case, *, holds: Iterable[CaseHold] | None = None) -> list[str]:
    """Why the expected completion date is where it is (holds, review extension), in plain
    sentences for the family and physician; ``holds`` when the caller has read them (the
    case page reads them with the case), else from the database."""
    if case.due_at is None:
        return []
    if holds is None:
        holds = CaseHold.objects.filter(case=case)
    return clock_explain(
        assigned_at=case.assigned_at,
        records_complete_at=case.records_complete_at,
        review_extension=case.review_extension,
        holds=[(h.started_at, h.ended_at) for h in holds],
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
    locked = _lock(case)
    _may(by, locked, "triage")
    return case_transition(case=locked, to=S.IN_TRIAGE, by=by, note="Taken into review.")


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
    locked = _lock(case)
    require_may_act(by, locked, "request_records")
    what = what.strip()
    if not what:
        raise LifecycleRefused("Say which record is needed.", code="what")
    if requested_from not in RecordRequest.From.values:
        raise LifecycleRefused("Say who should send the record.", code="requested_from")
    require_allowed(locked, "request_records")
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
        locked = case_transition(
            case=locked, to=S.AWAITING_RECORDS, by=by, note="Records requested."
        )
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
    locked = _lock(request.case)
    _may(by, locked, "record_received")
    request = RecordRequest.objects.get(pk=request.pk)
    if request.received_at is None:
        request.received_at = timezone.now()
        request.save(update_fields=["received_at"])
        _note(locked, by, f"Record received: {request.what}")
    return request


@transaction.atomic
def record_request_uploaded(*, request: RecordRequest, by: User) -> RecordRequest:
    """The family or physician ticks a requested item off by uploading it. The coordinator
    still checks the file and says when all records are complete."""
    locked = _lock(request.case)
    _may(by, locked, "record_uploaded")
    request = RecordRequest.objects.get(pk=request.pk)
    if request.received_at is None:
        request.received_at = timezone.now()
        request.save(update_fields=["received_at"])
        _note(locked, by, f"Uploaded for the request: {request.what}")
    return request


@transaction.atomic
def records_complete(*, case: Case, by: User) -> Case:
    """Every record is in: ticks off what is still open, starts the record side of the
    clock, and sends a case waiting for records back to review."""
    locked = _lock(case)
    _may(by, locked, "records_complete")
    now = timezone.now()
    RecordRequest.objects.filter(case=locked, received_at__isnull=True).update(received_at=now)
    if locked.records_complete_at is None:
        locked.records_complete_at = now
        locked.save(update_fields=["records_complete_at", "updated_at"])
    _note(locked, by, "All records received.")
    if locked.status == S.AWAITING_RECORDS:
        locked = case_transition(case=locked, to=S.IN_TRIAGE, by=by, note="All records received.")
    return _due_refresh(locked)


# --- the proposal and the family's answer -------------------------------------------------------


@transaction.atomic
def proposal_make(
    *, case: Case, by: User, specialist: User, note: str = "", review_extension: bool = False
) -> Case:
    """Propose the specialist (and so the charges) to the family, who confirm or withdraw.
    When the family asked for someone else, the note says so before anything is charged."""
    locked = _lock(case)
    require_may_act(by, locked, "propose")
    if specialist.role != Role.SPECIALIST or not specialist.is_active:
        raise LifecycleRefused("Choose an active specialist.", code="specialist")
    require_allowed(locked, "propose")
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
    locked = case_transition(
        case=locked,
        to=S.AWAITING_FAMILY_CONFIRMATION,
        by=by,
        note=f"Proposed {specialist.get_full_name()} to the family.",
    )
    round_ = _round(locked, S.AWAITING_FAMILY_CONFIRMATION)
    _email_family(locked, "proposal_ready", f"proposal:{locked.pk}:{round_}")
    return locked


@transaction.atomic
def family_confirm(*, case: Case, by: User) -> Case:
    """The family confirms the specialist and the charges: the specialist is assigned and
    the card charged (billing moves the case to assigned, or to payment needed when the
    charge fails)."""
    locked = _lock(case)
    _may(by, locked, "confirm")
    if locked.proposed_specialist_id is None:
        raise LifecycleRefused("There is no proposal to confirm yet.", code="no_proposal")
    locked.assigned_specialist_id = locked.proposed_specialist_id
    locked.save(update_fields=["assigned_specialist", "updated_at"])
    _note(locked, by, "The family confirmed the specialist and the charges.")
    payments().charge(case=locked, by=by)
    # Stamps once, whichever path assigned it; the row as billing and the stamp left it.
    return assignment_after_payment(case=locked, by=by)


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
    return locked


@transaction.atomic
def family_withdraw(*, case: Case, by: User) -> Case:
    """The family does not go ahead: never charged, the saved card is removed."""
    locked = _lock(case)
    _may(by, locked, "withdraw")
    locked = case_transition(case=locked, to=S.WITHDRAWN, by=by, note="Withdrawn by the family.")
    _card_detach(locked, by)
    _alert_coordinators(
        locked,
        f"The family withdrew {locked.reference} before confirming. Nothing was charged.",
        f"withdrawn:{locked.pk}",
    )
    return locked


@transaction.atomic
def case_decline(*, case: Case, by: User, reason: str) -> Case:
    """The hospital cannot give this opinion: never charged, the saved card is removed, and
    the family reads the reason on the portal."""
    locked = _lock(case)
    require_may_act(by, locked, "decline")
    reason = reason.strip()
    if not reason:
        raise LifecycleRefused("Give the reason the family will read.", code="reason")
    require_allowed(locked, "decline")
    locked.decline_reason = reason
    locked.save(update_fields=["decline_reason", "updated_at"])
    locked = case_transition(case=locked, to=S.DECLINED, by=by, note="Declined.")
    _card_detach(locked, by)
    _email_family(locked, "case_declined", f"declined:{locked.pk}")
    return locked


# --- the specialist -------------------------------------------------------------------------


@transaction.atomic
def specialist_accept(*, case: Case, by: User) -> Case:
    locked = _lock(case)
    _may(by, locked, "accept")
    return case_transition(case=locked, to=S.IN_REVIEW, by=by, note="Accepted by the specialist.")


@transaction.atomic
def specialist_decline(*, case: Case, by: User, reason: str) -> Case:
    """The specialist cannot take the case: back to the coordinator to reassign."""
    locked = _lock(case)
    require_may_act(by, locked, "specialist_decline")
    reason = reason.strip()
    if not reason:
        raise LifecycleRefused("Give the reason for the coordinator.", code="reason")
    require_allowed(locked, "specialist_decline")
    locked.assigned_specialist = None
    locked.save(update_fields=["assigned_specialist", "updated_at"])
    locked = case_transition(
        case=locked, to=S.IN_TRIAGE, by=by, note=f"Declined by the specialist: {reason}"
    )
    round_ = _round(locked, S.IN_TRIAGE)
    _alert_coordinators(
        locked,
        f"The specialist declined {locked.reference}: assign another specialist.",
        f"specialist-declined:{locked.pk}:{round_}",
    )
    _email_family(locked, "specialist_changed", f"specialist-changed:{locked.pk}:{round_}")
    return locked


@transaction.atomic
def specialist_ask(*, case: Case, by: User, reason: str) -> CaseHold:
    """The specialist needs more information: the case goes on hold (the clock stops) with
    the reason, and the coordinators are told to relay it (the specialist never contacts
    the family directly). The coordinator resumes the case with ``hold_end``."""
    locked = _lock(case)
    require_may_act(by, locked, "ask_information")
    reason = reason.strip()
    if not reason:
        raise LifecycleRefused("Say what information you need.", code="reason")
    require_allowed(locked, "ask_information")
    locked = case_transition(
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
    return hold


@transaction.atomic
def specialist_reassign(*, case: Case, by: User, specialist: User, reason: str) -> Case:
    """A coordinator hands an assigned or in-review case to another specialist (the first
    cannot go on, or has not answered in time). The new specialist must accept it; a draft
    report carries over to them; the clock is not restarted; the family is told of the
    change (no names or reasons in the email)."""
    locked = _lock(case)
    require_may_act(by, locked, "reassign")
    reason = reason.strip()
    if not reason:
        raise LifecycleRefused("Give the reason, for the timeline.", code="reason")
    require_allowed(locked, "reassign")
    if (
        not specialist.is_active
        or specialist.role != Role.SPECIALIST
        or specialist.pk == locked.assigned_specialist_id
    ):
        raise LifecycleRefused("Choose another active specialist.", code="specialist")
    before = locked.assigned_specialist
    locked.assigned_specialist = specialist
    locked.save(update_fields=["assigned_specialist", "updated_at"])
    locked = case_transition(
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
    return locked


# --- holds ----------------------------------------------------------------------------------


@transaction.atomic
def hold_start(*, case: Case, by: User, reason: str) -> CaseHold:
    """Pause the case (and its clock) while waiting on the family or the physician."""
    locked = _lock(case)
    require_may_act(by, locked, "hold")
    reason = reason.strip()
    if not reason:
        raise LifecycleRefused("Say what the case is waiting for.", code="reason")
    require_allowed(locked, "hold")
    locked = case_transition(case=locked, to=S.ON_HOLD, by=by, note=f"On hold: {reason}")
    hold = CaseHold.objects.create(
        case=locked, started_at=timezone.now(), reason=reason[:300], started_by=by
    )
    _due_refresh(locked)
    _email_family(locked, "case_on_hold", f"hold:{hold.pk}")
    return hold


@transaction.atomic
def hold_end(*, case: Case, by: User) -> Case:
    """Resume the case where it was; the due date moves by the business time on hold."""
    locked = _lock(case)
    _may(by, locked, "resume")
    locked = case_transition(
        case=locked, to=Status(locked.status_before_hold), by=by, note="Resumed."
    )
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
    return locked


# --- in person ----------------------------------------------------------------------------


@transaction.atomic
def in_person_request(*, case: Case, by: User) -> Case:
    """The family asks to turn the opinion into an in-person appointment (once)."""
    locked = _lock(case)
    _may(by, locked, "in_person")
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
    return locked
