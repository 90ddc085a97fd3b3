"""The audit log writer: who viewed or downloaded what case data, or was refused."""

from django.db import connection
from django.http import HttpRequest

from .audit_hash import chain_for
from .models import AccessEvent, Case


def _client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is trivially forged unless a known proxy sets it,
    # and production runs behind one that rewrites REMOTE_ADDR (gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR") or None


def access_record(
    *,
    request: HttpRequest,
    case: Case | None,
    object_type: str,
    object_id: str | int = "",
    action: str,
    allowed: bool,
) -> AccessEvent:
    user = request.user if request.user.is_authenticated else None
    return AccessEvent.objects.create(
        user=user,
        role=getattr(user, "role", "") if user else "anonymous",
        case=case,
        object_type=object_type,
        object_id=str(object_id)[:64],
        action=action,
        outcome=AccessEvent.Outcome.ALLOWED if allowed else AccessEvent.Outcome.DENIED,
        ip=_client_ip(request),
        request_id=getattr(request, "request_id", ""),
    )


def access_record_many(
    *,
    request: HttpRequest,
    seen: list[tuple[Case | None, str, str]],
    action: str,
) -> None:
    """One allowed AccessEvent per (case, object_type, object_id) seen on one page.

    On PostgreSQL one multi-row INSERT, so a search page costs one query however many rows
    it shows. The rows go in chain order: the trigger locks each row's chain head as it
    goes, and two pages locking the same heads in the same order cannot deadlock.
    """

    user = request.user if request.user.is_authenticated else None
    events = [
        AccessEvent(
            user=user,
            role=getattr(user, "role", "") if user else "anonymous",
            case=case,
            object_type=object_type,
            object_id=str(object_id)[:64],
            action=action,
            outcome=AccessEvent.Outcome.ALLOWED,
            ip=_client_ip(request),
            request_id=getattr(request, "request_id", ""),
        )
        for case, object_type, object_id in seen
    ]
    if connection.vendor != "postgresql":
        # Elsewhere the model links each row itself (AccessEvent.save).
        for event in events:
            event.save()
        return
    for event in events:
        event.chain = chain_for(case_id=event.case_id, user_id=event.user_id)
    events.sort(key=lambda event: event.chain)
    AccessEvent.objects.bulk_create(events)
