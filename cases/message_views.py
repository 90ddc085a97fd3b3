"""The messages page of a case: read a thread (which marks the case's messages read), post
in it with an optional attachment, and, for a coordinator, open the physician-to-physician
thread. The case comes through the access gate; a thread the person may not see answers
the same 404 as an unknown case."""

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.models import User
from accounts.typing import AuthedRequest
from intake.filetypes import Rejected
from intake.models import Record
from intake.records import DuplicateRecord
from intake.views import login_required_keeping_input

from . import messaging
from .access import case_for_user
from .models import Case, CaseMessage

Thread = CaseMessage.Thread


class MessageForm(forms.Form):
    thread = forms.ChoiceField(choices=Thread.choices, widget=forms.HiddenInput)
    body = forms.CharField(
        label="Your message", max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )
    attachment = forms.FileField(
        label="Attach a file (optional)",
        required=False,
        help_text="Up to 50 MB. It is added to the request's records.",
    )
    kind = forms.ChoiceField(
        label="What is the file?",
        choices=Record.Kind.choices,
        initial=Record.Kind.OTHER,
        required=False,
    )

    def __init__(self, *args: Any, can_attach: bool = True, **kwargs: Any) -> None:
        # The case page also holds the record upload form, which has a "kind" field too: ids
        # of their own keep the page's ids unique (labels find their fields) while the
        # posted field names stay as they are.
        kwargs.setdefault("auto_id", "id_message_%s")
        super().__init__(*args, **kwargs)
        if not can_attach:
            del self.fields["attachment"]
            del self.fields["kind"]


def _thread_of(value: str | None, user: User, case: Case) -> str:
    if value:
        return value
    visible = messaging.threads_for(user, case)
    return visible[0] if visible else Thread.COORDINATOR


def messages_context(
    case: Case, user: User, *, thread: str | None = None, form: MessageForm | None = None
) -> dict[str, Any]:
    """What ``cases/_messages_panel.html`` needs: the threads ``user`` may read (each with its
    messages and unread count), the one selected, and the form to post in it."""
    # One query for every thread's unread count (and whether the physician thread is open),
    # instead of a count per thread, another for the total and a check per can_post.
    counts = messaging.thread_counts(case, user)
    visible = messaging.threads_for(user, case)
    selected = thread if thread in visible else (visible[0] if visible else "")
    labels = dict(Thread.choices)
    threads = [
        {
            "value": t,
            "label": labels[t],
            "unread": counts.get(t, (0, 0))[1],
            "can_post": messaging.can_post(user, case, t),
        }
        for t in visible
    ]
    messages_thread = (
        case.messages.filter(thread=selected).select_related("author").prefetch_related("records")
        if selected
        else CaseMessage.objects.none()
    )
    if form is None and selected and messaging.can_post(user, case, selected):
        form = MessageForm(initial={"thread": selected}, can_attach=messaging.can_attach(user))
    return {
        "message_threads": threads,
        "messages_selected": selected,
        "messages_thread": messages_thread,
        "message_form": form,
        "unread": sum(counts.get(t, (0, 0))[1] for t in messaging.role_threads(user)),
        "can_open_p2p": messaging.is_coordinator(user)
        and Thread.PHYSICIAN_SPECIALIST in visible
        and not messaging.p2p_is_open(case),
    }


def _page(
    request: AuthedRequest, case: Case, thread: str, *, form: MessageForm | None = None
) -> HttpResponse:
    """The case page with the messages panel on ``thread`` (and a failed form's errors)."""
    from .views import case_page

    status = 400 if form is not None and form.is_bound else 200
    context = messages_context(case, request.user, thread=thread, form=form)
    return case_page(request, case, status=status, **context)


@login_required_keeping_input
@require_http_methods(["GET", "POST"])
def case_messages(request: AuthedRequest, reference: str) -> HttpResponse:
    action = "message_post" if request.method == "POST" else "messages_view"
    case = case_for_user(request, reference, action=action, object_type="message")
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
                kind=form.cleaned_data.get("kind") or Record.Kind.OTHER,
            )
        except PermissionDenied as refused:
            raise Http404("No such case.") from refused
        except ValidationError as refused:
            form.add_error("body", refused)
        except Rejected as refusal:
            form.add_error("attachment", refusal.message)
        except DuplicateRecord as duplicate:
            form.add_error("attachment", str(duplicate))
        else:
            messages.success(request, "Message sent.")
            return redirect(f"{here}#messages")
    return _page(request, case, thread, form=form)
