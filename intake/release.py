"""The records-release authorisation: the form a family signs so that an outside provider
(a clinic, an imaging centre, a lab the coordinator asked records of) may send them to us.

Providers release a child's records only against the guardian's signed authorisation, so
for every record request made of an outside provider the family downloads this form
pre-filled, signs it and uploads it to the case; the coordinator sends it on with the
request. It holds the elements a HIPAA authorisation must have (45 CFR 164.508(c)): what is to be
released, by whom, to whom, for what purpose, until when, the right to revoke, and the
signature and date.

Who gets it: the family (owner and invited guardians) and the coordinator. Not the local
physician nor the specialist: it carries the guardian's address and phone, and neither
needs them. ``render_authorisation`` needs no request, so a task could produce one too.
"""

import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import Role, User
from cases.models import Case, RecordRequest
from core.pdf.render import render_pdf

from .models import Intake

TEMPLATE = "intake/release_authorisation.html"
TITLE = "Authorisation to release medical records"
RELEASE_ROLES = frozenset({Role.FAMILY, Role.COORDINATOR})
# Long enough for a slow provider and a second request for what was missed, short enough
# that a signature does not open the child's records indefinitely.
VALID_DAYS = 365


def is_releasable(record_request: RecordRequest) -> bool:
    """Only records asked of an outside provider need the family's signed authorisation:
    the family sends its own, and the local physician is already part of the case."""
    return record_request.requested_from == RecordRequest.From.PROVIDER


def may_download(user: User, record_request: RecordRequest) -> bool:
    """Whether ``user`` (already let through the access gate for the case) gets the form."""
    return user.role in RELEASE_ROLES and is_releasable(record_request)


def authorisation_filename(case: Case, record_request: RecordRequest) -> str:
    # References are [A-Z0-9-] only and the id is an integer: safe in a quoted filename.
    return f"records-release-{case.reference}-{record_request.pk}.pdf"


def _address_lines(intake: Intake) -> list[str]:
    city = " ".join(
        part
        for part in (
            f"{intake.address_city}," if intake.address_city else "",
            intake.address_state,
            intake.address_zip,
        )
        if part
    ).rstrip(",")
    return [line for line in (intake.address_line1, intake.address_line2, city) if line]


def _people(case: Case) -> dict[str, Any]:
    """Patient and guardian as the request form has them; blanks (a line to fill in by hand)
    for what the family has not told us yet."""
    intake = Intake.objects.filter(case=case).first()
    family_name = case.family.full_name if case.family is not None else ""
    if intake is None:
        return {
            "patient": {"name": "", "date_of_birth": None},
            "guardian": {"name": family_name, "relationship": "", "address": [], "phone": ""},
        }
    return {
        "patient": {"name": intake.child_name, "date_of_birth": intake.child_date_of_birth},
        "guardian": {
            "name": intake.guardian_name or family_name,
            "relationship": intake.get_guardian_relationship_display()
            if intake.guardian_relationship
            else "",
            "address": _address_lines(intake),
            "phone": intake.guardian_phone,
        },
    }


def authorisation_context(
    record_request: RecordRequest, *, today: datetime.date | None = None
) -> dict[str, Any]:
    """Everything the form shows; plain values only (no request needed)."""
    case = record_request.case
    issued_on = today or timezone.localdate()
    return {
        "title": TITLE,
        "reference": case.reference,
        "issued_on": issued_on,
        "valid_days": VALID_DAYS,
        "site_name": settings.SITE_NAME,
        "hospital": {
            "name": settings.HOSPITAL_NAME,
            "address": settings.HOSPITAL_ADDRESS,
            "support_email": settings.SUPPORT_EMAIL,
        },
        "provider": {
            "name": record_request.provider_name,
            "contact": record_request.provider_contact,
        },
        "records_wanted": record_request.what,
        "due_date": record_request.due_date,
        "by_mail": record_request.by_mail,
        **_people(case),
    }


def render_authorisation(record_request: RecordRequest) -> bytes:
    """The PDF for ``record_request``. Callers check ``may_download`` first."""
    return render_pdf(template=TEMPLATE, context=authorisation_context(record_request))
