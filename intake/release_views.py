"""The download of a records-release authorisation (see intake.release), through the gate."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.http import require_GET

from accounts.typing import AuthedRequest
from cases.access import NotYours, case_for_user
from cases.models import RecordRequest
from cases.web import refusals_shown

from .release import authorisation_filename, may_download, render_authorisation

OBJECT_TYPE = "release_authorisation"


@login_required
@require_GET
@refusals_shown(action="download", object_type=OBJECT_TYPE, object_id="request_id")
def release_authorisation(request: AuthedRequest, reference: str, request_id: int) -> HttpResponse:
    case = case_for_user(
        request,
        reference,
        action="download",
        object_type=OBJECT_TYPE,
        object_id=str(request_id),
    )
    record_request = RecordRequest.objects.filter(case=case, pk=request_id).first()
    if record_request is None or not may_download(request.user, record_request):
        # Let through the gate, but no such request on this case, not one of an outside
        # provider, or a role that does not get the guardian's details: the same 404, and
        # the refusal is audited too (refusals_shown).
        raise NotYours("No such authorisation.")
    record_request.case = case
    pdf = render_authorisation(record_request)
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = authorisation_filename(case, record_request)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
