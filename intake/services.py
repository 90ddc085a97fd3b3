"""Writes of the intake app: starting a request, its questions, people invited onto it,
and submitting it. Views, admin actions and tests all call these.

Who may take each step, and in which state, is the table in ``cases.actions``: each write
asks ``cases.access.require_may_act`` and ``cases.actions.require_allowed`` on the locked
case, so no caller has to have checked first."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Role, User
from cases import actions
from cases.access import can_manage_guardians as can_manage_guardians
from cases.access import require_coordinator, require_may_act, verified_emails
from cases.lifecycle import case_transition
from cases.lifecycle import timeline_note as _note
from cases.models import Case, CaseMember, Status
from cases.notifications import case_email, family_addresses
from cases.payments import payments
from core.refusals import Refused

from . import notifications
from .models import Intake, PhysicianLinkRequest, Question, StateEligibility
from .steps import BY_SLUG


@transaction.atomic
def case_start(*, by: User) -> Case:
    """A new draft request. A physician who starts one is its physician; the family joins
    when invited (``guardian_invite``)."""
    is_physician = by.role == Role.PHYSICIAN
    case = Case.objects.create(
        created_by=by,
        family=None if is_physician else by,
        physician_email=by.email if is_physician else "",
    )
    Intake.objects.create(case=case, started_by_physician=is_physician)
    _note(case, by, "Request started by the physician" if is_physician else "Request started")
    return case


def intake_mark_step(*, intake: Intake, step: str) -> None:
    if step in BY_SLUG:
        Intake.objects.filter(pk=intake.pk).update(current_step=step, updated_at=timezone.now())


# --- questions -------------------------------------------------------------------------


def _question_case_locked(case: Case, by: User) -> Case:
    locked = Case.objects.lock(case)
    require_may_act(by, locked, "edit_questions")
    actions.require_allowed(locked, "edit_questions")
    return locked


@transaction.atomic
def question_add(*, case: Case, by: User, text: str) -> Question:
    # The row lock on the case serialises two people adding the tenth question at once.
    locked = _question_case_locked(case, by)
    count = Question.objects.filter(case=locked).count()
    if count >= Question.MAX_PER_CASE:
        raise ValidationError(
            f"A request can have at most {Question.MAX_PER_CASE} questions. Edit or remove one "
            "to ask another."
        )
    text = text.strip()
    if not Question.MIN_LENGTH <= len(text) <= Question.MAX_LENGTH:
        raise ValidationError("Each question must be between 10 and 1,000 characters.")
    last = Question.objects.filter(case=locked).aggregate(m=Max("position"))["m"] or 0
    question = Question.objects.create(case=locked, position=last + 1, text=text, asked_by=by)
    if locked.status != Status.DRAFT:
        _note(locked, by, f"Question {question.position} added")
    return question


@transaction.atomic
def question_update(*, question: Question, by: User, text: str) -> Question:
    _question_case_locked(question.case, by)
    text = text.strip()
    if not Question.MIN_LENGTH <= len(text) <= Question.MAX_LENGTH:
        raise ValidationError("Each question must be between 10 and 1,000 characters.")
    question.text = text
    question.save(update_fields=["text", "updated_at"])
    return question


def _renumber(case: Case) -> None:
    for position, q in enumerate(Question.objects.filter(case=case).order_by("position", "pk"), 1):
        if q.position != position:
            Question.objects.filter(pk=q.pk).update(position=position)


@transaction.atomic
def question_remove(*, question: Question, by: User) -> None:
    case = _question_case_locked(question.case, by)
    question.delete()
    _renumber(case)


@transaction.atomic
def question_move(*, question: Question, by: User, up: bool) -> None:
    case = _question_case_locked(question.case, by)
    _renumber(case)
    question.refresh_from_db()
    neighbour_position = question.position - 1 if up else question.position + 1
    neighbour = Question.objects.filter(case=case, position=neighbour_position).first()
    if neighbour is None:
        return
    Question.objects.filter(pk=neighbour.pk).update(position=question.position)
    Question.objects.filter(pk=question.pk).update(position=neighbour_position)


@transaction.atomic
def question_clarify(*, question: Question, by: User, text: str) -> Question:
    """The coordinator rewords a question with the family's agreement (the console's
    question page, ``intake.admin``): the old wording is kept on the (coordinator-only)
    timeline and the family is told to look."""
    locked = Case.objects.lock(question.case)
    require_may_act(by, locked, "clarify_question")
    actions.require_allowed(locked, "clarify_question")
    text = text.strip()
    if not Question.MIN_LENGTH <= len(text) <= Question.MAX_LENGTH:
        raise actions.LifecycleRefused("Each question must be between 10 and 1,000 characters.")
    question = Question.objects.select_for_update().get(pk=question.pk)
    if question.text == text:
        return question
    before = question.text
    question.text = text
    question.save(update_fields=["text", "updated_at"])
    _note(locked, by, f"Question {question.position} clarified. Before: “{before}”")
    case_email(
        locked,
        "case_update",
        family_addresses(locked),
        f"question-clarified:{question.pk}:{question.updated_at}",
    )
    return question


# --- people invited onto a case -----------------------------------------------------


@transaction.atomic
def guardian_invite(*, case: Case, by: User, email: str) -> CaseMember:
    case = Case.objects.lock(case)
    require_may_act(by, case, "manage_guardians")
    email = email.strip().lower()
    if email in verified_emails(by) or (case.family and case.family.email == email):
        raise ValidationError("That is already your own address.")
    if CaseMember.objects.filter(
        case=case, role=CaseMember.Role.GUARDIAN, email=email, revoked_at__isnull=True
    ).exists():
        raise ValidationError("That person is already invited.")
    member = CaseMember.objects.create(
        case=case, role=CaseMember.Role.GUARDIAN, email=email, invited_by=by
    )
    _note(case, by, "A second parent or guardian was invited")
    member_id = member.pk
    transaction.on_commit(lambda: _notify("notify_guardian_invited", member_id=member_id))
    return member


@transaction.atomic
def guardian_revoke(*, member: CaseMember, by: User) -> None:
    case = Case.objects.lock(member.case_id)
    require_may_act(by, case, "manage_guardians")
    CaseMember.objects.filter(pk=member.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    _note(case, by, "A second guardian's access was revoked")


@transaction.atomic
def physician_link_request(*, physician: User, reference: str, date_of_birth: date) -> str:
    """A physician asks to see a case by its reference and the child's date of birth.

    Returns "linked" when their verified email is the case's physician email (they see it
    already), "pending" when a coordinator must approve. Unknown reference or wrong date of
    birth give "pending" too, so the answer never confirms that a case exists.
    """
    case = (
        Case.objects.filter(reference=reference, intake__child_date_of_birth=date_of_birth)
        .select_related("intake")
        .first()
    )
    if case is None:
        return "pending"
    if case.physician_email in verified_emails(physician):
        return "linked"
    link, created = PhysicianLinkRequest.objects.get_or_create(
        case=case, physician=physician, state=PhysicianLinkRequest.State.PENDING
    )
    if created:
        _note(case, physician, "A physician asked to be linked to this request")
        link_id = link.pk
        transaction.on_commit(lambda: _notify("notify_link_requested", link_id=link_id))
    return "pending"


@transaction.atomic
def physician_link_decide(*, link: PhysicianLinkRequest, by: User, approve: bool) -> None:
    require_coordinator(by)
    link = PhysicianLinkRequest.objects.select_for_update().get(pk=link.pk)
    if link.state != PhysicianLinkRequest.State.PENDING:
        return
    link.state = (
        PhysicianLinkRequest.State.APPROVED if approve else PhysicianLinkRequest.State.DENIED
    )
    link.decided_by = by
    link.decided_at = timezone.now()
    link.save(update_fields=["state", "decided_by", "decided_at"])
    if approve:
        for email in verified_emails(link.physician)[:1]:
            CaseMember.objects.get_or_create(
                case=link.case,
                role=CaseMember.Role.PHYSICIAN,
                email=email,
                revoked_at=None,
                defaults={"invited_by": by, "user": link.physician},
            )
    _note(link.case, by, f"Physician link request {link.state}")


# --- submitting -------------------------------------------------------------------------


def intake_missing(case: Case) -> dict[str, str]:
    """What still stops the request being submitted, by step."""
    intake: Intake = case.intake
    missing: dict[str, str] = {}
    if not (intake.not_urgent_attested_at and intake.english_acknowledged):
        missing["start"] = "Confirm that this is not urgent and that records are in English."
    residence: StateEligibility | None = intake.residence
    if residence is None:
        missing["eligibility"] = "Tell us where your child lives."
    elif not residence.is_available:
        missing["eligibility"] = residence.reason or "The service is not available there."
    if not (
        intake.child_legal_first_name
        and intake.child_date_of_birth
        and intake.address_state
        and intake.guardian_attested_at
    ):
        missing["child"] = "Tell us about your child and confirm you can consent for them."
    elif residence and intake.address_state != residence.code:
        missing["child"] = "The home address must be in the state chosen for eligibility."
    if not (case.physician_email and intake.physician_name and intake.physician_licence_state):
        missing["physician"] = "Name your child's local physician and their email."
    elif residence and intake.physician_licence_state != residence.code:
        missing["physician"] = "The physician must be licensed in your child's state."
    if not (case.specialty_id and intake.diagnosis and intake.recommended_treatment):
        missing["question"] = "Choose a specialty and describe the diagnosis and treatment."
    if not Question.objects.filter(case=case).exists():
        missing["questions"] = "Ask at least one question."
    card = payments().missing_for_submit(case)
    if card:
        missing["card"] = card
    if not (
        intake.terms_accepted_at
        and intake.records_use_authorised_at
        and intake.no_relationship_acknowledged_at
    ):
        missing["review"] = "Accept the consents."
    return missing


class IncompleteRequest(Refused):
    def __init__(self, missing: dict[str, str]) -> None:
        self.missing = missing
        super().__init__(list(missing.values()), code="incomplete")


@transaction.atomic
def case_submit(*, case: Case, by: User) -> Case:
    """Submit a complete draft: draft → submitted, then tell the family, invite the
    physician and notify the coordinators (after commit)."""
    locked = Case.objects.lock(case)
    actions.require_allowed(locked, "submit")
    missing = intake_missing(locked)
    if missing:
        raise IncompleteRequest(missing)
    if locked.family_id is None:
        # A physician-started request becomes the submitting guardian's.
        if by.role != Role.FAMILY:
            raise ValidationError("The parent or guardian must review and submit the request.")
        require_may_act(by, locked, "submit")
        Case.objects.filter(pk=locked.pk).update(family=by)
        locked.family = by
    else:
        require_may_act(by, locked, "submit")
    payments().fee_fix(case=locked)  # later fee schedule changes never alter this case
    submitted = case_transition(case=locked, to=Status.SUBMITTED, by=by)
    case_id = submitted.pk
    transaction.on_commit(lambda: _notify("notify_submitted", case_id=case_id))
    return submitted


def _notify(name: str, **kwargs: int) -> None:
    getattr(notifications, name)(**kwargs)
