"""Who is emailed about a case, and the case's side of the outbox (core.outbox).

Templates carry no medical detail: only that there is news, and a link to sign in.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.dispatch import receiver

from accounts.models import Role, User
from core.models import OutboundEmail
from core.outbox import send_template
from core.signals import email_sent

from .models import Case, CaseMember, TimelineEvent


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
    return list(
        User.objects.filter(role=Role.COORDINATOR, is_active=True).values_list("email", flat=True)
    )


def case_email(
    case: Case, template: str, to: Iterable[str], key: str, **context: Any
) -> list[OutboundEmail]:
    """Queue ``template`` about ``case`` to each address once; ``key:address`` is the dedupe
    key. The template sees the case as ``case``. Returns the emails queued now."""
    return send_template(
        template=template, to=to, key=key, about=case, context={"case": case, **context}
    )


@receiver(email_sent)
def email_mark_on_timeline(sender: type[OutboundEmail], *, email: OutboundEmail, **_: Any) -> None:
    """A sent email about a case shows on its timeline (in the transaction that marks it)."""
    if email.about_id is not None and email.about_type_id == (
        ContentType.objects.get_for_model(Case).pk
    ):
        TimelineEvent.objects.create(
            case_id=email.about_id,
            kind=TimelineEvent.Kind.EMAIL,
            note=f"Email “{email.kind}” sent to {email.to}",
        )
