"""The report's life: draft, autosave, sign, render, deliver, read; follow-up questions
answered in addenda; amended versions; closing the case.

Rules kept here (views, admin, tasks and tests all call these functions):

- Only the specialist assigned to the case writes, and only a draft. A save names the
  revision it started from; a save from an older revision is refused (``DraftConflict``):
  that is how a second tab on the same draft is caught before it overwrites the first.
- Signing needs every required section and every question answered, then the specialist's
  password or a fresh MFA code (``report_sign``). A signed report never changes (also
  enforced by ``Report.save`` and a PostgreSQL trigger); a correction is a new version.
- The PDF is made by a Celery task after the signature commits (``reports.tasks``), once:
  the task locks the report row, so a retry or a second worker finds the PDF and only
  finishes the delivery, and each delivery email has a dedupe key per report and address.
- Follow-up questions: up to 3 per case, within 30 days of the first delivery, from the
  family or the physician; the specialist answers them all in a signed addendum.
- Emails carry no medical detail (``templates/emails``); task arguments are ids.
"""

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import Role, User
from cases.access import can_see_case
from cases.clock import BusinessCalendar
from cases.lifecycle import case_transition, timeline_note
from cases.models import Case, Status
from cases.notifications import (
    case_email,
    coordinator_addresses,
    family_addresses,
    physician_addresses,
)
from cases.services import require_assigned_specialist, require_coordinator
from core.pdf.render import render_pdf
from core.refusals import Refused

from .models import (
    ANSWER_MAX_CHARS,
    SECTION_MAX_CHARS,
    SECTIONS,
    Answer,
    FollowUpQuestion,
    Report,
    ReportOpening,
)

S = Status
SIGN_ATTEMPTS = 5
SIGN_LOCKOUT = timedelta(minutes=15)
PHYSICIAN_REMINDER_BUSINESS_DAYS = 5


class ReportRefused(Refused):
    """A step the report's or the case's state does not allow; shown as it is."""

    def __init__(self, message: str, code: str = "report") -> None:
        super().__init__(message, code=code)


class DraftConflict(ReportRefused):
    """The draft changed since this editor loaded it (another tab or window saved)."""

    def __init__(self, current_revision: int) -> None:
        super().__init__(
            "This draft was changed in another tab or window. Your text here is kept: copy "
            "what you need, then reload to continue from the saved draft.",
            code="conflict",
        )
        self.current_revision = current_revision


class ReauthFailed(ReportRefused):
    pass


class DraftPartlySaved(ValidationError):
    """Some fields were too long and were not saved; everything else was (``revision``)."""

    def __init__(self, errors: dict[str, str], *, revision: int) -> None:
        super().__init__(errors)
        self.revision = revision


# --- who may do what -----------------------------------------------------------------------


def is_reader(user: User, case: Case) -> bool:
    """The family (owner or invited guardian) or a physician on the case."""
    return (
        user.is_authenticated
        and user.is_active
        and user.role in (Role.FAMILY, Role.PHYSICIAN)
        and can_see_case(user, case)
    )


def _lock_case(case: Case) -> Case:
    return Case.objects.select_for_update().get(pk=case.pk)


def _lock_report(report: Report) -> Report:
    return Report.objects.select_for_update().select_related("case").get(pk=report.pk)


# --- what a report holds -------------------------------------------------------------------


def records_reviewed_default(case: Case) -> str:
    """The list of records the specialist saw (clean, available), one per line, to start
    the "Records reviewed" section from."""
    from intake.models import Record

    records = Record.objects.filter(case=case).cleared().order_by("uploaded_at", "pk")
    return "\n".join(
        f"- {r.original_name} ({r.get_kind_display()}"
        + (f": {r.description}" if r.description else "")
        + f", received {timezone.localdate(r.uploaded_at):%B %-d, %Y})"
        for r in records
    )


def report_problems(report: Report) -> list[str]:
    """What stops this report from being signed, in sentences the specialist can act on."""
    return [problem for _field, problem in report_problem_fields(report)]


def report_problem_fields(report: Report) -> list[tuple[str, str]]:
    """``report_problems`` with the editor field each one is about ("" for none), so the
    editor can link each problem to its field."""
    problems: list[tuple[str, str]] = []
    if report.kind == Report.Kind.REPORT:
        for name, heading, _audience, required in SECTIONS:
            if required and not getattr(report, name).strip():
                problems.append((name, f"Write the section “{heading}”."))
        if report.version > 1 and not report.amendment_reason.strip():
            problems.append(("amendment_reason", "Give the reason for this new version."))
    answers = list(report.answers.all())
    if report.kind == Report.Kind.ADDENDUM and not answers:
        problems.append(("", "There is no follow-up question to answer."))
    for answer in answers:
        if not answer.text.strip():
            label = "follow-up question" if answer.follow_up_id else "question"
            problems.append((f"answer_{answer.position}", f"Answer {label} {answer.position}."))
    return problems


def content_digest(report: Report) -> str:
    """SHA-256 over everything the signature covers, in a fixed order."""
    content: dict[str, Any] = {
        "case": report.case.reference,
        "kind": report.kind,
        "version": report.version,
        "sections": {name: getattr(report, name) for name, *_ in SECTIONS},
        "amendment_reason": report.amendment_reason,
        "answers": [
            [a.position, a.question_text, a.text] for a in report.answers.order_by("position")
        ],
        "signed": [
            report.signed_name,
            report.signed_credentials,
            report.signed_title,
            report.signed_at.isoformat() if report.signed_at else "",
        ],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


# --- drafts --------------------------------------------------------------------------------


def _answers_for_questions(report: Report) -> None:
    from intake.models import Question

    have = set(report.answers.filter(question__isnull=False).values_list("question_id", flat=True))
    taken = set(report.answers.values_list("position", flat=True))
    for question in Question.objects.filter(case=report.case).order_by("position", "pk"):
        if question.pk in have:
            continue
        position = question.position if question.position not in taken else max(taken) + 1
        taken.add(position)
        Answer.objects.create(
            report=report, question=question, question_text=question.text, position=position
        )


def _answers_for_follow_ups(report: Report) -> None:
    have = set(
        report.answers.filter(follow_up__isnull=False).values_list("follow_up_id", flat=True)
    )
    for follow_up in FollowUpQuestion.objects.filter(case=report.case, answered_in__isnull=True):
        if follow_up.pk not in have:
            Answer.objects.create(
                report=report,
                follow_up=follow_up,
                question_text=follow_up.text,
                position=follow_up.position,
            )


def open_draft(case: Case, kind: str = Report.Kind.REPORT) -> Report | None:
    return Report.objects.filter(case=case, kind=kind, signed_at__isnull=True).first()


@transaction.atomic
def report_draft_for(*, case: Case, by: User) -> Report:
    """The report the specialist is writing on this case: the open draft (version 1, or a
    version reopened by a coordinator), created with one answer per question if needed."""
    locked = _lock_case(case)
    require_assigned_specialist(by, locked)
    draft = open_draft(locked)
    if draft is None:
        if Report.objects.filter(case=locked, kind=Report.Kind.REPORT).exists():
            raise ReportRefused(
                "The report is signed. A coordinator can reopen it for a correction.",
                code="signed",
            )
        if locked.status != S.IN_REVIEW:
            raise ReportRefused(
                "The request is on hold: the report can be started once the coordinator resumes it."
                if locked.status == S.ON_HOLD
                else "Accept the case before writing the report.",
                code="wrong_state",
            )
        draft = Report.objects.create(
            case=locked,
            kind=Report.Kind.REPORT,
            version=1,
            author=by,
            records_reviewed=records_reviewed_default(locked),
        )
        timeline_note(locked, by, "The specialist started the report.")
    if draft.author_id != by.pk:  # reassigned: the new specialist carries on the draft
        Report.objects.filter(pk=draft.pk).update(author=by)
        draft.author = by
    _answers_for_questions(draft)
    return draft


@transaction.atomic
def addendum_draft_for(*, case: Case, by: User) -> Report:
    """The addendum answering the follow-up questions not answered yet."""
    locked = _lock_case(case)
    require_assigned_specialist(by, locked)
    draft = open_draft(locked, Report.Kind.ADDENDUM)
    if draft is None:
        if not FollowUpQuestion.objects.filter(case=locked, answered_in__isnull=True).exists():
            raise ReportRefused("There is no follow-up question to answer.", code="nothing")
        last = (
            Report.objects.filter(case=locked, kind=Report.Kind.ADDENDUM)
            .order_by("-version")
            .values_list("version", flat=True)
            .first()
        )
        draft = Report.objects.create(
            case=locked, kind=Report.Kind.ADDENDUM, version=(last or 0) + 1, author=by
        )
    _answers_for_follow_ups(draft)
    return draft


def draft_save(
    *,
    report: Report,
    by: User,
    revision: int,
    sections: dict[str, str] | None = None,
    answers: dict[int, str] | None = None,
    amendment_reason: str | None = None,
) -> Report:
    """Save what the editor sent (any subset of fields). Refuses a stale ``revision``.

    A field that is too long is not saved, but the others are (one over-long answer must
    not hold back everything else typed): ``DraftPartlySaved`` then names the bad fields
    and carries the new revision."""
    with transaction.atomic():
        locked, errors = _draft_save_locked(
            report=report,
            by=by,
            revision=revision,
            sections=sections,
            answers=answers,
            amendment_reason=amendment_reason,
        )
    report.revision = locked.revision
    if errors:
        raise DraftPartlySaved(errors, revision=locked.revision)
    return locked


def _draft_save_locked(
    *,
    report: Report,
    by: User,
    revision: int,
    sections: dict[str, str] | None,
    answers: dict[int, str] | None,
    amendment_reason: str | None,
) -> tuple[Report, dict[str, str]]:
    locked = _lock_report(report)
    require_assigned_specialist(by, locked.case)
    if locked.is_signed:
        raise ReportRefused("This report is signed and can no longer be changed.", code="signed")
    if revision != locked.revision:
        raise DraftConflict(locked.revision)
    allowed = {name for name, *_ in SECTIONS} if locked.kind == Report.Kind.REPORT else set()
    fields: list[str] = []
    errors: dict[str, str] = {}
    for name, value in (sections or {}).items():
        if name not in allowed:
            raise ReportRefused(f"Unknown section “{name}”.", code="unknown")
        max_length = SECTION_MAX_CHARS
        if len(value) > max_length:
            errors[name] = f"Keep this section under {max_length:,} characters."
            continue
        setattr(locked, name, value)
        fields.append(name)
    if amendment_reason is not None and locked.version > 1:
        locked.amendment_reason = amendment_reason[:2000]
        fields.append("amendment_reason")
    if answers:
        by_position = {a.position: a for a in locked.answers.all()}
        for position, text in answers.items():
            answer = by_position.get(int(position))
            if answer is None:
                raise ReportRefused(f"There is no question {position}.", code="unknown")
            if len(text) > ANSWER_MAX_CHARS:
                errors[f"answer_{position}"] = (
                    f"Keep this answer under {ANSWER_MAX_CHARS:,} characters."
                )
                continue
            if answer.text != text:
                answer.text = text
                answer.save(update_fields=["text"])
    locked.revision += 1
    locked.save(update_fields=[*fields, "revision", "updated_at"])
    return locked, errors


# --- signing -------------------------------------------------------------------------------


def _reauthenticate(by: User, *, password: str, code: str) -> str:
    """Check the specialist's password or MFA code; returns the method used. Failures are
    counted per user: after SIGN_ATTEMPTS in SIGN_LOCKOUT, signing waits."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP

    key = f"report-sign-failures:{by.pk}"
    if (cache.get(key) or 0) >= SIGN_ATTEMPTS:
        raise ReauthFailed(
            "Too many attempts to confirm your identity. Wait 15 minutes and try again.",
            code="locked",
        )
    method = ""
    if code.strip():
        authenticator = Authenticator.objects.filter(user=by, type=Authenticator.Type.TOTP).first()
        if authenticator is not None and TOTP(authenticator).validate_code(code.strip()):
            method = "mfa"
    elif password and by.check_password(password):
        method = "password"
    if not method:
        try:
            cache.add(key, 0, timeout=int(SIGN_LOCKOUT.total_seconds()))
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=int(SIGN_LOCKOUT.total_seconds()))
        raise ReauthFailed(
            "That password or code is not right. Enter your password, or a current code "
            "from your authenticator app.",
            code="reauth",
        )
    cache.delete(key)
    return method


def signer_details(by: User) -> tuple[str, str, str]:
    profile = getattr(by, "specialist_profile", None)
    name = by.full_name or by.email
    credentials = profile.credentials if profile is not None else ""
    title = profile.title if profile is not None else ""
    return name, credentials, title


@transaction.atomic
def report_sign(
    *,
    report: Report,
    by: User,
    password: str = "",
    code: str = "",
    revision: int | None = None,
) -> Report:
    """Sign (finalise) the report: it becomes immutable, carries the signer's name,
    credentials and the UTC time, and its PDF is made and delivered after commit.

    ``revision`` is the draft revision the signer's page showed: checked under the lock,
    so a save from another tab in between makes the signature refused, never silently
    cover text the signer has not seen."""
    from .tasks import report_render

    # Case first, then report: the same order as every other path (no deadlock).
    case = _lock_case(report.case)
    locked = _lock_report(report)
    require_assigned_specialist(by, case)
    if locked.is_signed:
        raise ReportRefused("This report is already signed.", code="signed")
    if revision is not None and revision != locked.revision:
        raise DraftConflict(locked.revision)
    first_report = locked.kind == Report.Kind.REPORT and locked.version == 1
    if first_report and case.status != S.IN_REVIEW:
        raise ReportRefused(
            f"The report cannot be signed while the request is “{Status(case.status).label}”.",
            code="wrong_state",
        )
    if not first_report and case.status != S.DELIVERED:
        raise ReportRefused(
            "A new version or an addendum can only be signed once the report is delivered.",
            code="wrong_state",
        )
    if locked.kind == Report.Kind.REPORT:
        _answers_for_questions(locked)
    problems = report_problems(locked)
    if problems:
        raise ReportRefused(" ".join(problems), code="incomplete")
    method = _reauthenticate(by, password=password, code=code)
    # The wording signed is the wording asked (a coordinator may have clarified it since).
    for answer in locked.answers.select_related("question", "follow_up"):
        source = answer.question or answer.follow_up
        if source is not None and answer.question_text != source.text:
            answer.question_text = source.text
            answer.save(update_fields=["question_text"])
    locked.signed_name, locked.signed_credentials, locked.signed_title = signer_details(by)
    locked.signed_at = timezone.now()
    locked.signed_method = method
    locked.author = by
    locked.content_sha256 = content_digest(locked)
    locked.save()
    if locked.kind == Report.Kind.ADDENDUM:
        FollowUpQuestion.objects.filter(
            pk__in=locked.answers.values("follow_up_id"), answered_in__isnull=True
        ).update(answered_in=locked)
    if first_report:
        case_transition(case=case, to=S.REPORT_FINAL, by=by, note="Report signed.")
    else:
        timeline_note(case, by, f"{locked.title} signed.")
    report_id = locked.pk
    # Robust: the signature stands even if the broker is down at this moment; the render
    # sweep (reports.tasks.render_sweep) queues it again.
    transaction.on_commit(lambda: report_render.delay(report_id), robust=True)
    report.signed_at = locked.signed_at
    return locked


# --- rendering and delivery ----------------------------------------------------------------


def report_context(report: Report, *, draft: bool = False) -> dict[str, Any]:
    """What the PDF template and the portal page show: one place for both."""
    from django.conf import settings

    case = report.case
    intake = getattr(case, "intake", None)
    return {
        "report": report,
        "case": case,
        "intake": intake,
        "sections": [
            {"name": name, "heading": heading, "audience": audience, "text": getattr(report, name)}
            for name, heading, audience, _required in SECTIONS
            if report.kind == Report.Kind.REPORT
            and (getattr(report, name).strip() or name != "clinical_trials")
        ],
        "answers": list(report.answers.order_by("position")),
        "hospital": {"name": settings.HOSPITAL_NAME, "address": settings.HOSPITAL_ADDRESS},
        "site_name": settings.SITE_NAME,
        "draft": draft,
        "previous": report.supersedes,
    }


def render_report_pdf(report: Report, *, draft: bool = False) -> bytes:
    context = report_context(report, draft=draft)
    return render_pdf(template="reports/report_pdf.html", context=context)


def _report_email_template(report: Report) -> str:
    if report.kind == Report.Kind.ADDENDUM:
        return "report_addendum"
    return "report_ready" if report.version == 1 else "report_updated"


def report_deliver(report: Report) -> Report:
    """Mark a rendered report delivered, move the case, tell family and physician (once)."""
    assert transaction.get_connection().in_atomic_block, "deliver inside the render's lock"
    if report.delivered_at is not None or not report.pdf:
        return report
    case = _lock_case(report.case)
    report.delivered_at = timezone.now()
    report.save(update_fields=["delivered_at"])
    if report.kind == Report.Kind.REPORT and report.version == 1:
        case_transition(case=case, to=S.DELIVERED, by=None, note="Report delivered.")
    else:
        timeline_note(case, None, f"{report.title} delivered.")
    template = _report_email_template(report)
    case_email(
        case, template, [*family_addresses(case), *physician_addresses(case)], f"report:{report.pk}"
    )
    return report


def readable_reports(case: Case) -> list[Report]:
    """Every delivered report, version and addendum of the case, oldest first."""
    return list(
        Report.objects.filter(case=case, delivered_at__isnull=False)
        .select_related("supersedes")
        .order_by("kind", "version")
    )


def current_report(case: Case) -> Report | None:
    """The latest delivered version of the report."""
    return (
        Report.objects.filter(case=case, kind=Report.Kind.REPORT, delivered_at__isnull=False)
        .order_by("-version")
        .first()
    )


def report_opened(report: Report, user: User) -> bool:
    """Note the first time each family member or physician opens a report. True if first."""
    if user.role not in (Role.FAMILY, Role.PHYSICIAN) or report.delivered_at is None:
        return False
    _opening, created = ReportOpening.objects.get_or_create(
        report=report, user=user, defaults={"role": user.role}
    )
    if created:
        who = "The physician" if user.role == Role.PHYSICIAN else "The family"
        timeline_note(report.case, user, f"{who} ({user.email}) first opened {report.title}.")
    return created


def physician_reminders_send(now: datetime | None = None) -> int:
    """One reminder to the physician(s) of a report nobody on the physician side has opened
    5 business days after delivery. Safe when two sweeps run: the claim is a conditional
    update, and each email has a dedupe key."""
    now = now or timezone.now()
    calendar = BusinessCalendar.from_db()
    opened = ReportOpening.objects.filter(
        report__case=OuterRef("case"), report__kind=Report.Kind.REPORT, role=Role.PHYSICIAN
    )
    candidates = (
        Report.objects.filter(
            kind=Report.Kind.REPORT,
            delivered_at__isnull=False,
            delivered_at__lt=now - timedelta(days=5),  # cheap prefilter; the calendar decides
            physician_reminded_at__isnull=True,
            superseded_by__isnull=True,
            case__status__in=[S.DELIVERED, S.CLOSED],
        )
        .exclude(Exists(opened))
        .select_related("case")
    )
    sent = 0
    for report in candidates.iterator():
        assert report.delivered_at is not None
        if calendar.business_days_between(report.delivered_at, now) < (
            PHYSICIAN_REMINDER_BUSINESS_DAYS
        ):
            continue
        addresses = physician_addresses(report.case)
        with transaction.atomic():
            claimed = Report.objects.filter(
                pk=report.pk, physician_reminded_at__isnull=True
            ).update(physician_reminded_at=now)
            if claimed != 1 or not addresses:
                continue
            case_email(report.case, "report_reminder", addresses, f"report-reminder:{report.pk}")
            timeline_note(report.case, None, "The physician was reminded to read the report.")
        sent += 1
    return sent


# --- follow-up questions -------------------------------------------------------------------


def follow_up_deadline(case: Case) -> datetime | None:
    first = (
        Report.objects.filter(case=case, kind=Report.Kind.REPORT, version=1)
        .values_list("delivered_at", flat=True)
        .first()
    )
    return first + timedelta(days=FollowUpQuestion.WINDOW_DAYS) if first else None


def follow_up_open(case: Case, now: datetime | None = None) -> tuple[bool, str]:
    """Whether a follow-up question may be asked now, and if not, why (for the page)."""
    now = now or timezone.now()
    deadline = follow_up_deadline(case)
    if case.status != S.DELIVERED or deadline is None:
        return False, "Follow-up questions can be asked once the report is delivered."
    if now > deadline:
        return False, (
            "The 30 days for follow-up questions ended on "
            f"{timezone.localdate(deadline):%B %-d, %Y}. For anything new, contact the coordinator."
        )
    if FollowUpQuestion.objects.filter(case=case).count() >= FollowUpQuestion.MAX_PER_CASE:
        return False, "All 3 follow-up questions for this request have been asked."
    return True, ""


@transaction.atomic
def follow_up_ask(*, case: Case, by: User, text: str) -> FollowUpQuestion:
    if not is_reader(by, case):
        raise PermissionDenied("Only the family or the physician can ask a follow-up question.")
    text = text.strip()
    if not text:
        raise ValidationError({"text": "Write your question."})
    if len(text) > FollowUpQuestion.MAX_LENGTH:
        raise ValidationError(
            {"text": f"Keep the question under {FollowUpQuestion.MAX_LENGTH:,} characters."}
        )
    locked = _lock_case(case)
    allowed, why = follow_up_open(locked)
    if not allowed:
        raise ReportRefused(why, code="follow_up_closed")
    position = FollowUpQuestion.objects.filter(case=locked).count() + 1
    question = FollowUpQuestion.objects.create(
        case=locked, position=position, text=text, asked_by=by
    )
    who = "The physician" if by.role == Role.PHYSICIAN else "The family"
    timeline_note(locked, by, f"{who} asked follow-up question {position}.")
    case_email(locked, "follow_up_received", coordinator_addresses(), f"follow-up:{question.pk}")
    if locked.assigned_specialist is not None:
        # The specialist's link goes to the workspace, not the family's portal.
        case_email(
            locked,
            "follow_up_received",
            [locked.assigned_specialist.email],
            f"follow-up:{question.pk}",
            for_specialist=True,
        )
    return question


# --- amendments and closing ----------------------------------------------------------------


@transaction.atomic
def report_reopen(*, report: Report, by: User, note: str) -> Report:
    """A coordinator reopens the delivered report for a correction: a draft of the next
    version, starting from this one's text; the specialist is told."""
    require_coordinator(by)
    note = note.strip()
    if not note:
        raise ValidationError({"note": "Say what needs correcting, for the specialist."})
    case = _lock_case(report.case)
    locked = _lock_report(report)
    if case.status != S.DELIVERED:
        raise ReportRefused("Only a delivered report can be reopened.", code="wrong_state")
    if locked.kind != Report.Kind.REPORT or locked.delivered_at is None:
        raise ReportRefused("Only a delivered report can be reopened.", code="wrong_state")
    newer = Report.objects.filter(case=case, kind=Report.Kind.REPORT, version__gt=locked.version)
    if newer.exists():
        raise ReportRefused("A newer version of this report exists.", code="superseded")
    if case.assigned_specialist is None:
        raise ReportRefused("The case has no specialist to correct the report.", code="nobody")
    draft = Report.objects.create(
        case=case,
        kind=Report.Kind.REPORT,
        version=locked.version + 1,
        supersedes=locked,
        reopened_by=by,
        reopen_note=note[:2000],
        author=case.assigned_specialist,
        **{name: getattr(locked, name) for name, *_ in SECTIONS},
    )
    for answer in locked.answers.all():
        Answer.objects.create(
            report=draft,
            question_id=answer.question_id,
            question_text=answer.question_text,
            position=answer.position,
            text=answer.text,
        )
    timeline_note(case, by, f"Report reopened for correction (version {draft.version}): {note}")
    case_email(
        case,
        "report_reopened",
        [case.assigned_specialist.email],
        f"report-reopened:{draft.pk}",
    )
    return draft


@transaction.atomic
def case_close(*, case: Case, by: User) -> Case:
    """The coordinator closes a delivered case once nothing is left open on it."""
    require_coordinator(by)
    locked = _lock_case(case)
    if locked.status != S.DELIVERED:
        raise ReportRefused("Only a case whose report is delivered can be closed.", code="state")
    if Report.objects.filter(case=locked, delivered_at__isnull=True).exists():
        raise ReportRefused(
            "A new version or an addendum is still being written or delivered.", code="open"
        )
    if FollowUpQuestion.objects.filter(case=locked, answered_in__isnull=True).exists():
        raise ReportRefused("A follow-up question is not answered yet.", code="open")
    case_transition(case=locked, to=S.CLOSED, by=by, note="Case closed.")
    case.status = locked.status
    return case
