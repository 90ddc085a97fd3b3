"""The report editor: the first report, an amended version (a draft with version > 1) and
the addendum answering follow-up questions, with autosave, a PDF preview and signing.

Guarantees:
- Every view fetches the case through ``cases.access.case_for_user`` first, then admits the
  assigned specialist only (404 for everyone else, written to the audit log).
- Nothing here writes a report except through ``reports.services``: ``draft_save`` (which
  refuses a stale revision, so a second tab cannot overwrite the first) and
  ``report_sign``. A signed report is shown read-only; a save or a signature posted to it is
  refused (409) and changes nothing.
- Saves and signatures name the report (its uid) and the revision the page had: a page left
  open on an older draft, or on a version since signed, never writes into another one, and
  nobody signs text they have not seen.
- The same editor works without JavaScript: "Save draft" posts the whole form; an error
  comes back next to its field with everything typed kept.
"""

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.decorators import login_required_keeping_input
from accounts.stash import stash_pop
from accounts.typing import AuthedRequest
from cases.models import Case, Status
from cases.web import refusals_shown
from core.pdf.errors import PdfRenderError

from . import services
from .forms import AUDIENCE, DraftForm, SignForm, answer_field_name
from .models import SECTIONS, Report
from .workspace_views import records_overview, specialist_case

URL_NAMES: dict[str, dict[str, str]] = {
    Report.Kind.REPORT: {
        "edit": "report_edit",
        "autosave": "report_autosave",
        "preview": "report_preview",
        "sign": "report_sign",
    },
    Report.Kind.ADDENDUM: {
        "edit": "addendum_edit",
        "autosave": "addendum_autosave",
        "preview": "addendum_preview",
        "sign": "addendum_sign",
    },
}
SIGNED_MESSAGE = "This report is signed and can no longer be changed."
STALE_SIGN_MESSAGE = (
    "The draft changed since this page was loaded (in another tab or window). Reload the "
    "page, check the text, then sign."
)
SIGNED_DONE = "Signed. The PDF is being prepared and will be delivered to the family and physician."
SIGNED_OUT = (
    "You have been signed out. Your text is still here: sign in again in another tab, then "
    "press Save draft."
)
RESTORED = "We kept what you typed before you were signed out. Check it, then press Save draft."
ON_HOLD_START = (
    "This case is on hold and its clock is paused until the coordinator resumes it. You "
    "can start the report once it is back in review."
)


# --- which report -------------------------------------------------------------------------


def editor_report(case: Case, request: AuthedRequest, kind: str) -> Report:
    """The open draft of ``kind`` (created with its answers if needed), else the latest
    signed one of that kind, to show read-only. Raises ``ReportRefused`` when there is
    neither and none may be started (the case not accepted, no follow-up question)."""
    try:
        if kind == Report.Kind.ADDENDUM:
            return services.addendum_draft_for(case=case, by=request.user)
        return services.report_draft_for(case=case, by=request.user)
    except services.ReportRefused:
        latest = (
            Report.objects.filter(case=case, kind=kind, signed_at__isnull=False)
            .order_by("-version")
            .first()
        )
        if latest is None:
            raise
        return latest


def posted_report(case: Case, kind: str, uid: Any) -> Report | None:
    try:
        parsed = uuid.UUID(str(uid))
    except ValueError:
        return None
    return Report.objects.filter(case=case, kind=kind, uid=parsed).first()


def _cannot_start(request: AuthedRequest, case: Case, refused: ValidationError) -> HttpResponse:
    on_hold = case.status == Status.ON_HOLD and not Report.objects.filter(case=case).exists()
    messages.error(request, ON_HOLD_START if on_hold else " ".join(refused.messages))
    return redirect("workspace_case", reference=case.reference)


# --- the page -----------------------------------------------------------------------------


def _question_text(answer: Any) -> str:
    source = answer.question or answer.follow_up
    return source.text if source is not None else answer.question_text


def editor_fields(form: DraftForm, report: Report) -> list[dict[str, Any]]:
    """Every field of the editor in page order, with what the template shows around it."""
    fields: list[dict[str, Any]] = []
    if "amendment_reason" in form.fields:
        fields.append(
            {
                "bound": form["amendment_reason"],
                "kind": "amendment",
                "help": "Why this version replaces the previous one: the family and the "
                "physician read this with the new version.",
                "required": True,
                "rows": 3,
            }
        )
    for name, _heading, audience, required in SECTIONS:
        if name in form.fields:
            fields.append(
                {
                    "bound": form[name],
                    "kind": "section",
                    "help": AUDIENCE[audience] + ("." if required else " (optional)."),
                    "required": required,
                    "rows": 8 if name == "records_reviewed" else 6,
                }
            )
    for answer in report.answers.select_related("question", "follow_up").order_by("position"):
        name = answer_field_name(answer.position)
        if name in form.fields:
            fields.append(
                {
                    "bound": form[name],
                    "kind": "answer",
                    "position": answer.position,
                    "follow_up": answer.follow_up_id is not None,
                    "question": _question_text(answer),
                    "required": True,
                    "rows": 5,
                }
            )
    return fields


def editor_page(
    request: AuthedRequest,
    case: Case,
    report: Report,
    *,
    form: DraftForm | None = None,
    sign_form: SignForm | None = None,
    refusal: str = "",
    typed: list[dict[str, str]] | None = None,
    revision: int | None = None,
    partly_saved: bool = False,
    restored: bool = False,
    status: int = 200,
) -> HttpResponse:
    """``typed``: what a refused save posted, shown read-only to copy. ``revision``: the
    one the page's forms carry, when a save went through but the form is shown again."""
    urls = {
        key: reverse(name, kwargs={"reference": case.reference})
        for key, name in URL_NAMES[report.kind].items()
    }
    context: dict[str, Any] = {
        "case": case,
        "report": report,
        "urls": urls,
        "refusal": refusal,
        "is_addendum": report.kind == Report.Kind.ADDENDUM,
        "typed": typed or [],
        "signed_out_message": SIGNED_OUT,
    }
    if report.is_signed:
        context.update(services.report_context(report))
    else:
        form = form or DraftForm(report=report)
        if revision is None:
            revision = form["revision"].value() if form.is_bound else report.revision
        context.update(
            {
                "form": form,
                "fields": editor_fields(form, report),
                "problems": services.report_problem_fields(report),
                "sign_form": sign_form
                or SignForm(initial={"report_uid": report.uid, "revision": report.revision}),
                "revision": revision,
                "partly_saved": partly_saved,
                "restored": restored,
                # Signing is refused on hold: say so instead of asking for a password.
                "on_hold": case.status == Status.ON_HOLD,
                # Not a refusal: records the specialist has not seen, said before signing.
                "record_warnings": records_overview(case, request.user).signing_warnings,
            }
        )
    return render(request, "reports/workspace/editor.html", context, status=status)


def _restored_page(
    request: AuthedRequest, case: Case, current: Report, kind: str, restored: QueryDict
) -> HttpResponse:
    """The editor again with what a "Save draft" posted after the session ended
    (accounts.stash). Into the same open draft, the text fills the form, to check and save;
    a draft signed or replaced since then shows it read-only, to copy."""
    posted = posted_report(case, kind, restored.get("report_uid"))
    if posted is None:
        return editor_page(request, case, current)
    if posted.pk == current.pk and not current.is_signed:
        data = restored.copy()
        # The page saves over the draft as it is now: what was typed is the newest text.
        data["revision"] = str(current.revision)
        form = DraftForm(data, report=current)
        form.is_valid()
        messages.info(request, RESTORED)
        return editor_page(request, case, current, form=form, restored=True)
    return editor_page(
        request,
        case,
        current,
        refusal="What you typed before you were signed out can no longer be saved into this "
        "draft: it was signed or replaced meanwhile. It is shown below, to copy.",
        typed=DraftForm(restored, report=posted).typed(),
    )


@login_required_keeping_input
@require_http_methods(["GET", "HEAD", "POST"])
@refusals_shown(action="save", object_type="report")
def report_edit(request: AuthedRequest, reference: str, kind: str = "report") -> HttpResponse:
    """The editor; a POST is the "Save draft" button (the page without JavaScript)."""
    action = "save" if request.method == "POST" else "edit"
    case = specialist_case(request, reference, action=action, object_type="report")
    if request.method != "POST":
        try:
            current = editor_report(case, request, kind)
        except services.ReportRefused as refused:
            return _cannot_start(request, case, refused)
        restored = stash_pop(request) if request.method == "GET" else None
        if restored is not None:
            return _restored_page(request, case, current, kind, restored)
        return editor_page(request, case, current)

    report = posted_report(case, kind, request.POST.get("report_uid"))
    if report is None:
        messages.error(request, "That draft was not found. Here is the current one.")
        return redirect(URL_NAMES[kind]["edit"], reference=case.reference)
    form = DraftForm(request.POST, report=report)
    if report.is_signed:
        return editor_page(
            request, case, report, refusal=SIGNED_MESSAGE, typed=form.typed(), status=409
        )
    valid = form.is_valid()
    if "revision" in form.errors or "report_uid" in form.errors:
        return editor_page(request, case, report, form=form, status=400)
    try:
        saved = services.draft_save(
            report=report, by=request.user, revision=form.cleaned_data["revision"], **form.changes()
        )
        revision = saved.revision
    except services.DraftConflict as conflict:
        return editor_page(
            request, case, report, form=form, refusal=conflict.messages[0], status=409
        )
    except services.ReportRefused as refused:
        report.refresh_from_db()
        return editor_page(
            request, case, report, refusal=refused.messages[0], typed=form.typed(), status=409
        )
    except services.DraftPartlySaved as partly:
        _add_errors(form, partly)
        revision = partly.revision
        valid = False
    except ValidationError as invalid:
        _add_errors(form, invalid)
        return editor_page(request, case, report, form=form, status=400)
    if not valid:
        # The valid fields are saved (at the new ``revision``): the page keeps
        # every character typed and carries the new revision, so the next save is not
        # taken for a second tab.
        return editor_page(
            request,
            case,
            report,
            form=form,
            revision=revision,
            partly_saved=True,
            status=400,
        )
    messages.success(request, "Draft saved.")
    return redirect(URL_NAMES[kind]["edit"], reference=case.reference)


def _add_errors(form: DraftForm, invalid: ValidationError) -> None:
    if not hasattr(invalid, "error_dict"):
        form.add_error(None, invalid)
        return
    for field, errors in invalid.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


# --- autosave -----------------------------------------------------------------------------


def _json_refusal(error: str, message: str, status: int, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": error, "message": message, **extra}, status=status)


def _wants_json(request: AuthedRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _login_required_json(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """login_required, except that the editor's script (which asks for JSON) is told it was
    signed out, as JSON 401, instead of being redirected to a login page it cannot read."""

    @wraps(view)
    def wrapper(request: AuthedRequest, reference: str, kind: str = "report") -> HttpResponse:
        if not request.user.is_authenticated:
            if _wants_json(request):
                return _json_refusal("signed_out", SIGNED_OUT, 401, csrf=get_token(request))
            edit = reverse(URL_NAMES[kind]["edit"], kwargs={"reference": reference})
            return redirect_to_login(edit)
        return view(request, reference, kind)

    return wrapper


@_login_required_json
@require_http_methods(["GET", "POST"])
@refusals_shown(action="autosave", object_type="report")
def report_autosave(request: AuthedRequest, reference: str, kind: str = "report") -> HttpResponse:
    """Save the fields the editor sends (those that changed): JSON ``{revision, saved_at}``;
    409 when the draft changed elsewhere or is signed, 400 with ``errors`` per field (the
    valid fields are saved all the same, and the answer then carries the new revision).

    A GET saves nothing: it answers the current CSRF token, so a page whose token went stale
    (its user signed in again in another tab) can save again."""
    case = specialist_case(request, reference, action="autosave", object_type="report")
    if request.method == "GET":
        return JsonResponse({"csrf": get_token(request)})
    report = posted_report(case, kind, request.POST.get("report_uid"))
    if report is None:
        return _json_refusal("unknown", "That draft was not found. Reload the page.", 400)
    if report.is_signed:
        return _json_refusal("signed", SIGNED_MESSAGE, 409)
    form = DraftForm(request.POST, report=report, partial=True)
    valid = form.is_valid()
    errors: dict[str, list[str]] = {
        name: [str(e) for e in errs] for name, errs in form.errors.items()
    }
    if "revision" in errors or "report_uid" in errors:
        return _json_refusal("invalid", "Not saved: reload the page.", 400, errors=errors)
    changes = form.changes()
    revision: int | None = None
    saved_at = ""
    something = changes["sections"] or changes["answers"] or changes["amendment_reason"] is not None
    if valid or something:
        try:
            saved = services.draft_save(
                report=report,
                by=request.user,
                revision=form.cleaned_data["revision"],
                **changes,
            )
        except services.DraftConflict as conflict:
            return _json_refusal(
                "conflict", conflict.messages[0], 409, current_revision=conflict.current_revision
            )
        except services.ReportRefused as refused:
            return _json_refusal(refused.code or "refused", refused.messages[0], 409)
        except services.DraftPartlySaved as partly:
            errors.update(partly.message_dict)
            revision, saved_at = partly.revision, timezone.now().isoformat()
        except ValidationError as invalid:
            if hasattr(invalid, "error_dict"):
                errors.update(invalid.message_dict)
            else:
                errors["__all__"] = invalid.messages
        else:
            revision, saved_at = saved.revision, saved.updated_at.isoformat()
    if errors:
        extra: dict[str, Any] = {"errors": errors}
        if revision is not None:
            extra.update(revision=revision, saved_at=saved_at)
            message = "Saved, except the field marked below: shorten it. Your text is still here."
        else:
            message = "Not saved: correct the field marked below."
        return _json_refusal("invalid", message, 400, **extra)
    return JsonResponse({"revision": revision, "saved_at": saved_at})


# --- preview and signing --------------------------------------------------------------------


@login_required
@require_safe
@refusals_shown(action="preview", object_type="report")
def report_preview(request: AuthedRequest, reference: str, kind: str = "report") -> HttpResponse:
    """The PDF as it would print now, marked as a draft, made while the specialist waits."""
    case = specialist_case(request, reference, action="preview", object_type="report")
    try:
        report = editor_report(case, request, kind)
    except services.ReportRefused as refused:
        return _cannot_start(request, case, refused)
    try:
        pdf = services.render_report_pdf(report, draft=not report.is_signed)
    except PdfRenderError:
        messages.error(request, "The preview could not be made just now. Try again in a minute.")
        return redirect(URL_NAMES[kind]["edit"], reference=case.reference)
    name = "draft-preview.pdf" if not report.is_signed else "report-preview.pdf"
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
@refusals_shown(action="sign", object_type="report")
def report_sign(request: AuthedRequest, reference: str, kind: str = "report") -> HttpResponse:
    """Signing is re-authenticating: the password or a fresh code, then the report is final."""
    case = specialist_case(request, reference, action="sign", object_type="report")
    sign_form = SignForm(request.POST)
    report = posted_report(case, kind, request.POST.get("report_uid"))
    if report is None:
        try:
            report = editor_report(case, request, kind)
        except services.ReportRefused as refused:
            return _cannot_start(request, case, refused)
    if report.is_signed:
        return editor_page(
            request, case, report, refusal="This report is already signed.", status=409
        )
    if not sign_form.is_valid():
        return editor_page(request, case, report, sign_form=sign_form, status=400)
    if sign_form.cleaned_data["revision"] != report.revision:
        return editor_page(
            request,
            case,
            report,
            sign_form=SignForm(initial={"report_uid": report.uid, "revision": report.revision}),
            refusal=STALE_SIGN_MESSAGE,
            status=409,
        )
    code = (sign_form.cleaned_data.get("code") or "").strip()
    try:
        services.report_sign(
            report=report,
            by=request.user,
            password="" if code else sign_form.cleaned_data.get("password") or "",
            code=code,
            # Checked again under the lock: a save from another tab after the check above
            # must make the signature fail, not sign text this page did not show.
            revision=sign_form.cleaned_data["revision"],
        )
    except services.DraftConflict:
        report.refresh_from_db()
        return editor_page(
            request,
            case,
            report,
            sign_form=SignForm(initial={"report_uid": report.uid, "revision": report.revision}),
            refusal=STALE_SIGN_MESSAGE,
            status=409,
        )
    except services.ReauthFailed as failed:
        sign_form.add_error("code" if code else "password", failed)
        return editor_page(request, case, report, sign_form=sign_form, status=400)
    except services.ReportRefused as refused:
        sign_form.add_error(None, refused)
        report.refresh_from_db()
        return editor_page(request, case, report, sign_form=sign_form, status=400)
    messages.success(request, SIGNED_DONE)
    return redirect("workspace_case", reference=case.reference)
