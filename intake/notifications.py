"""Who is emailed about a request, and with which template. No medical detail ever: each
email says there is something to see and links to sign in. Called after commit; every email
names its event in its dedupe key, so a replayed call mails no one twice."""

from django.conf import settings
from django.urls import reverse
from django.utils.http import urlencode

from cases.models import Case, CaseMember
from cases.notifications import case_email
from cases.notifications import coordinator_addresses as _coordinator_addresses
from cases.notifications import family_addresses as _family_addresses

from .models import PhysicianLinkRequest, Record


def _signup_url(email: str, role: str) -> str:
    query = urlencode({"email": email, "role": role})
    return f"{settings.SITE_URL}{reverse('account_signup')}?{query}"


def notify_submitted(*, case_id: int) -> None:
    case = Case.objects.select_related("family").get(pk=case_id)
    case_email(case, "request_received", _family_addresses(case), f"submitted:{case.pk}")
    if case.physician_email:
        case_email(
            case,
            "physician_invitation",
            [case.physician_email],
            f"physician-invite:{case.pk}",
            signup_url=_signup_url(case.physician_email, "physician"),
        )
    case_email(
        case, "coordinator_new_request", _coordinator_addresses(), f"coordinator-new:{case.pk}"
    )


def notify_guardian_invited(*, member_id: int) -> None:
    member = CaseMember.objects.select_related("case").get(pk=member_id)
    case_email(
        member.case,
        "guardian_invitation",
        [member.email],
        f"guardian-invite:{member.pk}",
        signup_url=_signup_url(member.email, "family"),
        started_by_physician=member.case.family_id is None,
    )


def notify_link_requested(*, link_id: int) -> None:
    link = PhysicianLinkRequest.objects.select_related("case").get(pk=link_id)
    case_email(
        link.case,
        "coordinator_alert",
        _coordinator_addresses(),
        f"link-request:{link.pk}",
        what="A physician asked to be linked to this request.",
    )


def notify_record_refused(*, record_id: int) -> None:
    record = Record.objects.select_related("case__family").get(pk=record_id)
    case = record.case
    case_email(
        case,
        "case_update",
        _family_addresses(case) or ([case.physician_email] if case.physician_email else []),
        f"record-refused:{record.pk}",
    )


def notify_coordinators_quarantine(*, record_id: int) -> None:
    case = Record.objects.select_related("case").get(pk=record_id).case
    case_email(
        case,
        "coordinator_alert",
        _coordinator_addresses(),
        f"quarantine:{record_id}",
        what="A record on this request was quarantined by the virus scan.",
    )
