"""The delivered report in the portal: the page (the shared layout of the PDF), each earlier
version and addendum, the PDF download, and the family's or physician's follow-up questions.

Every view fetches the case through ``cases.access.case_for_user`` first (one 404 for
"unknown" and "not yours", an AccessEvent either way). Past the gate, only a delivered
report is shown: a draft, or one signed but not yet delivered, is the same 404 for everyone,
and that refusal is audited too. Reading by the family or a physician is noted once per
person (``report_opened``) so the coordinator sees who has opened what.
"""

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn
from uuid import UUID

from botocore.exceptions import BotoCoreError, ClientError
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from accounts.models import Role
from accounts.stash import stash_pop, stash_post
from accounts.typing import AuthedRequest
from cases.access import NotYours, case_for_user, may_act, require_may_act
from cases.audit import access_record
from cases.models import Case
from cases.web import refusals_shown

from . import services
from .forms import PlainText
from .models import FollowUpQuestion, Report

logger = logging.getLogger(__name__)

READER_ROLES = (Role.FAMILY, Role.PHYSICIAN)


class FollowUpForm(forms.Form):
    # PlainText: the browser posts CRLF but counts a newline as one character; so do we.
    text = PlainText(
        label="Your follow-up question",
        required=True,
        strip=True,
        max_length=FollowUpQuestion.MAX_LENGTH,
        error_messages={
            "required": "Write your question.",
            "max_length": f"Keep the question under {FollowUpQuestion.MAX_LENGTH:,} characters "
            "(it has %(show_value)d).",
        },
    )


def _keeping_the_question(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """login_required for the follow-up form, which only takes a POST: a question sent after
    the session ended is kept (accounts.stash) for the report page, where the form is, and
    sign-in leads back there, so it is waiting in the form after sign-in."""

    @wraps(view)
    def wrapper(request: AuthedRequest, reference: str) -> HttpResponseBase:
        if not request.user.is_authenticated:
            page = reverse("report_read", args=[reference])
            if request.method == "POST":
                stash_post(request, path=page)
                messages.info(
                    request,
                    "For your privacy you were signed out. Sign in again: the question you "
                    "typed is waiting for you.",
                )
            return redirect_to_login(page)
        return view(request, reference)

    return wrapper


def _refuse(request: AuthedRequest, case: Case, *, action: str, object_id: str) -> NoReturn:
    """Through the gate, but not this report or not this person: the gate's own 404."""
    access_record(
        request=request,
        case=case,
        object_type="report",
        object_id=object_id or case.reference,
        action=action,
        allowed=False,
    )
    raise Http404("No such report.")


def _delivered_report(
    request: AuthedRequest, reference: str, *, action: str, report_uid: UUID | None = None
) -> tuple[Case, Report]:
    object_id = str(report_uid) if report_uid is not None else ""
    case = case_for_user(
        request, reference, action=action, object_type="report", object_id=object_id
    )
    if report_uid is None:
        report = services.current_report(case)
    else:
        report = (
            Report.objects.filter(case=case, uid=report_uid, delivered_at__isnull=False)
            .select_related("case", "supersedes")
            .first()
        )
    if report is None:
        _refuse(request, case, action=action, object_id=object_id)
    return case, report


def pdf_filename(report: Report) -> str:
    if report.kind == Report.Kind.ADDENDUM:
        return f"{report.case.reference}-addendum-{report.version}.pdf"
    return f"{report.case.reference}-report-v{report.version}.pdf"


def _versions(readable: list[Report]) -> list[dict[str, Any]]:
    """Each delivered report, version and addendum, newest report first, then the addenda;
    an older version says which one replaced it."""
    replaced_by = {r.supersedes_id: r for r in readable if r.supersedes_id is not None}
    reports = [r for r in readable if r.kind == Report.Kind.REPORT]
    addenda = [r for r in readable if r.kind == Report.Kind.ADDENDUM]
    latest = reports[-1] if reports else None
    return [
        {
            "report": r,
            "url": reverse("report_version", args=[r.case.reference, r.uid]),
            "pdf_url": reverse("report_pdf", args=[r.case.reference, r.uid]),
            "current": r == latest,
            "replaced_by": replaced_by.get(r.pk),
        }
        for r in [*reversed(reports), *addenda]
    ]


def _follow_up_context(
    request: AuthedRequest, case: Case, *, form: FollowUpForm | None, refused: str
) -> dict[str, Any]:
    questions: list[dict[str, Any]] = []
    for question in FollowUpQuestion.objects.filter(case=case).select_related(
        "answered_in", "asked_by"
    ):
        answer = question.answered_in
        # Answered for the reader only once the addendum is delivered: signed is not readable.
        if answer is not None and answer.delivered_at is not None:
            url = reverse("report_version", args=[case.reference, answer.uid])
            questions.append({"question": question, "answer": answer, "url": url})
        else:
            questions.append({"question": question, "answer": None, "url": ""})
    is_open, why = services.follow_up_open(case)
    return {
        "questions": questions,
        "can_ask": may_act(request.user, case, "ask_follow_up"),
        "open": is_open,
        "why": why,
        "form": form or FollowUpForm(),
        "refused": refused,
        "max_length": FollowUpQuestion.MAX_LENGTH,
        "max_count": FollowUpQuestion.MAX_PER_CASE,
    }


def _page(
    request: AuthedRequest,
    case: Case,
    report: Report,
    *,
    form: FollowUpForm | None = None,
    refused: str = "",
    status: int = 200,
) -> HttpResponse:
    readable = services.readable_reports(case)
    versions = _versions(readable)
    this = next((v for v in versions if v["report"].pk == report.pk), None)
    context = {
        **services.report_context(report),
        "versions": versions,
        "replaced_by": this["replaced_by"] if this else None,
        "is_current": bool(this and this["current"]),
        "current_url": reverse("report_read", args=[case.reference]),
        "pdf_url": reverse("report_pdf", args=[case.reference, report.uid]),
        "pdf_filename": pdf_filename(report),
        "follow_up": _follow_up_context(request, case, form=form, refused=refused),
    }
    return render(request, "reports/portal/report.html", context, status=status)


@login_required
@require_safe
def report_read(request: AuthedRequest, reference: str) -> HttpResponse:
    case, report = _delivered_report(request, reference, action="view")
    services.report_opened(report, request.user)
    form = None
    if request.method == "GET" and request.user.role in READER_ROLES:
        # Kept by the form's own view or, when the idle timeout ended the session, by the
        # session middleware, under the URL the form posts to.
        restored = stash_pop(request) or stash_pop(
            request, path=reverse("follow_up_ask", args=[reference])
        )
        if restored is not None and restored.get("text"):
            form = FollowUpForm(initial={"text": restored["text"]})
            messages.info(
                request,
                "We kept the follow-up question you typed before you were signed out. Check "
                "it, then press Send.",
            )
    return _page(request, case, report, form=form)


@login_required
@require_safe
def report_version(request: AuthedRequest, reference: str, report_uid: UUID) -> HttpResponse:
    case, report = _delivered_report(request, reference, action="view", report_uid=report_uid)
    services.report_opened(report, request.user)
    return _page(request, case, report)


@login_required
@require_safe
def report_pdf(request: AuthedRequest, reference: str, report_uid: UUID) -> HttpResponseBase:
    _case, report = _delivered_report(request, reference, action="download", report_uid=report_uid)
    services.report_opened(report, request.user)
    filename = pdf_filename(report)
    try:
        if not report.pdf.name:
            raise FileNotFoundError
        if getattr(default_storage, "bucket_name", None):
            # A 5-minute link S3 answers as an attachment: our own PDF, so its real type is
            # safe to name, but it is still never shown inline from a shared origin.
            url = default_storage.url(  # type: ignore[call-arg]
                report.pdf.name,
                parameters={
                    "ResponseContentDisposition": f'attachment; filename="{filename}"',
                    "ResponseContentType": "application/pdf",
                    "ResponseCacheControl": "private, no-store",
                },
            )
            return HttpResponseRedirect(url)
        pdf = default_storage.open(str(report.pdf.name), "rb")
    except (OSError, BotoCoreError, ClientError) as exc:
        # Missing from storage, or storage unreachable: a page that says so, not a 500.
        # The type only: the message may carry the object's key.
        logger.warning("report PDF unavailable: %s", type(exc).__name__)
        unavailable = render(
            request,
            "reports/portal/pdf_unavailable.html",
            {
                "case": report.case,
                "report": report,
                "report_url": reverse("report_version", args=[report.case.reference, report.uid]),
            },
            status=503,
        )
        unavailable["Cache-Control"] = "private, no-store"
        unavailable["Retry-After"] = "300"
        return unavailable
    response = FileResponse(
        pdf,
        as_attachment=True,
        filename=filename,
        content_type="application/pdf",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@_keeping_the_question
@require_http_methods(["GET", "POST"])
@refusals_shown(action="create", object_type="follow_up")
def follow_up_ask(request: AuthedRequest, reference: str) -> HttpResponse:
    if request.method == "GET":
        # Sign-in after the session ended mid-question can land here: the form, and the
        # question kept for it, are on the report page.
        return HttpResponseRedirect(reverse("report_read", args=[reference]) + "#follow-up")
    case = case_for_user(request, reference, action="create", object_type="follow_up")
    # Staff answer follow-ups (the specialist) or relay them (the coordinator); they do not
    # ask them (the table's "ask_follow_up"). Same 404 as the gate's, audited
    # (refusals_shown), as for a case with no report delivered.
    require_may_act(request.user, case, "ask_follow_up")
    report = services.current_report(case)
    if report is None:
        raise NotYours("No such report.")
    form = FollowUpForm(request.POST)
    refused = ""
    if form.is_valid():
        try:
            question = services.follow_up_ask(
                case=case, by=request.user, text=form.cleaned_data["text"]
            )
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                form.add_error(None, error)
            else:
                refused = " ".join(error.messages)
        else:
            messages.success(
                request,
                f"Follow-up question {question.position} was sent. The specialist answers it "
                "in an addendum to the report; we will email you when it is ready.",
            )
            return HttpResponseRedirect(
                reverse("report_read", args=[case.reference]) + "#follow-up"
            )
    return _page(request, case, report, form=form, refused=refused, status=400)
