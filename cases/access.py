"""The access gate: the only way a view, download or action gets hold of a case.

A user who may not see a case gets the same 404 as for a case that does not exist, so the
answer leaks nothing. Every decision on case data is written to the audit log.

Who may see a case:
- family: the owner of the request (a second guardian joins with the intake issue);
- physician: the local physician named on the case, matched by a *verified* email address;
- coordinator: every case;
- specialist: cases assigned to them.
"""

from allauth.account.models import EmailAddress
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest

from accounts.models import Role, User

from .audit import access_record
from .models import Case


def verified_emails(user: User) -> list[str]:
    return [
        e.lower()
        for e in EmailAddress.objects.filter(user=user, verified=True).values_list(
            "email", flat=True
        )
    ]


def _visibility(user: User) -> Q | None:
    """The filter of cases ``user`` may see; None means none at all."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.role == Role.COORDINATOR:
        return Q()
    if user.role == Role.SPECIALIST:
        return Q(assigned_specialist=user)
    if user.role == Role.PHYSICIAN:
        emails = verified_emails(user)
        return Q(physician_email__in=emails) if emails else None
    return Q(family=user)


def cases_visible_to(user: User) -> QuerySet[Case]:
    q = _visibility(user)
    if q is None:
        return Case.objects.none()
    return Case.objects.filter(q)


def can_see_case(user: User, case: Case) -> bool:
    return cases_visible_to(user).filter(pk=case.pk).exists()


def case_for_user(
    request: HttpRequest,
    reference: str,
    *,
    action: str = "view",
    object_type: str = "case",
    object_id: str = "",
) -> Case:
    """Return the case named by ``reference`` if ``request.user`` may see it, else 404.

    Writes an AccessEvent either way: allowed with the case, refused with the reference that
    was tried (and the case, when it exists, so the coordinator sees attempts on it).
    """
    user = request.user
    case = cases_visible_to(user).filter(reference=reference).first()  # type: ignore[arg-type]
    if case is None:
        attempted = Case.objects.filter(reference=reference).first()
        access_record(
            request=request,
            case=attempted,
            object_type=object_type,
            object_id=object_id or reference,
            action=action,
            allowed=False,
        )
        raise Http404("No such case.")
    access_record(
        request=request,
        case=case,
        object_type=object_type,
        object_id=object_id or case.reference,
        action=action,
        allowed=True,
    )
    return case
