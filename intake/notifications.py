"""Who is emailed about a request, and with which template. No medical detail ever: each
email says there is something to see and links to sign in. Called after commit."""

from django.conf import settings
from django.urls import reverse

from cases.models import Case, CaseMember
from cases.notifications import coordinator_addresses as _coordinator_addresses
from cases.notifications import email_render_and_enqueue
from cases.notifications import family_addresses as _family_addresses

from .models import PhysicianLinkRequest


def _signup_url(email: str, role: str) -> str:
    from django.utils.http import urlencode

    query = urlencode({"email": email, "role": role})
    return f"{settings.SITE_URL}{reverse('account_signup')}?{query}"


def notify_submitted(*, case_id: int) -> None:
    case = Case.objects.select_related("family").get(pk=case_id)
    for email in _family_addresses(case):
        email_render_and_enqueue(
            template="request_received",
            to=email,
            case=case,
            dedupe_key=f"submitted:{case.pk}:{email}",
        )
    if case.physician_email:
        email_render_and_enqueue(
            template="physician_invitation",
            to=case.physician_email,
            case=case,
            context={"signup_url": _signup_url(case.physician_email, "physician")},
            dedupe_key=f"physician-invite:{case.pk}:{case.physician_email}",
        )
    for email in _coordinator_addresses():
        email_render_and_enqueue(
            template="coordinator_new_request",
            to=email,
            case=case,
            dedupe_key=f"coordinator-new:{case.pk}:{email}",
        )


def notify_guardian_invited(*, member_id: int) -> None:
    member = CaseMember.objects.select_related("case").get(pk=member_id)
    email_render_and_enqueue(
        template="guardian_invitation",
        to=member.email,
        case=member.case,
        context={
            "signup_url": _signup_url(member.email, "family"),
            "started_by_physician": member.case.family_id is None,
        },
        dedupe_key=f"guardian-invite:{member.pk}",
    )


def notify_link_requested(*, link_id: int) -> None:
    link = PhysicianLinkRequest.objects.select_related("case").get(pk=link_id)
    for email in _coordinator_addresses():
        email_render_and_enqueue(
            template="coordinator_alert",
            to=email,
            case=link.case,
            context={"what": "A physician asked to be linked to this request."},
            dedupe_key=f"link-request:{link.pk}:{email}",
        )


def notify_record_refused(*, case_id: int) -> None:
    case = Case.objects.select_related("family").get(pk=case_id)
    for email in _family_addresses(case) or (
        [case.physician_email] if case.physician_email else []
    ):
        email_render_and_enqueue(template="case_update", to=email, case=case)


def notify_coordinators_quarantine(*, case_id: int) -> None:
    case = Case.objects.get(pk=case_id)
    for email in _coordinator_addresses():
        email_render_and_enqueue(
            template="coordinator_alert",
            to=email,
            case=case,
            context={"what": "A record on this request was quarantined by the virus scan."},
        )
