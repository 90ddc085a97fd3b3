"""The one way the portal sends email: render a subject/text/HTML triplet, keep it in the
outbox, and let a Celery task send it after the transaction commits.

Templates live in ``templates/emails/<name>_subject.txt``, ``<name>.txt`` and ``<name>.html``.
They carry no medical detail: only that there is news, and a link to sign in.
"""

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.template import Context
from django.template.loader import get_template, render_to_string

from .models import OutboundEmail
from .tasks import email_send


def enqueue(
    *,
    to: str,
    subject: str,
    text: str,
    html: str = "",
    kind: str,
    dedupe_key: str | None,
    about: models.Model | None = None,
) -> OutboundEmail | None:
    """Queue one already-rendered email. Returns None when ``dedupe_key`` was already used.

    ``dedupe_key`` has no default: a caller that passes None says, on the line, that every
    call is a new email (allauth's resends), not that it forgot.
    """
    try:
        with transaction.atomic():
            email = OutboundEmail.objects.create(
                to=to,
                subject=subject[:255],
                text=text,
                html=html,
                kind=kind,
                about=about,
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


def render(template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """Subject (one line, prefixed with the site's name), text and HTML of ``template``."""
    ctx = {
        "SITE_NAME": settings.SITE_NAME,
        "SITE_URL": settings.SITE_URL,
        "SUPPORT_EMAIL": settings.SUPPORT_EMAIL,
        **context,
    }
    subject = " ".join(_render_plain(f"emails/{template}_subject.txt", ctx).split())
    text = _render_plain(f"emails/{template}.txt", ctx).strip()
    html = render_to_string(f"emails/{template}.html", ctx).strip()
    return f"[{settings.SITE_NAME}] {subject}", text, html


def send_template(
    *,
    template: str,
    to: Iterable[str],
    key: str,
    context: dict[str, Any] | None = None,
    about: models.Model | None = None,
) -> list[OutboundEmail]:
    """Queue ``template`` to each address once (blank ones skipped), in the caller's
    transaction. ``key`` names the event; ``key:address`` is each email's dedupe key, so the
    same event never mails the same person twice however often it is replayed.

    Returns the emails queued now (those queued before by the same event are left out).
    """
    queued = []
    for address in dict.fromkeys(to):
        if not address:
            continue
        subject, text, html = render(template, context or {})
        email = enqueue(
            to=address,
            subject=subject,
            text=text,
            html=html,
            kind=template,
            about=about,
            dedupe_key=f"{key}:{address}"[:200],
        )
        if email is not None:
            queued.append(email)
    return queued
