"""The audit log writer: who viewed or downloaded what case data, or was refused."""

from django.http import HttpRequest

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
