"""The case page's timeline: status changes and notes, messages, emails sent and accesses,
newest first, in the coordinator's words.

One query: the four sources' newest rows (``limit`` each, as many as the page shows) in one
``UNION ALL``, each by its own (case, time) index, rather than one query per source.
"""

from typing import Any

from django.db import connection
from django.db.models import CharField, F, IntegerField, QuerySet, Value
from django.db.models.functions import Coalesce

from core.models import OutboundEmail

from ..models import AccessEvent, Case, CaseMessage, TimelineEvent
from .labels import console_status

ACCESS_WORDS = {
    "view": "Viewed",
    "download": "Downloaded",
    "history": "Opened the history of",
    "search": "Found in a search:",
    "edit": "Edited",
    "messages_view": "Read the messages of",
    "message_post": "Posted a message on",
}
EVENT_KINDS = dict(TimelineEvent.Kind.choices)
THREADS = dict(CaseMessage.Thread.choices)
EMAIL_STATES = dict(OutboundEmail.State.choices)

# The columns every source gives, in this order (a UNION matches them by position).
COLUMNS = ("t_source", "t_pk", "t_at", "t_a", "t_b", "t_c", "t_note", "t_name", "t_email")
EVENT, MESSAGE, EMAIL, ACCESS = range(4)


def _access_text(action: str, object_type: str, outcome: str) -> str:
    verb = ACCESS_WORDS.get(action, action.replace("_", " ").capitalize())
    text = f"{verb} {object_type.replace('_', ' ')}"
    return text if outcome == AccessEvent.Outcome.ALLOWED else f"Refused: {text}"


def _name(full_name: str | None, email: str | None) -> str:
    # As User.get_full_name, from the joined columns; "—" for no one (a system step).
    return str(full_name or email or "—")


def _text(value: str) -> Value:
    return Value(value, output_field=CharField())


def _source(queryset: QuerySet[Any], source: int, limit: int, **columns: Any) -> QuerySet[Any]:
    # Ordered by its own columns: a part of a UNION may only order by what it selects.
    return (
        queryset.annotate(t_source=Value(source, output_field=IntegerField()), **columns)
        .order_by("-t_at", "-t_pk")
        .values_list(*COLUMNS)[:limit]
    )


def case_timeline(
    case: Case, limit: int = 200, *, status_only: bool = False
) -> list[dict[str, Any]]:
    """Status changes and notes, messages, emails sent and accesses, newest first; with
    ``status_only``, the status changes alone (the path of the case, without the views and
    edits around it)."""
    events = TimelineEvent.objects.filter(case=case)
    if status_only:
        events = events.filter(kind=TimelineEvent.Kind.STATUS)
    sources = [
        _source(
            events,
            EVENT,
            limit,
            t_pk=F("pk"),
            t_at=F("at"),
            t_a=F("kind"),
            t_b=F("from_status"),
            t_c=F("to_status"),
            t_note=F("note"),
            t_name=F("actor__full_name"),
            t_email=F("actor__email"),
        )
    ]
    if not status_only:
        sources += [
            _source(
                CaseMessage.objects.filter(case=case),
                MESSAGE,
                limit,
                t_pk=F("pk"),
                t_at=F("created_at"),
                t_a=F("thread"),
                t_b=_text(""),
                t_c=_text(""),
                t_note=F("body"),
                t_name=F("author__full_name"),
                t_email=F("author__email"),
            ),
            _source(
                OutboundEmail.objects.filter(case=case),
                EMAIL,
                limit,
                t_pk=F("pk"),
                t_at=Coalesce("sent_at", "created_at"),
                t_a=F("kind"),
                t_b=F("state"),
                t_c=_text(""),
                t_note=F("subject"),
                t_name=_text(""),
                t_email=F("to"),
            ),
            _source(
                AccessEvent.objects.filter(case=case),
                ACCESS,
                limit,
                t_pk=F("pk"),
                t_at=F("at"),
                t_a=F("action"),
                t_b=F("object_type"),
                t_c=F("outcome"),
                t_note=F("object_id"),
                t_name=F("user__full_name"),
                t_email=F("user__email"),
            ),
        ]
    if len(sources) > 1 and connection.features.supports_slicing_ordering_in_compound:
        # The union as it comes (sorted below): without order_by() it would take the
        # model's default ordering, which names no column of the union.
        found = list(sources[0].union(*sources[1:], all=True).order_by())
    else:
        # SQLite (``make run``) cannot limit the parts of a UNION: a query per source.
        found = [row for source in sources for row in source]
    # Newest first; at the same moment, in the sources' order, then newest row first (the
    # order the page has always shown).
    found.sort(key=lambda row: (row[0], -row[1]))
    found.sort(key=lambda row: row[2], reverse=True)
    return [_row(*values) for values in found[:limit]]


def _row(
    source: int, pk: int, at: Any, a: str, b: str, c: str, note: str, name: str, email: str
) -> dict[str, Any]:
    if source == EVENT:
        if a == TimelineEvent.Kind.STATUS:
            what = f"{console_status(b) if b else '—'} → {console_status(c)}"
        else:
            what = str(EVENT_KINDS.get(a, a))
        return {"at": at, "kind": a, "who": _name(name, email), "what": what, "note": note}
    if source == MESSAGE:
        return {
            "at": at,
            "kind": "message",
            "who": _name(name, email),
            "what": f"Message ({THREADS.get(a, a)})",
            "note": note[:300],
        }
    if source == EMAIL:
        return {
            "at": at,
            "kind": "email",
            "who": email,
            "what": f"Email {a} ({EMAIL_STATES.get(b, b)})",
            "note": note,
        }
    return {
        "at": at,
        "kind": "access",
        "who": _name(name, email),
        "what": _access_text(a, b, c),
        "note": note,
    }
