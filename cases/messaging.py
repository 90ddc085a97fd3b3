"""Secure messages on a case.

Two threads per case:
- ``coordinator``: the family (owner or invited guardian) and the local physician with the
  coordinators, the single point of contact. Specialists never see or post in it.
- ``physician_specialist``: the assigned specialist and the local physician, which a
  coordinator opens (``p2p_open``) and may read and post in. Nobody else sees it, and nobody
  posts in it before it is opened.

Attachments go through the records pipeline (checked, hashed, scanned) and become records of
the case. Each new message emails the other side (never the body: no medical detail in
email) and adds a timeline note without the body.

Unread: one read marker per person and case; a message is unread when someone else wrote it
in a thread the person may see after their marker (or when they have no marker yet).

The records pipeline belongs to intake, above this kernel: intake provides it here at
start-up (``provide_attachments``), so messages can take files without this module naming it.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from cases.notifications import coordinator_addresses as _coordinator_addresses
from cases.notifications import family_addresses as _family_addresses
from core.refusals import Refused

from .access import can_see_case
from .lifecycle import timeline_note as _note
from .models import Case, CaseMember, CaseMessage, CaseReadMarker
from .notifications import case_email

Thread = CaseMessage.Thread


class AttachmentRefused(Refused):
    """A file the records pipeline will not keep (its type, its size, a duplicate); the
    message is for the person who sent it and belongs next to the file field."""


@dataclass(frozen=True)
class Attachments:
    """How a message's file becomes a record of the case (provided by the records app)."""

    kinds: Sequence[tuple[str, str]]  # what the sender says the file is
    default_kind: str
    accepted: str  # the accepted file types, in words
    # (case, by, uploaded, kind) -> the new record's id; raises AttachmentRefused.
    store: Callable[[Case, User, UploadedFile, str], int]


_attachments: list[Attachments] = []


def provide_attachments(attachments: Attachments) -> None:
    """Called once by the records app's ``ready``; without it messages take no files."""
    _attachments[:] = [attachments]


def attachments() -> Attachments | None:
    return _attachments[0] if _attachments else None


def _active(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def is_family_member(user: User, case: Case) -> bool:
    return _active(user) and user.role == Role.FAMILY and can_see_case(user, case)


def is_case_physician(user: User, case: Case) -> bool:
    return _active(user) and user.role == Role.PHYSICIAN and can_see_case(user, case)


def is_assigned_specialist(user: User, case: Case) -> bool:
    return (
        _active(user)
        and user.role == Role.SPECIALIST
        and case.assigned_specialist_id is not None
        and case.assigned_specialist_id == user.pk
    )


def is_coordinator(user: User) -> bool:
    return _active(user) and user.role == Role.COORDINATOR


# Whether the physician-to-physician thread has a message, when ``role_thread_messages``
# (or posting to it) already found out for this request's case object (the page asks
# several times per render).
_P2P_OPEN = "_p2p_open"


def p2p_is_open(case: Case) -> bool:
    known = getattr(case, _P2P_OPEN, None)
    if known is not None:
        return bool(known)
    return case.messages.filter(thread=Thread.PHYSICIAN_SPECIALIST).exists()


def role_threads(user: User) -> list[str]:
    """The threads a person of this role can ever see on a case they may see."""
    if not _active(user):
        return []
    if user.role in (Role.COORDINATOR, Role.PHYSICIAN):
        return [Thread.COORDINATOR, Thread.PHYSICIAN_SPECIALIST]
    if user.role == Role.SPECIALIST:
        return [Thread.PHYSICIAN_SPECIALIST]
    if user.role == Role.FAMILY:
        return [Thread.COORDINATOR]
    return []


def can_read_thread(user: User, case: Case, thread: str) -> bool:
    if thread == Thread.COORDINATOR:
        return is_coordinator(user) or is_family_member(user, case) or is_case_physician(user, case)
    if thread == Thread.PHYSICIAN_SPECIALIST:
        if is_coordinator(user):
            return True
        # The role first: a family never sees this thread, so need not ask whether it is open.
        return (is_assigned_specialist(user, case) or is_case_physician(user, case)) and (
            p2p_is_open(case)
        )
    return False


def threads_for(user: User, case: Case) -> list[str]:
    """The threads ``user`` may read on ``case``, in display order."""
    return [t for t in Thread.values if can_read_thread(user, case, t)]


def can_post(user: User, case: Case, thread: str) -> bool:
    if thread == Thread.PHYSICIAN_SPECIALIST and not p2p_is_open(case):
        return False
    return can_read_thread(user, case, thread)


def can_attach(user: User) -> bool:
    """Attachments become records: the people who may add records (not specialists)."""
    return attachments() is not None and user.role in (
        Role.FAMILY,
        Role.PHYSICIAN,
        Role.COORDINATOR,
    )


def _physician_addresses(case: Case) -> list[str]:
    emails = [case.physician_email] if case.physician_email else []
    emails += list(
        CaseMember.objects.filter(
            case=case, role=CaseMember.Role.PHYSICIAN, revoked_at__isnull=True
        ).values_list("email", flat=True)
    )
    return list(dict.fromkeys(e.lower() for e in emails))


def _specialist_addresses(case: Case) -> list[str]:
    specialist = case.assigned_specialist
    if specialist is None or not specialist.is_active:
        return []
    return [specialist.email]


def _recipients(message: CaseMessage) -> list[str]:
    case, author = message.case, message.author
    if message.thread == Thread.COORDINATOR:
        if author.role == Role.COORDINATOR:
            emails = _family_addresses(case) + _physician_addresses(case)
        else:
            emails = _coordinator_addresses()
    elif author.role == Role.PHYSICIAN:
        emails = _specialist_addresses(case)
    elif author.role == Role.SPECIALIST:
        emails = _physician_addresses(case)
    else:  # a coordinator in the physician-to-physician thread: both physicians
        emails = _physician_addresses(case) + _specialist_addresses(case)
    mine = author.email.lower()
    return [e for e in dict.fromkeys(x.lower() for x in emails) if e and e != mine]


def _notify(message: CaseMessage) -> None:
    path = reverse("case_messages", args=[message.case.reference])
    case_email(
        message.case,
        "message_received",
        _recipients(message),
        f"message:{message.pk}",
        messages_path=f"{path}?thread={message.thread}",
    )


def _author_label(author: User) -> str:
    return f"{author.get_full_name()} ({author.get_role_display()})"


@transaction.atomic
def message_post(
    *,
    case: Case,
    by: User,
    body: str,
    thread: str,
    attachment: UploadedFile | None = None,
    kind: str = "",
) -> CaseMessage:
    """Post a message; with ``attachment``, the file becomes a record of the case first.

    Raises PermissionDenied when ``by`` may not post in ``thread``, ValidationError for an
    empty body, and AttachmentRefused for a file the records pipeline will not keep;
    nothing is kept then.
    """
    if thread not in Thread.values or not can_post(by, case, thread):
        raise PermissionDenied("You cannot post in this conversation.")
    body = body.strip()
    if not body:
        raise ValidationError("Write a message.")
    if len(body) > 5000:
        raise ValidationError("Messages can be up to 5,000 characters.")
    record: int | None = None
    if attachment is not None:
        store = attachments()
        if store is None or not can_attach(by):
            raise PermissionDenied("You cannot attach files here.")
        record = store.store(case, by, attachment, kind or store.default_kind)
    message = CaseMessage.objects.create(case=case, thread=thread, author=by, body=body)
    if record is not None:
        message.records.add(record)
    _note(case, by, f"Message from {_author_label(by)}")
    messages_mark_read(case=case, user=by, at=message.created_at)
    _notify(message)
    return message


@transaction.atomic
def p2p_open(*, case: Case, by: User) -> CaseMessage:
    """A coordinator opens the physician-to-physician thread: its first message says so and
    the local physician and the specialist are emailed. Opening it again changes nothing."""
    if not is_coordinator(by):
        raise PermissionDenied("Only a coordinator can open this conversation.")
    # Two coordinators opening it at once: the second waits here, then finds the first's.
    locked = Case.objects.lock(case)
    first = case.messages.filter(thread=Thread.PHYSICIAN_SPECIALIST).first()
    if first is not None:
        return first
    if locked.assigned_specialist_id is None:
        raise ValidationError("Assign a specialist before opening this conversation.")
    if not _physician_addresses(case):
        raise ValidationError("This request names no local physician.")
    message = CaseMessage.objects.create(
        case=case,
        thread=Thread.PHYSICIAN_SPECIALIST,
        author=by,
        body=(
            f"{by.get_full_name()}, coordinator, opened this conversation between the "
            "specialist and the local physician. The coordinators can read it."
        ),
    )
    setattr(case, _P2P_OPEN, True)
    _note(case, by, "Physician-to-physician conversation opened")
    messages_mark_read(case=case, user=by, at=message.created_at)
    _notify(message)
    return message


def messages_mark_read(*, case: Case, user: User, at: datetime | None = None) -> None:
    """Everything on ``case`` up to ``at`` (default now) is read by ``user``; never goes back."""
    when = at or timezone.now()
    marker, created = CaseReadMarker.objects.get_or_create(
        case=case, user=user, defaults={"last_read_at": when}
    )
    if not created and marker.last_read_at < when:
        CaseReadMarker.objects.filter(pk=marker.pk, last_read_at__lt=when).update(last_read_at=when)


def _unread_messages(user: User, case_ref: OuterRef | int) -> QuerySet[CaseMessage]:
    return (
        CaseMessage.objects.filter(case=case_ref, thread__in=role_threads(user))
        .exclude(author=user)
        .filter(
            ~Exists(
                CaseReadMarker.objects.filter(
                    case=OuterRef("case"), user=user, last_read_at__gte=OuterRef("created_at")
                )
            )
        )
    )


def role_thread_messages(case: Case, user: User) -> tuple[list[CaseMessage], dict[str, int]]:
    """Every message of ``case`` in the threads ``user``'s role can see, oldest first, with
    its author, and per thread how many are unread (as in ``unread_count``): one query that
    gives the case page both the thread it shows and every thread's count. Notes on ``case``
    whether the physician-to-physician thread is open when that thread was read."""
    threads = role_threads(user)
    read = CaseReadMarker.objects.filter(
        case=OuterRef("case"), user=user, last_read_at__gte=OuterRef("created_at")
    )
    rows = (
        case.messages.filter(thread__in=threads)
        .select_related("author")
        .annotate(
            unread=ExpressionWrapper(~Q(author=user) & ~Exists(read), output_field=BooleanField()),
            # Whether it has files, so the page reads attachments only when some message has.
            has_files=Exists(
                CaseMessage.records.through.objects.filter(casemessage=OuterRef("pk"))
            ),
        )
        .order_by("created_at", "pk")
    )
    messages: list[CaseMessage] = []
    unread: dict[str, int] = dict.fromkeys(threads, 0)
    for message in rows:
        messages.append(message)
        unread[message.thread] += bool(message.unread)
    if Thread.PHYSICIAN_SPECIALIST in threads:
        setattr(case, _P2P_OPEN, any(m.thread == Thread.PHYSICIAN_SPECIALIST for m in messages))
    return messages, unread


def unread_count(case: Case, user: User, *, thread: str | None = None) -> int:
    """Messages by others on ``case`` that ``user`` has not read, in the threads they see."""
    qs = _unread_messages(user, case.pk)
    if thread is not None:
        qs = qs.filter(thread=thread)
    return qs.count()


def with_unread_for(qs: QuerySet[Case], user: User) -> QuerySet[Case]:
    """Annotate ``unread_messages`` on a queryset of cases ``user`` may see (the dashboard, the
    coordinator's queue): one subquery, so the number of queries does not grow with cases."""
    counts = (
        _unread_messages(user, OuterRef("pk"))
        .order_by()
        .values("case")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return qs.annotate(
        unread_messages=Coalesce(
            Subquery(counts, output_field=IntegerField()), Value(0), output_field=IntegerField()
        )
    )
