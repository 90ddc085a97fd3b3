"""The case page's messages panel: the threads a person may read, the one selected with its
messages, each thread's unread count, and the form to post."""

from typing import Any

from django import forms
from django.db.models import Prefetch, prefetch_related_objects

from accounts.models import User

from . import messaging
from .models import Case, CaseMessage
from .panels import PanelRequest, Shown

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
    kind = forms.ChoiceField(label="What is the file?", choices=(), required=False)

    def __init__(self, *args: Any, can_attach: bool = True, **kwargs: Any) -> None:
        # The case page also holds the record upload form, which has a "kind" field too: ids
        # of their own keep the page's ids unique (labels find their fields) while the
        # posted field names stay as they are.
        kwargs.setdefault("auto_id", "id_message_%s")
        super().__init__(*args, **kwargs)
        store = messaging.attachments()
        if not can_attach or store is None:
            del self.fields["attachment"]
            del self.fields["kind"]
            return
        kind = self.fields["kind"]
        kind.choices = list(store.kinds)  # type: ignore[attr-defined]
        kind.initial = store.default_kind


def messages_context(
    case: Case, user: User, *, thread: str | None = None, form: MessageForm | None = None
) -> dict[str, Any]:
    """What ``cases/_messages_panel.html`` needs: the threads ``user`` may read (each with its
    messages and unread count), the one selected, and the form to post in it."""
    # One query: every message of the threads this role can see, each marked unread or not.
    # The counts and the selected thread come from it, and it tells whether the
    # physician-to-physician thread is open (which decides who may read it).
    rows, unread_by_thread = messaging.role_thread_messages(case, user)
    visible = messaging.threads_for(user, case)
    selected = thread if thread in visible else (visible[0] if visible else "")
    labels = dict(Thread.choices)
    unread = {t: unread_by_thread.get(t, 0) for t in visible}
    threads = [
        {
            "value": t,
            "label": labels[t],
            "unread": unread[t],
            "can_post": messaging.can_post(user, case, t),
        }
        for t in visible
    ]
    shown = [m for m in rows if m.thread == selected]
    # Each shown message's files as ``attachments``: read only when some message has one.
    with_files = [m for m in shown if getattr(m, "has_files", False)]
    if with_files:
        prefetch_related_objects(with_files, Prefetch("records", to_attr="attachments"))
    for message in shown:
        if not getattr(message, "has_files", False):
            setattr(message, "attachments", [])  # noqa: B010 (not a model field)
    if form is None and selected and messaging.can_post(user, case, selected):
        form = MessageForm(initial={"thread": selected}, can_attach=messaging.can_attach(user))
    store = messaging.attachments()
    return {
        "message_threads": threads,
        "messages_selected": selected,
        "messages_thread": shown,
        "message_form": form,
        "unread": sum(unread.values()),
        "message_accepted": store.accepted if store else "",
        "can_open_p2p": messaging.is_coordinator(user)
        and Thread.PHYSICIAN_SPECIALIST in visible
        and not messaging.p2p_is_open(case),
    }


def messages_panel(panel: PanelRequest) -> Shown | None:
    context = messages_context(
        panel.case,
        panel.user,
        thread=panel.extra.get("thread"),
        form=panel.extra.get("message_form"),
    )
    if not context["message_threads"]:
        return None
    return Shown(context, [("messages", "Messages")])
