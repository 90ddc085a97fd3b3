"""The messages page of a case: read a thread (which marks the case's messages read), post
in it with an optional attachment, and, for a coordinator, open the physician-to-physician
thread. The case comes through the access gate; a thread the person may not see answers
the same 404 as an unknown case."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.decorators import login_required_keeping_input
from accounts.models import User
from accounts.typing import AuthedRequest

from . import messaging
from .access import case_for_user
from .message_panel import MessageForm
from .models import Case, CaseMessage
from .page import CASE_PAGE_RELATED, case_page, case_page_rows

Thread = CaseMessage.Thread


def _thread_of(value: str | None, user: User, case: Case) -> str:
    if value:
        return value
    visible = messaging.threads_for(user, case)
    return visible[0] if visible else Thread.COORDINATOR


def _page(
    request: AuthedRequest, case: Case, thread: str, *, form: MessageForm | None = None
) -> HttpResponse:
    """The case page with the messages panel on ``thread`` (and a failed form's errors)."""
    status = 400 if form is not None and form.is_bound else 200
    return case_page(request, case, status=status, thread=thread, message_form=form)


@login_required_keeping_input
@require_http_methods(["GET", "POST"])
def case_messages(request: AuthedRequest, reference: str) -> HttpResponse:
    action = "message_post" if request.method == "POST" else "messages_view"
    # The case page's relations and, to show it, its short lists, read with the case
    # (cases.rows); a POST changes the case first, so its page reads them afterwards.
    case = case_for_user(
        request,
        reference,
        action=action,
        object_type="message",
        related=CASE_PAGE_RELATED,
        annotate=case_page_rows(request.user) if request.method == "GET" else None,
    )
    user = request.user
    source = request.POST if request.method == "POST" else request.GET
    thread = _thread_of(source.get("thread"), user, case)
    if not messaging.can_read_thread(user, case, thread):
        raise Http404("No such case.")
    if request.method == "GET":
        seen_at = timezone.now()  # not later: a message posted meanwhile stays unread
        response = _page(request, case, thread)
        messaging.messages_mark_read(case=case, user=user, at=seen_at)
        return response
    here = f"{reverse('case_messages', args=[case.reference])}?thread={thread}"
    if request.POST.get("action") == "open":
        try:
            messaging.p2p_open(case=case, by=user)
        except PermissionDenied as refused:
            raise Http404("No such case.") from refused
        except ValidationError as refused:
            messages.error(request, refused.messages[0])
        return redirect(here)
    if not messaging.can_post(user, case, thread):
        raise Http404("No such case.")
    form = MessageForm(request.POST, request.FILES, can_attach=messaging.can_attach(user))
    if form.is_valid():
        try:
            messaging.message_post(
                case=case,
                by=user,
                body=form.cleaned_data["body"],
                thread=thread,
                attachment=form.cleaned_data.get("attachment"),
                kind=form.cleaned_data.get("kind") or "",
            )
        except PermissionDenied as refused:
            raise Http404("No such case.") from refused
        except messaging.AttachmentRefused as refusal:
            form.add_error("attachment", refusal.text)
        except ValidationError as refused:
            form.add_error("body", refused)
        else:
            messages.success(request, "Message sent.")
            return redirect(f"{here}#messages")
    return _page(request, case, thread, form=form)
