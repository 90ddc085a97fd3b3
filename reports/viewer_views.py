"""The specialist's in-page record viewer: a page per record, and the PNG previews on it.

Both views get the record through ``intake.access.record_for_user`` (the same 404 for
"unknown" and "not yours", specialists only ever get files that scanned clean, an
AccessEvent for every request), then admit only the assigned specialist and coordinators:
families and physicians open records through the portal's download. Only files that
scanned clean are decoded here, whoever asks: a file still waiting for its scan is not fed
to our decoders.

A preview is a PNG the server drew (``core.previews``, through ``reports.viewer``), answered
with a sandboxing CSP, ``nosniff`` and ``no-store``, so nothing a family uploaded is ever
rendered by the browser from our origin.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from accounts.models import Role
from accounts.typing import AuthedRequest
from cases.audit import access_record
from core.previews.decoders import (
    DICOM,
    DICOM_ZIP,
    IMAGE,
    NONE,
    PDF,
    WHOLE_SLIDE,
    NoPreview,
    Summary,
)
from core.previews.runner import PreviewFailed
from intake.access import record_for_user
from intake.models import Record

from .viewer import record_png, record_summary

_FILE_TYPES = {
    PDF: "PDF document",
    IMAGE: "Picture",
    DICOM: "DICOM image",
    DICOM_ZIP: "DICOM study (zip)",
    WHOLE_SLIDE: "Whole-slide pathology image",
    NONE: "Other file",
}


def _viewable_record(request: AuthedRequest, reference: str, record_uid: str) -> Record:
    record = record_for_user(request, reference, str(record_uid), action="view")
    if request.user.role not in (Role.SPECIALIST, Role.COORDINATOR) or (not record.is_cleared):
        # Through the gate, but the viewer is for the specialist and the coordinators, and
        # only for files scanned clean: the same 404, and the refusal is audited too.
        access_record(
            request=request,
            case=record.case,
            object_type="record",
            object_id=str(record.uid),
            action="view",
            allowed=False,
        )
        raise Http404("No such record.")
    return record


def _alt(summary: Summary, name: str, page: int) -> tuple[str, str]:
    """Alt text and visible caption of preview ``page``."""
    if summary.kind == DICOM:
        frame = f"frame {summary.frame} of {summary.total_pages}"
        return (f"Preview of {name}: {frame}, {summary.window}", f"Preview: {frame}")
    if summary.total_pages > 1:
        position = f"Page {page} of {summary.total_pages}"
        return (f"{position} of {name}", position)
    return (f"Preview of {name}", "Preview")


@login_required
@require_safe
def viewer_record(request: AuthedRequest, reference: str, record_uid: str) -> HttpResponse:
    record = _viewable_record(request, reference, record_uid)
    summary = record_summary(record)
    previews = []
    for page in range(1, summary.pages + 1):
        alt, caption = _alt(summary, record.original_name, page)
        width, height = summary.sizes[page - 1] if page <= len(summary.sizes) else (0, 0)
        previews.append(
            {
                "url": reverse(
                    "viewer_preview",
                    kwargs={"reference": reference, "record_uid": record.uid, "page": page},
                ),
                "alt": alt,
                "caption": caption,
                "width": width,
                "height": height,
            }
        )
    return render(
        request,
        "reports/viewer.html",
        {
            "reference": reference,
            "record": record,
            "file_type": _FILE_TYPES.get(summary.kind, _FILE_TYPES[NONE]),
            "summary": summary,
            "previews": previews,
        },
    )


@login_required
@require_safe
def viewer_preview(
    request: AuthedRequest, reference: str, record_uid: str, page: int
) -> HttpResponse:
    record = _viewable_record(request, reference, record_uid)
    try:
        png = record_png(record, page)
    except (NoPreview, PreviewFailed):
        raise Http404("No such preview.") from None
    response = HttpResponse(png, content_type="image/png")
    # Even our own PNG gets no powers if opened on its own: no scripts, no plugins, no origin.
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = f'inline; filename="preview-{page}.png"'
    return response
