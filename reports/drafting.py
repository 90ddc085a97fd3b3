"""Writing a report: the draft (version 1, a version reopened for a correction, or an
addendum answering follow-up questions), its autosave, and what stops it from being signed.

Only the specialist assigned to the case writes, and only a draft. A save names the revision
it started from; a save from an older revision is refused (``DraftConflict``): that is how a
second tab on the same draft is caught before it overwrites the first.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from cases.access import require_may_act
from cases.actions import allowed
from cases.lifecycle import timeline_note
from cases.models import Case
from cases.notifications import case_email
from cases.services import require_assigned_specialist
from intake.models import Question, Record

from .common import ReportRefused, S, lock_report
from .models import ANSWER_MAX_CHARS, SECTION_MAX_CHARS, SECTIONS, Answer, FollowUpQuestion, Report


class DraftConflict(ReportRefused):
    """The draft changed since this editor loaded it (another tab or window saved)."""

    def __init__(self, current_revision: int) -> None:
        super().__init__(
            "This draft was changed in another tab or window. Your text here is kept: copy "
            "what you need, then reload to continue from the saved draft.",
            code="conflict",
        )
        self.current_revision = current_revision


class DraftPartlySaved(ValidationError):
    """Some fields were too long and were not saved; everything else was (``revision``)."""

    def __init__(self, errors: dict[str, str], *, revision: int) -> None:
        super().__init__(errors)
        self.revision = revision


def records_reviewed_default(case: Case) -> str:
    """The list of records the specialist saw (clean, available), one per line, to start
    the "Records reviewed" section from."""
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


def answers_for_questions(report: Report) -> None:
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
    locked = Case.objects.lock(case)
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
    answers_for_questions(draft)
    return draft


@transaction.atomic
def addendum_draft_for(*, case: Case, by: User) -> Report:
    """The addendum answering the follow-up questions not answered yet."""
    locked = Case.objects.lock(case)
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
    and carries the new revision. Returns the saved report; ``report`` is left as it was."""
    with transaction.atomic():
        locked, errors = _draft_save_locked(
            report=report,
            by=by,
            revision=revision,
            sections=sections,
            answers=answers,
            amendment_reason=amendment_reason,
        )
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
    locked = lock_report(report)
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


# --- amendments and closing ----------------------------------------------------------------


@transaction.atomic
def report_reopen(*, report: Report, by: User, note: str) -> Report:
    """A coordinator reopens the delivered report for a correction: a draft of the next
    version, starting from this one's text; the specialist is told."""
    case = Case.objects.lock(report.case)
    require_may_act(by, case, "reopen_report")
    note = note.strip()
    if not note:
        raise ValidationError({"note": "Say what needs correcting, for the specialist."})
    locked = lock_report(report)
    if not allowed(case, "reopen_report"):
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
