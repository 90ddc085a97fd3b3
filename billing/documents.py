"""The family's money documents: a receipt and a superbill once a case is paid, a "no
charge" statement for a free case. Which ones a case has, what they say, and their PDFs.

- receipt and superbill: the charge went through (billing state paid, partly refunded or
  refunded, with money actually received);
- no-charge statement: the fee fixed at submission is zero and the case is past draft.

Who gets them: the family (owner and invited guardians) and the coordinator. Not the local
physician nor the specialist: these documents carry the guardian's name and card, amounts
and diagnosis codes, and neither needs them for the child's care.

``render_document`` needs no request, so a Celery task can produce (or email) one.
"""

import datetime
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from cases.models import Case, Status
from core.pdf.render import render_pdf
from intake.models import Intake

from .fees import fee_for
from .models import CaseBilling, PaymentAttempt, Refund

RECEIPT = "receipt"
SUPERBILL = "superbill"
STATEMENT = "statement"

PAID_STATES = frozenset(
    {
        CaseBilling.State.PAID,
        CaseBilling.State.PARTIALLY_REFUNDED,
        CaseBilling.State.REFUNDED,
    }
)
DOCUMENT_ROLES = frozenset({Role.FAMILY, Role.COORDINATOR})

CARD_BRANDS = {
    "amex": "American Express",
    "diners": "Diners Club",
    "discover": "Discover",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
}


@dataclass(frozen=True)
class DocumentSpec:
    kind: str
    title: str
    template: str
    url_name: str
    filename_prefix: str
    description: str


SPECS: dict[str, DocumentSpec] = {
    RECEIPT: DocumentSpec(
        kind=RECEIPT,
        title="Receipt",
        template="billing/documents/receipt.html",
        url_name="receipt_pdf",
        filename_prefix="receipt",
        description="Proof of your payment: the amount, the date and the card used.",
    ),
    SUPERBILL: DocumentSpec(
        kind=SUPERBILL,
        title="Superbill",
        template="billing/documents/superbill.html",
        url_name="superbill_pdf",
        filename_prefix="superbill",
        description=(
            "For insurance reimbursement: send it to your insurer with their claim form. "
            "It lists the provider, service and diagnosis codes insurers ask for."
        ),
    ),
    STATEMENT: DocumentSpec(
        kind=STATEMENT,
        title="No-charge statement",
        template="billing/documents/no_charge.html",
        url_name="no_charge_pdf",
        filename_prefix="no-charge-statement",
        description="Confirms that this second opinion was provided at no charge.",
    ),
}


def _billing(case: Case) -> CaseBilling | None:
    # Through the relation, so that a page that read the billing row with the case
    # (select_related) does not read it again.
    try:
        return case.billing
    except CaseBilling.DoesNotExist:
        return None


def _fee_is_zero_without_billing_row(case: Case) -> bool:
    """A submitted case whose billing row is missing: the fee schedule on the day it was
    submitted decides (the schedule keeps its history)."""
    submitted = case.submitted_at or case.created_at
    try:
        return fee_for(case.specialty, timezone.localdate(submitted)).amount_cents == 0
    except LookupError:
        return False


def available_documents(case: Case) -> list[str]:
    """The kinds of document ``case`` has now, in display order."""
    billing = _billing(case)
    if billing is not None and billing.state in PAID_STATES and billing.paid_cents > 0:
        return [RECEIPT, SUPERBILL]
    if case.status == Status.DRAFT:
        return []
    if billing is None:
        return [STATEMENT] if _fee_is_zero_without_billing_row(case) else []
    if billing.fee_cents == 0 and billing.paid_cents == 0:
        return [STATEMENT]
    return []


def may_download(user: User, case: Case, kind: str) -> bool:
    """Whether ``user`` (already let through the access gate for ``case``) gets ``kind``."""
    return user.role in DOCUMENT_ROLES and kind in available_documents(case)


def document_filename(case: Case, kind: str) -> str:
    # References are [A-Z0-9-] only: safe inside a quoted Content-Disposition filename.
    return f"{SPECS[kind].filename_prefix}-{case.reference}.pdf"


def documents_for_user(user: User, case: Case) -> list[dict[str, str]]:
    """What the case page's documents panel lists for ``user``: title, description, url."""
    if user.role not in DOCUMENT_ROLES:
        return []
    return [
        {
            "kind": kind,
            "title": SPECS[kind].title,
            "description": SPECS[kind].description,
            "url": reverse(SPECS[kind].url_name, kwargs={"reference": case.reference}),
            "filename": document_filename(case, kind),
        }
        for kind in available_documents(case)
    ]


# --- what the documents say --------------------------------------------------------------


def money(cents: int) -> str:
    return f"${cents / 100:,.2f}"


def card_label(brand: str, last4: str) -> str:
    if not last4:
        return "—"
    name = CARD_BRANDS.get(brand.lower(), brand.title() or "Card")
    return f"{name} ending in {last4}"


def split_codes(raw: str) -> list[str]:
    """CPT or ICD-10 codes as the coordinator typed them (commas, semicolons or spaces)."""
    return [code for code in re.split(r"[,;\s]+", raw.strip()) if code]


def _report_signed_on(case: Case) -> datetime.date | None:
    event = case.timeline.filter(to_status=Status.REPORT_FINAL).order_by("at").first()
    return timezone.localdate(event.at) if event is not None else None


def date_of_service(case: Case, billing: CaseBilling | None) -> datetime.date | None:
    """The day the specialist signed the written opinion; before that, the day the fee was
    charged (the service is under way once it is charged)."""
    signed = _report_signed_on(case)
    if signed is not None:
        return signed
    if billing is not None and billing.paid_at is not None:
        return timezone.localdate(billing.paid_at)
    return None


def _hospital() -> dict[str, str]:
    return {
        "name": settings.HOSPITAL_NAME,
        "address": settings.HOSPITAL_ADDRESS,
        "tax_id": settings.HOSPITAL_TAX_ID,
        "npi": settings.HOSPITAL_NPI,
        "support_email": settings.SUPPORT_EMAIL,
    }


def _people(case: Case) -> dict[str, Any]:
    intake = Intake.objects.filter(case=case).first()
    family_name = case.family.full_name if case.family is not None else ""
    if intake is None:
        return {
            "patient": {"name": "", "date_of_birth": None, "address": []},
            "guardian": {"name": family_name, "relationship": ""},
        }
    address = [
        intake.address_line1,
        intake.address_line2,
        " ".join(
            part
            for part in (
                f"{intake.address_city}," if intake.address_city else "",
                intake.address_state,
                intake.address_zip,
            )
            if part
        ).rstrip(","),
    ]
    return {
        "patient": {
            "name": intake.child_name,
            "date_of_birth": intake.child_date_of_birth,
            "address": [line for line in address if line],
        },
        "guardian": {
            "name": intake.guardian_name or family_name,
            "relationship": intake.get_guardian_relationship_display()
            if intake.guardian_relationship
            else "",
        },
    }


def document_context(case: Case, kind: str) -> dict[str, Any]:
    """Everything the ``kind`` template shows; plain values only (no request needed)."""
    billing = _billing(case)
    context: dict[str, Any] = {
        "kind": kind,
        "title": SPECS[kind].title,
        "hospital": _hospital(),
        "site_name": settings.SITE_NAME,
        "reference": case.reference,
        "specialty": str(case.specialty) if case.specialty else "",
        "service_description": settings.SERVICE_DESCRIPTION,
        "place_of_service": settings.SUPERBILL_PLACE_OF_SERVICE,
        "issued_on": timezone.localdate(),
        "submitted_on": timezone.localdate(case.submitted_at) if case.submitted_at else None,
        "date_of_service": date_of_service(case, billing),
        **_people(case),
    }
    if kind == STATEMENT or billing is None:
        return context
    attempt = (
        PaymentAttempt.objects.filter(case=case, status=PaymentAttempt.Status.SUCCEEDED)
        .order_by("-number")
        .first()
    )
    fee = billing.fee_cents if billing.fee_cents is not None else billing.paid_cents
    net = max(billing.paid_cents - billing.refunded_cents, 0)
    refunds = Refund.objects.filter(case=case, status="succeeded").order_by("created_at")
    context.update(
        {
            "receipt_number": f"{case.reference}-{attempt.number}" if attempt else case.reference,
            "paid_on": timezone.localdate(billing.paid_at) if billing.paid_at else None,
            "card": card_label(billing.card_brand, billing.card_last4),
            "charged": money(fee),
            "paid": money(billing.paid_cents),
            "refunded": money(billing.refunded_cents) if billing.refunded_cents else "",
            "refunds": [
                {"on": timezone.localdate(r.created_at), "amount": money(r.amount_cents)}
                for r in refunds
            ],
            "net_paid": money(net),
            "balance_due": money(max(fee - billing.paid_cents, 0)),
            "state": billing.get_state_display(),
            "cpt_codes": split_codes(billing.cpt_codes),
            "icd10_codes": split_codes(billing.icd10_codes),
        }
    )
    return context


def render_document(case: Case, kind: str) -> bytes:
    """The PDF of ``kind`` for ``case``. Callers check ``available_documents`` first."""
    return render_pdf(template=SPECS[kind].template, context=document_context(case, kind))
