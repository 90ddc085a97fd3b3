"""Downloads of the family's money documents (case-scoped, through the access gate) and the
public refund and cancellation policy page."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_safe

from accounts.typing import AuthedRequest
from cases.access import case_for_user
from cases.audit import access_record

from .documents import (
    RECEIPT,
    STATEMENT,
    SUPERBILL,
    document_filename,
    may_download,
    render_document,
)


def _download(request: AuthedRequest, reference: str, kind: str) -> HttpResponse:
    case = case_for_user(request, reference, action="download", object_type=kind)
    if not may_download(request.user, case, kind):
        # Let through the gate, but this role does not get this document, or the case does
        # not have it (not paid, not free): the same 404, and the refusal is audited too.
        access_record(
            request=request,
            case=case,
            object_type=kind,
            object_id=case.reference,
            action="download",
            allowed=False,
        )
        raise Http404("No such document.")
    pdf = render_document(case, kind)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document_filename(case, kind)}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def receipt_pdf(request: AuthedRequest, reference: str) -> HttpResponse:
    return _download(request, reference, RECEIPT)


@login_required
@require_GET
def superbill_pdf(request: AuthedRequest, reference: str) -> HttpResponse:
    return _download(request, reference, SUPERBILL)


@login_required
@require_GET
def no_charge_pdf(request: AuthedRequest, reference: str) -> HttpResponse:
    return _download(request, reference, STATEMENT)


@require_safe
def refund_policy(request: HttpRequest) -> HttpResponse:
    """Public: families read it before they give a card."""
    return render(request, "billing/refund_policy.html")
