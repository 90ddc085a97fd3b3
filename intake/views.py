"""The request form (a draft saved at every step) and the case-page actions on questions,
records and guardians. Every view gets its case from the access gate."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import login_required_keeping_input
from accounts.models import Role
from accounts.stash import stash_pop
from accounts.typing import AuthedRequest
from cases.access import (
    case_for_user,
    cases_visible_to,
    may_act,
    posted_object,
    require_may_act,
)
from cases.actions import require_allowed
from cases.models import Case, CaseMember, Status
from cases.page import case_page
from cases.services import record_request_received, record_request_uploaded
from cases.web import refusals_shown

from . import services
from .access import record_for_user
from .checklists import checklist_for
from .filetypes import ACCEPTED_DESCRIPTION, Rejected, download_name
from .forms import (
    STEP_FORMS,
    ConsentForm,
    InviteForm,
    LinkRequestForm,
    QuestionForm,
    RecordsDeclarationForm,
    RecordUploadForm,
)
from .models import Intake, Question, Record
from .records import DuplicateRecord, record_add
from .step_handlers import step_handler
from .steps import BY_SLUG, STEPS, next_step, previous_step, steps_for

View = Callable[..., HttpResponseBase]


def _editable_case(request: AuthedRequest, reference: str) -> Case:
    """The draft, if this person may fill it in: its family (owner or invited guardian) or the
    physician who started it. Anyone else who can see the case goes to the case page."""
    case = case_for_user(request, reference, action="edit", object_type="intake")
    user = request.user
    allowed = case.status == Status.DRAFT and (
        (user.role == Role.FAMILY) or (case.family_id is None and case.created_by_id == user.pk)
    )
    if not allowed:
        raise _GoToCase(case)
    Intake.objects.get_or_create(case=case)  # every draft has its answers row
    return case


class _GoToCase(Exception):
    def __init__(self, case: Case) -> None:
        self.case = case


def _case_redirect(view: View) -> View:
    @wraps(view)
    def wrapper(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except _GoToCase as go:
            messages.info(request, "This request can no longer be edited here.")
            return redirect("case_detail", go.case.reference)

    return wrapper


@login_required_keeping_input
@require_http_methods(["GET", "POST"])
def request_new(request: AuthedRequest) -> HttpResponse:
    if request.user.role not in (Role.FAMILY, Role.PHYSICIAN):
        raise Http404
    if request.method == "POST":
        case = services.case_start(by=request.user)
        return redirect("intake_step", case.reference, STEPS[0].slug)
    drafts = (
        cases_visible_to(request.user)
        .filter(created_by=request.user, status=Status.DRAFT)
        .order_by("-updated_at")
    )
    return render(request, "intake/new.html", {"drafts": drafts})


def _step_context(case: Case, step: str, **extra: Any) -> dict[str, Any]:
    intake: Intake = case.intake
    steps = steps_for(case)
    slugs = [s.slug for s in steps]
    return {
        "case": case,
        "intake": intake,
        "steps": steps,
        "step": BY_SLUG[step],
        "step_index": slugs.index(step) + 1 if step in slugs else len(slugs),
        "previous": previous_step(case, step),
        "missing": services.intake_missing(case),
        **extra,
    }


@login_required_keeping_input
@_case_redirect
@require_http_methods(["GET", "POST"])
def intake_step(request: AuthedRequest, reference: str, step: str) -> HttpResponse:
    if step not in BY_SLUG:
        raise Http404
    case = _editable_case(request, reference)
    intake = case.intake
    if step in STEP_FORMS:
        return _form_step(request, case, intake, step)
    if step == "questions":
        return render(request, "intake/step_questions.html", _questions_context(case))
    if step == "records":
        return _records_step(request, case, intake)
    handler = step_handler(step)
    if handler is not None:  # a step another app shows (the card step is billing's)
        if step not in [s.slug for s in steps_for(case)]:
            return redirect("intake_step", case.reference, "review")
        return handler(request, case)
    return _review_step(request, case, intake)


def _form_step(request: AuthedRequest, case: Case, intake: Intake, step: str) -> HttpResponse:
    form_class = STEP_FORMS[step]
    restored = stash_pop(request) if request.method == "GET" else None
    data = request.POST if request.method == "POST" else restored
    form = form_class(data, instance=intake)
    if restored is not None:
        messages.info(
            request, "We kept what you typed before you were signed out. Check it and press Save."
        )
    if request.method == "POST" and form.is_valid():
        form.save()
        nxt = next_step(case, step)
        services.intake_mark_step(intake=intake, step=nxt)
        if "save_and_exit" in request.POST:
            messages.success(request, "Your request is saved as a draft. Continue any time.")
            return redirect("dashboard")
        return redirect("intake_step", case.reference, nxt)
    refusal = getattr(form, "refusal", None)
    return render(
        request,
        f"intake/step_{step}.html",
        _step_context(case, step, form=form, refusal=refusal),
    )


def _questions_context(case: Case, form: QuestionForm | None = None) -> dict[str, Any]:
    questions = list(case.questions.all())
    return _step_context(
        case,
        "questions",
        questions=questions,
        question_form=form or QuestionForm(),
        can_add=len(questions) < Question.MAX_PER_CASE,
        max_questions=Question.MAX_PER_CASE,
    )


def _records_context(case: Case, **extra: Any) -> dict[str, Any]:
    return _step_context(
        case,
        "records",
        records=case.records.exclude(state=Record.State.UPLOADING).order_by("uploaded_at"),
        checklist=checklist_for(case.specialty),
        accepted=ACCEPTED_DESCRIPTION,
        upload_form=extra.pop("upload_form", None) or RecordUploadForm(),
        **extra,
    )


def _records_step(request: AuthedRequest, case: Case, intake: Intake) -> HttpResponse:
    form = RecordsDeclarationForm(
        request.POST if request.method == "POST" else None, instance=intake
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        nxt = next_step(case, "records")
        services.intake_mark_step(intake=intake, step=nxt)
        if "save_and_exit" in request.POST:
            messages.success(request, "Your request is saved as a draft. Continue any time.")
            return redirect("dashboard")
        return redirect("intake_step", case.reference, nxt)
    return render(request, "intake/step_records.html", _records_context(case, form=form))


def _review_step(request: AuthedRequest, case: Case, intake: Intake) -> HttpResponse:
    form = ConsentForm(request.POST if request.method == "POST" else None, instance=intake)
    if request.method == "POST" and form.is_valid():
        form.save()
        try:
            services.case_submit(case=case, by=request.user)
        except services.IncompleteRequest as incomplete:
            form.add_error(None, "Some steps still need your attention (listed below).")
            missing = incomplete.missing
        except ValidationError as error:
            form.add_error(None, error)
            missing = services.intake_missing(case)
        else:
            messages.success(
                request,
                f"Your request {case.reference} was submitted. We emailed you a confirmation; "
                "our coordinator will be in touch.",
            )
            return redirect("case_detail", case.reference)
    else:
        missing = services.intake_missing(case)
    return render(
        request,
        "intake/step_review.html",
        _step_context(
            case,
            "review",
            form=form,
            missing=missing,
            questions=case.questions.all(),
            records=case.records.filter(state=Record.State.AVAILABLE),
        ),
    )


# --- questions (draft and case page) -----------------------------------------------------


def _back(request: AuthedRequest, case: Case) -> HttpResponseRedirect:
    if case.status == Status.DRAFT:
        return redirect("intake_step", case.reference, "questions")
    return redirect(f"{reverse('case_detail', args=[case.reference])}#questions")


@login_required_keeping_input
@require_POST
@refusals_shown(action="edit", object_type="question")
def questions_action(request: AuthedRequest, reference: str) -> HttpResponse:
    """Add, change, remove or move a question. Anyone but the family and the physician gets
    the gate's audited 404; a refusal (the state, the number, the length) is shown next to
    the form, with what was typed."""
    case = case_for_user(request, reference, action="edit", object_type="question")
    user = request.user
    require_may_act(user, case, "edit_questions")
    action = request.POST.get("action", "add")
    question = None
    if action != "add":
        question = posted_object(
            request, case, case.questions.all(), "question", action="edit", object_type="question"
        )
    try:
        if action == "add":
            form = QuestionForm(request.POST)
            if not form.is_valid():
                return _render_question_error(request, case, form)
            services.question_add(case=case, by=user, text=form.cleaned_data["text"])
            messages.success(request, "Question added.")
        elif action == "edit" and question is not None:
            form = QuestionForm(request.POST, instance=question)
            if not form.is_valid():
                return _render_question_error(request, case, form)
            services.question_update(question=question, by=user, text=form.cleaned_data["text"])
            messages.success(request, f"Question {question.position} updated.")
        elif action == "remove" and question is not None:
            services.question_remove(question=question, by=user)
            messages.success(request, "Question removed.")
        elif action in ("up", "down") and question is not None:
            services.question_move(question=question, by=user, up=action == "up")
        else:
            raise Http404
    except ValidationError as error:
        form = QuestionForm(request.POST)
        form.is_valid()
        form.add_error(None, error)
        return _render_question_error(request, case, form)
    return _back(request, case)


def _render_question_error(request: AuthedRequest, case: Case, form: QuestionForm) -> HttpResponse:
    if case.status == Status.DRAFT:
        return render(
            request, "intake/step_questions.html", _questions_context(case, form), status=400
        )
    return case_page(request, case, question_form=form, status=400)


# --- records --------------------------------------------------------------------------


@login_required_keeping_input
@require_POST
@refusals_shown(action="upload", object_type="record", back="case_detail")
def record_upload(request: AuthedRequest, reference: str) -> HttpResponse:
    """A record by the form (the large-file uploader has its own views). Who may add one is
    the table's "upload_records" (the family, the physician, a coordinator adding what came
    by fax or on a CD): anyone else, such as the specialist who reads but never adds, gets the
    gate's audited 404; a case that takes no more records, the table's refusal as a message
    on the case page. Asked here before the form is read, and again by the service on the
    locked row."""
    case = case_for_user(request, reference, action="upload", object_type="record")
    require_may_act(request.user, case, "upload_records")
    require_allowed(case, "upload_records")
    form = RecordUploadForm(request.POST, request.FILES, case=case)
    if form.is_valid():
        try:
            record_add(
                case=case,
                by=request.user,
                uploaded=form.cleaned_data["file"],
                kind=form.cleaned_data["kind"],
                description=form.cleaned_data["description"],
            )
        except Rejected as refusal:
            form.add_error("file", refusal.message)
        except DuplicateRecord as duplicate:
            form.add_error("file", str(duplicate))
        else:
            answered = form.cleaned_data.get("for_request")
            if answered is not None and may_act(request.user, case, "record_uploaded"):
                record_request_uploaded(request=answered, by=request.user)
            elif answered is not None:
                # A coordinator adding what was asked for ticks it off as received.
                record_request_received(request=answered, by=request.user)
            messages.success(request, "File received. Thank you.")
            if case.status == Status.DRAFT:
                return redirect("intake_step", case.reference, "records")
            return redirect(f"{reverse('case_detail', args=[case.reference])}#records")
    if case.status == Status.DRAFT:
        return render(
            request,
            "intake/step_records.html",
            _records_context(
                case, upload_form=form, form=RecordsDeclarationForm(instance=case.intake)
            ),
            status=400,
        )
    return case_page(request, case, upload_form=form, status=400)


@login_required_keeping_input
def record_download(request: AuthedRequest, reference: str, record_uid: str) -> HttpResponseBase:
    record = record_for_user(request, reference, record_uid)
    disposition_name = download_name(record.original_name, record.detected_kind)
    if getattr(default_storage, "bucket_name", None):
        # A 5-minute link that S3 answers as an attachment of a neutral type, so the
        # browser never renders it in our origin or sniffs it into something active.
        url = default_storage.url(  # type: ignore[call-arg]
            record.file.name,
            parameters={
                "ResponseContentDisposition": f'attachment; filename="{disposition_name}"',
                "ResponseContentType": "application/octet-stream",
            },
        )
        return HttpResponseRedirect(url)
    response = FileResponse(
        default_storage.open(str(record.file.name), "rb"),
        as_attachment=True,
        filename=disposition_name,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- people on the case -----------------------------------------------------------------


@login_required_keeping_input
@require_POST
@refusals_shown(action="manage", object_type="guardian")
def guardians_action(request: AuthedRequest, reference: str) -> HttpResponse:
    """Invite or revoke a second guardian: the owner of the request only (anyone else, the
    gate's audited 404); a refused address is shown next to the form, as typed."""
    case = case_for_user(request, reference, action="manage", object_type="guardian")
    require_may_act(request.user, case, "manage_guardians")
    if request.POST.get("action") == "revoke":
        member = posted_object(
            request,
            case,
            CaseMember.objects.filter(case=case, role=CaseMember.Role.GUARDIAN),
            "member",
            action="revoke",
            object_type="guardian",
        )
        services.guardian_revoke(member=member, by=request.user)
        messages.success(request, "Access revoked.")
    else:
        form = InviteForm(request.POST)
        if form.is_valid():
            try:
                services.guardian_invite(
                    case=case, by=request.user, email=form.cleaned_data["email"]
                )
            except ValidationError as error:
                form.add_error("email", error)
        if not form.is_valid() or form.errors:
            return case_page(request, case, invite_form=form, status=400)
        messages.success(request, "Invitation sent.")
    return redirect(f"{reverse('case_detail', args=[case.reference])}#people")


@login_required_keeping_input
@require_http_methods(["GET", "POST"])
def physician_link(request: AuthedRequest) -> HttpResponse:
    if request.user.role != Role.PHYSICIAN:
        raise Http404
    form = LinkRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = services.physician_link_request(
            physician=request.user,
            reference=form.cleaned_data["reference"],
            date_of_birth=form.cleaned_data["date_of_birth"],
        )
        if outcome == "linked":
            messages.success(request, "This request names you: it is on your list.")
            return redirect("case_detail", form.cleaned_data["reference"])
        messages.info(
            request,
            "Thank you. If the details match a request, our coordinator will review your "
            "request to be linked and email you.",
        )
        return redirect("dashboard")
    return render(request, "intake/physician_link.html", {"form": form})
