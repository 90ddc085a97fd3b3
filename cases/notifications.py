"""The one way the portal sends email: render a subject/text/HTML triplet, keep it in the
outbox, and let a Celery task send it after the transaction commits.

Templates live in ``templates/emails/<name>_subject.txt``, ``<name>.txt`` and ``<name>.html``.
They carry no medical detail: only that there is news, and a link to sign in.
"""

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template import Context
from django.template.loader import get_template, render_to_string

from .models import Case, CaseMember, OutboundEmail, TimelineEvent


def family_addresses(case: Case) -> list[str]:
    """The owner and every invited (not revoked) guardian, once each."""
    emails = [case.family.email] if case.family else []
    emails += list(
        CaseMember.objects.filter(
            case=case, role=CaseMember.Role.GUARDIAN, revoked_at__isnull=True
        ).values_list("email", flat=True)
    )
    return list(dict.fromkeys(emails))


def physician_addresses(case: Case) -> list[str]:
    """The local physician named on the case and any physician a coordinator linked, once each."""
    emails = [case.physician_email] if case.physician_email else []
    emails += list(
        CaseMember.objects.filter(
            case=case, role=CaseMember.Role.PHYSICIAN, revoked_at__isnull=True
        ).values_list("email", flat=True)
    )
    return list(dict.fromkeys(emails))


def coordinator_addresses() -> list[str]:
    from accounts.models import Role, User

    return list(
        User.objects.filter(role=Role.COORDINATOR, is_active=True).values_list("email", flat=True)
    )


def email_enqueue(
    *,
    to: str,
    subject: str,
    text: str,
    html: str = "",
    kind: str,
    case: Case | None = None,
    dedupe_key: str | None = None,
) -> OutboundEmail | None:
    """Queue one email. Returns None when ``dedupe_key`` was already used (already queued)."""
    from .tasks import email_send

    try:
        with transaction.atomic():
            email = OutboundEmail.objects.create(
                to=to,
                subject=subject[:255],
                text=text,
                html=html,
                kind=kind,
                case=case,
                dedupe_key=dedupe_key,
            )
    except IntegrityError:
        if dedupe_key and OutboundEmail.objects.filter(dedupe_key=dedupe_key).exists():
            return None
        raise
    email_id = email.pk
    transaction.on_commit(lambda: email_send.delay(email_id))
    return email


def _render_plain(name: str, ctx: dict[str, Any]) -> str:
    # Plain-text parts are not HTML: escaping would turn "&" in a link into "&amp;".
    template = get_template(name).template  # type: ignore[attr-defined]
    return str(template.render(Context(ctx, autoescape=False)))


def email_render_and_enqueue(
    *,
    template: str,
    to: str,
    context: dict[str, Any] | None = None,
    case: Case | None = None,
    dedupe_key: str | None = None,
) -> OutboundEmail | None:
    ctx = {
        "SITE_NAME": settings.SITE_NAME,
        "SITE_URL": settings.SITE_URL,
        "SUPPORT_EMAIL": settings.SUPPORT_EMAIL,
        "case": case,
        **(context or {}),
    }
    subject = " ".join(_render_plain(f"emails/{template}_subject.txt", ctx).split())
    text = _render_plain(f"emails/{template}.txt", ctx).strip()
    html = render_to_string(f"emails/{template}.html", ctx).strip()
    return email_enqueue(
        to=to,
        subject=f"[{settings.SITE_NAME}] {subject}",
        text=text,
        html=html,
        kind=template,
        case=case,
        dedupe_key=dedupe_key,
    )


def email_mark_on_timeline(email: OutboundEmail) -> None:
    if email.case_id is not None:
        TimelineEvent.objects.create(
            case_id=email.case_id,
            kind=TimelineEvent.Kind.EMAIL,
            note=f"Email “{email.kind}” sent to {email.to}",
        )
