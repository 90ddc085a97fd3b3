"""The access gate: the only way a view, download or action gets hold of a case.

A user who may not see a case gets the same 404 as for a case that does not exist, so the
answer leaks nothing. Every decision on case data is written to the audit log.

Who may see a case:
- family: the owner of the request, and a second guardian invited onto it (CaseMember),
  matched by a *verified* email address, until the owner revokes the invitation;
- physician: the local physician named on the case, or linked to it by a coordinator
  (CaseMember), matched by a *verified* email address;
- coordinator: every case;
- specialist: cases assigned to them.
"""

from collections.abc import Mapping
from typing import Any, NoReturn

from allauth.account.models import EmailAddress
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, Q, QuerySet
from django.db.models.functions import Lower
from django.http import Http404, HttpRequest

from accounts.models import Role, User

from .actions import ACTIONS, Action, Who, allowed
from .audit import access_record
from .models import Case, CaseMember


def verified_emails(user: User) -> list[str]:
    return [
        e.lower()
        for e in EmailAddress.objects.filter(user=user, verified=True).values_list(
            "email", flat=True
        )
    ]


def _verified_addresses(user: User) -> QuerySet[EmailAddress, Any]:
    """``verified_emails`` as a subquery: the visibility filter reads the addresses in its
    own query instead of in one before it."""
    return (
        EmailAddress.objects.filter(user=user, verified=True)
        .annotate(address=Lower("email"))
        .values("address")
    )


def _invited(role: str, emails: QuerySet[EmailAddress, Any]) -> QuerySet[CaseMember, Any]:
    """Ids of the cases these verified emails are invited onto (casemember_email_role_idx)."""
    return CaseMember.objects.filter(email__in=emails, role=role, revoked_at__isnull=True).values(
        "case_id"
    )


def _visibility(user: User) -> Q | None:
    """The filter of cases ``user`` may see; None means none at all.

    "Own cases OR invited cases" is written as ``id IN (own ids UNION ALL invited ids)``, not
    as ``family = me OR EXISTS (invitation)``: PostgreSQL cannot answer an OR of a column test
    and a correlated subquery from two indexes, so the OR form walked the whole case table
    (about 3 s a dashboard at 100,000 cases); each branch of the UNION reads its own index
    (the family's foreign key, ``case_physician_email_idx``, the invitations' email index).
    """
    if not user.is_authenticated or not user.is_active:
        return None
    if user.role == Role.COORDINATOR:
        return Q()
    if user.role == Role.SPECIALIST:
        return Q(assigned_specialist=user)
    # Without a verified address a physician sees nothing and a family only its own
    # requests: the subquery then finds no address, so the same filter answers that.
    emails = _verified_addresses(user)
    if user.role == Role.PHYSICIAN:
        named = Case.objects.filter(physician_email__in=emails).values("pk")
        return Q(pk__in=named.union(_invited(CaseMember.Role.PHYSICIAN, emails), all=True))
    own = Case.objects.filter(family=user).values("pk")
    return Q(pk__in=own.union(_invited(CaseMember.Role.GUARDIAN, emails), all=True))


def cases_visible_to(user: User) -> QuerySet[Case]:
    q = _visibility(user)
    if q is None:
        return Case.objects.none()
    return Case.objects.filter(q)


# The gate marks the case object it hands out with the user it let through, so the role
# checks the page then makes on the same object (messages, guardians, billing, the report
# panel) do not each ask the database again within the request.
_CHECKED_FOR = "_access_checked_for"


def can_see_case(user: User, case: Case) -> bool:
    if user.is_authenticated and getattr(case, _CHECKED_FOR, None) == user.pk:
        return True
    return cases_visible_to(user).filter(pk=case.pk).exists()


def refuse_audited(
    request: HttpRequest, reference: str, *, action: str, object_type: str, object_id: str
) -> NoReturn:
    """The gate's answer to someone who may not see, or do, this: a refused AccessEvent
    (with the case, when the reference names one) and the same 404 as for no such case."""
    access_record(
        request=request,
        case=Case.objects.filter(reference=reference).first(),
        object_type=object_type,
        object_id=object_id or reference,
        action=action,
        allowed=False,
    )
    raise Http404("No such case.")


def case_for_user(
    request: HttpRequest,
    reference: str,
    *,
    action: str = "view",
    object_type: str = "case",
    object_id: str = "",
    related: tuple[str, ...] = (),
    annotate: Mapping[str, Any] | None = None,
) -> Case:
    """Return the case named by ``reference`` if ``request.user`` may see it, else 404.

    Writes an AccessEvent either way: allowed with the case, refused with the reference that
    was tried (and the case, when it exists, so the coordinator sees attempts on it).
    ``related``: relations the page shows (``select_related``), read in the same query;
    ``annotate``: more the page reads with the case (``cases.rows``: lists of its rows).
    """
    user = request.user
    visible = cases_visible_to(user)  # type: ignore[arg-type]
    if related:
        visible = visible.select_related(*related)
    if annotate:
        visible = visible.annotate(**annotate)
    case = visible.filter(reference=reference).first()
    if case is None:
        refuse_audited(
            request, reference, action=action, object_type=object_type, object_id=object_id
        )
    access_record(
        request=request,
        case=case,
        object_type=object_type,
        object_id=object_id or case.reference,
        action=action,
        allowed=True,
    )
    setattr(case, _CHECKED_FOR, user.pk)
    return case


# --- objects named in a POST body -----------------------------------------------------------

_MAX_BIGINT = 2**63 - 1


def posted_object[M: Model](
    request: HttpRequest,
    case: Case,
    queryset: QuerySet[M],
    field: str,
    *,
    action: str,
    object_type: str,
) -> M:
    """The object of ``case`` that the POST field ``field`` names, else the gate's 404.

    A form names an object by its primary key, but the body is whatever was sent: a missing,
    malformed or out-of-range value ("abc", "1.5", "9" * 30) gets the same 404, and the same
    refused AccessEvent, as an id of someone else's object, instead of a 500 from the cast.
    ``queryset`` must already be limited to ``case``.
    """
    raw = request.POST.get(field, "")
    pk = queryset.model._meta.pk
    parsed: Any = None
    try:
        parsed = pk.to_python(raw.strip()) if raw.strip() else None
    except ValidationError:
        parsed = None
    if isinstance(parsed, int) and not 0 < parsed <= _MAX_BIGINT:
        parsed = None
    found = queryset.filter(pk=parsed).first() if parsed is not None else None
    if found is None:
        access_record(
            request=request,
            case=case,
            # What was sent, printable only: PostgreSQL text refuses NUL bytes.
            object_id="".join(c for c in raw if c.isprintable())[:64] or "-",
            object_type=object_type,
            action=action,
            allowed=False,
        )
        raise Http404("No such case.")
    return found


# --- who may act ----------------------------------------------------------------------------
#
# Seeing a case (above) and acting on it are different questions: a physician sees the case
# but does not confirm the charges; a specialist sees it only once assigned. Which role may
# do which action is the table in cases.actions; whether *this* person holds that role on
# *this* case is decided here, for every service, view and button alike.


class NotYours(PermissionDenied):
    """The person may not do this on this case. Views answer it with the gate's 404
    (``cases.web.refusals_shown``) or, in the console, with the message."""


def is_coordinator(user: User) -> bool:
    return user.is_authenticated and user.is_active and user.role == Role.COORDINATOR


def is_family_of(user: User, case: Case) -> bool:
    """The owner of the request or a second guardian invited onto it (verified email)."""
    return (
        user.is_authenticated
        and user.is_active
        and user.role == Role.FAMILY
        and can_see_case(user, case)
    )


def is_physician_of(user: User, case: Case) -> bool:
    """The local physician named on the case or linked to it (verified email)."""
    return (
        user.is_authenticated
        and user.is_active
        and user.role == Role.PHYSICIAN
        and can_see_case(user, case)
    )


def is_assigned_specialist(user: User, case: Case) -> bool:
    return (
        user.is_authenticated
        and user.is_active
        and user.role == Role.SPECIALIST
        and case.assigned_specialist_id is not None
        and case.assigned_specialist_id == user.pk
    )


def can_manage_guardians(user: User, case: Case) -> bool:
    """The first guardian (the owner), or the physician who started it before a family owns it."""
    if not (user.is_authenticated and user.is_active):
        return False
    if case.family_id is not None:
        return case.family_id == user.pk
    return case.created_by_id == user.pk


def acts_as(user: User | None, case: Case, who: Who) -> bool:
    """Whether ``user`` is ``who`` on ``case`` (None: a task or webhook, nobody signed in)."""
    if user is None:
        return who == Who.SYSTEM
    match who:
        case Who.COORDINATOR:
            return is_coordinator(user)
        case Who.FAMILY:
            return is_family_of(user, case)
        case Who.OWNER:
            return can_manage_guardians(user, case)
        case Who.PHYSICIAN:
            return is_physician_of(user, case)
        case Who.SPECIALIST:
            return is_assigned_specialist(user, case)
    return False


def may_act(user: User | None, case: Case, action: str) -> bool:
    """Whether ``user`` is one of those who may do ``action`` on ``case`` (any state)."""
    return any(acts_as(user, case, who) for who in ACTIONS[action].who)


_ONLY: dict[frozenset[Who], str] = {
    frozenset({Who.COORDINATOR}): "Only a coordinator can do this.",
    frozenset({Who.FAMILY}): "Only the child's parent or guardian can do this.",
    frozenset({Who.OWNER}): "Only the person who started the request can do this.",
    frozenset({Who.SPECIALIST}): "Only the specialist assigned to this request can do this.",
    frozenset({Who.FAMILY, Who.PHYSICIAN}): "Only the family or the physician can do this.",
}


def not_yours_message(action: str) -> str:
    return _ONLY.get(ACTIONS[action].who - {Who.SYSTEM}, "You cannot do this on this request.")


def require_may_act(user: User | None, case: Case, action: str) -> None:
    """Refuse (``NotYours``) anyone who may not do ``action`` on ``case``. Call it on the
    locked row when the answer depends on it (the assigned specialist can change)."""
    if not may_act(user, case, action):
        raise NotYours(not_yours_message(action))


def require_coordinator(by: User) -> None:
    """For steps on no one case (a fee, a holiday): the coordinator role alone."""
    if not is_coordinator(by):
        raise NotYours("Only a coordinator can do this.")


def require_assigned_specialist(by: User, case: Case) -> None:
    if not is_assigned_specialist(by, case):
        raise NotYours(not_yours_message("accept"))


def available_actions(user: User | None, case: Case) -> list[Action]:
    """What ``user`` may do on ``case`` now: allowed in its state and theirs to do. The
    console, the portal and the workspace show a button for each of these, and only these."""
    # Who the person is on this case, asked once (at most one query), not once per action.
    whos = frozenset(who for who in Who if acts_as(user, case, who))
    return [a for a in ACTIONS.values() if allowed(case, a.name) and a.who & whos]


def may_do_now(user: User | None, case: Case, action: str) -> bool:
    """One button's question: this person, this action, this case as it is now."""
    return allowed(case, action) and may_act(user, case, action)
