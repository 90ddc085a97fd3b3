"""JSON endpoints of the large-file uploader (``static/js/record-uploader.js``).

The browser sends large records straight to S3 in parts; these views start the upload,
sign each part, list the parts already stored (to resume), complete and cancel it, and say
how the stored file's checks are going. Every view gets its case from the access gate
(which writes the audit row) and its record by ``uid`` within that case.

Who may upload is the table of actions' "upload_records" (the family, the physician, a
coordinator), asked here first and again by the ``intake.uploads`` steps on the locked case
row, which also refuse a case whose state takes no more records. Answers are JSON; a refusal
(``core.refusals.Refused``) is ``{"error": "..."}`` with a 4xx status the page shows next to
the file; anyone else gets the access gate's audited 404 (``cases.web.refusals_shown``), the
same answer as for a case that does not exist.
"""

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any
from uuid import UUID

from botocore.exceptions import BotoCoreError, ClientError
from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.typing import AuthedRequest
from cases.access import case_for_user, require_may_act
from cases.models import Case
from cases.web import refusals_shown
from core.refusals import Refused

from . import uploads
from .filetypes import Rejected
from .models import Record

logger = logging.getLogger(__name__)

STORAGE_UNAVAILABLE = (
    "Our secure storage is not answering just now. Your upload is kept: try again in a few minutes."
)


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        self.message = message
        self.status = status
        super().__init__(message)


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _json_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Turn refusals and storage failures into JSON answers the page can show. "Not yours"
    (``NotYours``) goes through, to ``refusals_shown`` and the gate's audited 404."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except BadRequest as refusal:
            return _error(refusal.message, refusal.status)
        except Refused as refusal:
            # The upload's own (with its status), or the table's: a case that takes no more.
            return _error(refusal.text, getattr(refusal, "status", 409))
        except Rejected as refusal:
            return _error(refusal.message, 400)
        except (BotoCoreError, ClientError):
            logger.exception("large upload: storage call failed")
            return _error(STORAGE_UNAVAILABLE, 503)

    return wrapper


def _payload(request: HttpRequest) -> dict[str, Any]:
    """The request's fields: a JSON object body, else form fields."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError) as error:
            raise BadRequest("The request could not be read.") from error
        if not isinstance(data, dict):
            raise BadRequest("The request could not be read.")
        return data
    source = request.POST if request.method == "POST" else request.GET
    return {key: source.get(key) for key in source}


def _upload_id(request: HttpRequest, data: dict[str, Any] | None = None) -> str | None:
    value = (data or {}).get("uploadId", request.GET.get("uploadId"))
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 300:
        raise BadRequest("The upload id is not valid.")
    return value


def _case(request: AuthedRequest, reference: str, *, object_id: str = "", action: str) -> Case:
    """The case from the access gate, if this person is one who may add records to it
    (else ``NotYours``: the gate's audited 404); whether its state takes them now, and who
    again, the ``intake.uploads`` steps decide on the locked row."""
    case = case_for_user(
        request, reference, action=action, object_type="record", object_id=object_id
    )
    require_may_act(request.user, case, "upload_records")
    return case


def _record(case: Case, uid: UUID) -> Record:
    record = Record.objects.filter(case=case, uid=uid).first()
    if record is None:
        raise BadRequest("No such upload on this request.", 404)
    return record


def _record_urls(case: Case, record: Record) -> dict[str, str]:
    kwargs = {"reference": case.reference, "uid": record.uid}
    return {
        "parts": reverse("uploads:list_parts", kwargs=kwargs),
        "complete": reverse("uploads:complete", kwargs=kwargs),
        "abort": reverse("uploads:abort", kwargs=kwargs),
        "status": reverse("uploads:status", kwargs=kwargs),
    }


def _state(record: Record) -> dict[str, Any]:
    return {
        "uid": str(record.uid),
        "name": record.original_name,
        "state": record.state,
        "stateLabel": record.get_state_display(),
        "rejectionReason": record.rejection_reason,
        "size": record.size,
    }


class CreateForm(forms.Form):
    name = forms.CharField(max_length=1000)
    size = forms.IntegerField(min_value=1)
    kind = forms.ChoiceField(choices=Record.Kind.choices)
    description = forms.CharField(max_length=300, required=False)


def _form_error(form: forms.Form) -> str:
    messages = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        label = (field.label or name.capitalize()) if field is not None else ""
        text = " ".join(str(error) for error in errors)
        messages.append(f"{label}: {text}" if label else text)
    return " ".join(messages)


@login_required
@require_POST
@refusals_shown(action="upload", object_type="record")
@_json_errors
def upload_create(request: AuthedRequest, reference: str) -> HttpResponse:
    """Register a large file and start its multipart upload: {uid, uploadId, key, partSize}.

    ``key`` is the record's random storage key (no names in it); the uploader library
    carries it along with the upload id.
    """
    case = _case(request, reference, action="upload")
    form = CreateForm(_payload(request))
    if not form.is_valid():
        raise BadRequest(_form_error(form))
    size = form.cleaned_data["size"]
    record = uploads.upload_start(
        case=case,
        by=request.user,
        name=form.cleaned_data["name"],
        size=size,
        kind=form.cleaned_data["kind"],
        description=form.cleaned_data["description"],
    )
    return JsonResponse(
        {
            "uid": str(record.uid),
            "uploadId": record.multipart_upload_id,
            "key": record.file.name,
            "partSize": uploads.part_size(size),
            "partCount": uploads.part_count(size),
            "urls": _record_urls(case, record),
        },
        status=201,
    )


@login_required
@require_GET
@refusals_shown(action="upload", object_type="record", object_id="uid")
@_json_errors
def upload_sign_part(
    request: AuthedRequest, reference: str, uid: UUID, part_number: int
) -> HttpResponse:
    """A presigned URL for one part: {url, method}."""
    case = _case(request, reference, object_id=str(uid), action="upload")
    record = _record(case, uid)
    url = uploads.upload_sign_part(
        record=record, by=request.user, part_number=part_number, upload_id=_upload_id(request)
    )
    return JsonResponse({"url": url, "method": "PUT"})


@login_required
@require_GET
@refusals_shown(action="upload", object_type="record", object_id="uid")
@_json_errors
def upload_list_parts(request: AuthedRequest, reference: str, uid: UUID) -> HttpResponse:
    """The parts already stored: [{PartNumber, Size, ETag}], to resume an upload."""
    case = _case(request, reference, object_id=str(uid), action="upload")
    record = _record(case, uid)
    parts = uploads.upload_list_parts(record=record, by=request.user, upload_id=_upload_id(request))
    return JsonResponse(parts, safe=False)


def _claimed_parts(data: dict[str, Any]) -> list[dict[str, Any]] | None:
    parts = data.get("parts")
    if parts is None:
        return None
    if not isinstance(parts, list) or len(parts) > uploads.MAX_PARTS:
        raise BadRequest("The list of parts is not valid.")
    claimed = []
    for part in parts:
        number = part.get("PartNumber") if isinstance(part, dict) else None
        etag = part.get("ETag") if isinstance(part, dict) else None
        if (
            not isinstance(number, int)
            or isinstance(number, bool)
            or not isinstance(etag, str)
            or len(etag) > 200
        ):
            raise BadRequest("The list of parts is not valid.")
        claimed.append({"PartNumber": number, "ETag": etag})
    return claimed


@login_required
@require_POST
@refusals_shown(action="upload", object_type="record", object_id="uid")
@_json_errors
def upload_complete(request: AuthedRequest, reference: str, uid: UUID) -> HttpResponse:
    """Assemble the parts and check the stored file; answers the record's state."""
    case = _case(request, reference, object_id=str(uid), action="upload")
    record = _record(case, uid)
    data = _payload(request)
    if request.content_type != "application/json":
        data = {"uploadId": data.get("uploadId")}  # a form post carries no part list
    record = uploads.upload_complete(
        record=record,
        by=request.user,
        parts=_claimed_parts(data),
        upload_id=_upload_id(request, data),
    )
    return JsonResponse({**_state(record), "urls": _record_urls(case, record)})


@login_required
@require_http_methods(["POST", "DELETE"])
@refusals_shown(action="upload_cancel", object_type="record", object_id="uid")
@_json_errors
def upload_abort(request: AuthedRequest, reference: str, uid: UUID) -> HttpResponse:
    """Cancel an upload in progress (allowed whatever the request's stage)."""
    case = _case(request, reference, object_id=str(uid), action="upload_cancel")
    record = _record(case, uid)
    data = _payload(request) if request.method == "POST" else {}
    uploads.upload_cancel(record=record, by=request.user, upload_id=_upload_id(request, data))
    return JsonResponse({"uid": str(uid), "state": "cancelled"})


@login_required
@require_GET
@refusals_shown(action="view", object_type="record", object_id="uid")
@_json_errors
def upload_status(request: AuthedRequest, reference: str, uid: UUID) -> HttpResponse:
    """Where the checks of an uploaded file are: the page polls this after completing.
    Allowed at any stage, to those who may upload (specialists see records on the case
    page, once they are scanned clean)."""
    case = _case(request, reference, object_id=str(uid), action="view")
    return JsonResponse(_state(_record(case, uid)))
