"""The messages page of a case: read a thread (which marks the case's messages read), post
in it with an optional attachment, and, for a coordinator, open the physician-to-physician
thread. The case comes through the access gate; a thread the person may not see, or post
in, answers the same audited 404 as an unknown case (``cases.web.refusals_shown``)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.decorators import login_required_keeping_input
from accounts.models import User
from accounts.typing import AuthedRequest

from . import messaging
from .access import NotYours, case_for_user
from .message_panel import MessageForm
from .models import Case, CaseMessage
from .page import CASE_PAGE_RELATED, case_page, case_page_rows
from .web import refusals_shown

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
    if request.method == "POST":
        return _post(request, reference)
    return _read(request, reference)


@refusals_shown(action="messages_view", object_type="message")
def _read(request: AuthedRequest, reference: str) -> HttpResponse:
    # The case page's relations and its short lists, read with the case (cases.rows); a
    # POST changes the case first, so its page (_post) reads them afterwards.
    case = case_for_user(
        request,
        reference,
        action="messages_view",
        object_type="message",
        related=CASE_PAGE_RELATED,
        annotate=case_page_rows(request.user),
    )
    user = request.user
    thread = _thread_of(request.GET.get("thread"), user, case)
    if not messaging.can_read_thread(user, case, thread):
        raise NotYours("No such conversation.")
    seen_at = timezone.now()  # not later: a message posted meanwhile stays unread
    response = _page(request, case, thread)
    messaging.messages_mark_read(case=case, user=user, at=seen_at)
    return response


@refusals_shown(action="message_post", object_type="message")
def _post(request: AuthedRequest, reference: str) -> HttpResponse:
    """Post in a thread, or (a coordinator) open the physician-to-physician one. Someone who
    may not (``PermissionDenied`` from ``cases.messaging``) gets the gate's audited 404; a
    refusal of what was written is shown on the form, with what was typed."""
    case = case_for_user(request, reference, action="message_post", object_type="message")
    user = request.user
    thread = _thread_of(request.POST.get("thread"), user, case)
    if not messaging.can_read_thread(user, case, thread):
        raise NotYours("No such conversation.")
    here = f"{reverse('case_messages', args=[case.reference])}?thread={thread}"
    if request.POST.get("action") == "open":
        try:
            messaging.p2p_open(case=case, by=user)
        except ValidationError as refused:
            messages.error(request, refused.messages[0])
        return redirect(here)
    if not messaging.can_post(user, case, thread):
        raise NotYours("You cannot post in this conversation.")
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
        except messaging.AttachmentRefused as refusal:
            form.add_error("attachment", refusal.text)
        except ValidationError as refused:
            form.add_error("body", refused)
        else:
            messages.success(request, "Message sent.")
            return redirect(f"{here}#messages")
    return _page(request, case, thread, form=form)
