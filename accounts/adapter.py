"""django-allauth hooks: every allauth email goes through our outbox and a Celery task."""

from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.conf import settings
from django.http import HttpRequest

from core.outbox import enqueue


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        request = self.request
        # allauth's templates greet with current_site.name ("Hello from …"); the sites
        # framework is not installed, so the service's own name and address stand in.
        site = SimpleNamespace(
            name=settings.SITE_NAME, domain=urlsplit(settings.SITE_URL).netloc or "localhost"
        )
        ctx: dict[str, Any] = {"request": request, "email": email, "current_site": site}
        ctx.update(context)
        message = self.render_mail(template_prefix, email, ctx)
        html = next(
            (
                content
                for content, mimetype in getattr(message, "alternatives", [])
                if mimetype == "text/html"
            ),
            "",
        )
        enqueue(
            to=email,
            subject=message.subject,
            text=message.body,
            html=str(html),
            kind=template_prefix.rsplit("/", 1)[-1],
            # allauth decides when to mail, and each call is a new email by design (a resent
            # confirmation, a new sign-in code): there is no event to dedupe on.
            dedupe_key=None,
        )

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return True


class MfaAdapter(DefaultMFAAdapter):
    pass
