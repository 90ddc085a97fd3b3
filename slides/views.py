"""The slide viewer page, and the Deep Zoom descriptor and tiles its script asks for.

The page goes through the record gate (``intake.access.record_for_user``, one AccessEvent
``view_slide``) and hands the page a short-lived grant (``core.grants``, kind "slide") bound
to the user, the case and the slide. The descriptor and the hundreds of tile requests that
follow carry the grant instead of going through the gate again, so they write no audit row
each; a request whose grant is missing, forged, expired or names another user, case or slide
is refused with a 404 and an audited refusal. The grant travels in the ``X-Slide-Grant``
request header, never in the URL, so it stays out of web-server access logs, proxies and
browser history (the study viewer does the same).

Who may open a slide: whoever may see the case's records (the assigned specialist, the
coordinators, the family and the physician: the page has no actions, so it is read-only for
all). Only records that scanned clean are decoded, whoever asks: the record viewer's rule.

The slide's associated images (label, macro, thumbnail) carry the patient's name and the
slide's barcode: no URL here serves them, and the properties shown are picked field by field
(``slides.decoder``).
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from accounts.typing import AuthedRequest
from cases.audit import access_record
from core import grants
from intake.access import record_for_user
from intake.models import Record

from . import services
from .models import Slide

GRANT_KIND = "slide"
ACTION = "view_slide"
RENEW_ACTION = "renew_slide_grant"
GRANT_HEADER = "X-Slide-Grant"


def _refuse(request: HttpRequest, record: Record | None, object_id: str) -> Http404:
    access_record(
        request=request,
        case=record.case if record is not None else None,
        object_type="slide",
        object_id=object_id,
        action=ACTION,
        allowed=False,
    )
    return Http404("No such slide.")


def _magnification(value: float | None) -> str:
    if not value:
        return ""
    return f"{value:g}\N{MULTIPLICATION SIGN}"


def _grant(request: AuthedRequest, record: Record) -> str:
    return grants.issue(
        kind=GRANT_KIND, user_id=request.user.pk, case_id=record.case_id, object_id=str(record.uid)
    )


def _viewable_slide(request: AuthedRequest, reference: str, record_uid: str, action: str) -> Slide:
    record = record_for_user(request, reference, str(record_uid), action=action)
    slide = services.slide_index(record) if record.is_cleared else None
    if slide is None or not slide.is_ready:
        # Through the gate, but not a slide we can show (not cleared, not a slide, or
        # unreadable): the same 404, and the refusal is audited too.
        access_record(
            request=request,
            case=record.case,
            object_type="record",
            object_id=str(record.uid),
            action=action,
            allowed=False,
        )
        raise Http404("No such slide.")
    return slide


@login_required
@require_safe
def slide_viewer(request: AuthedRequest, reference: str, record_uid: str) -> HttpResponse:
    slide = _viewable_slide(request, reference, record_uid, ACTION)
    record = slide.record
    services.prepare_tiles(slide, record)
    props = slide.properties
    dzi_url = reverse("slides:dzi", kwargs={"record_uid": record.uid})
    power = _magnification(props.get("objective_power"))
    return render(
        request,
        "slides/viewer.html",
        {
            "reference": reference,
            "record": record,
            "slide": slide,
            "props": props,
            "magnification": power,
            "dzi_url": dzi_url,
            "grant": _grant(request, record),
            "is_specialist": request.user.role == "specialist",
            "grant_minutes": services.grant_seconds() // 60,
            "grant_seconds": services.grant_seconds(),
            "grant_url": reverse("slides:grant", args=[reference, record.uid]),
        },
    )


@login_required
@require_safe
def slide_grant(request: AuthedRequest, reference: str, record_uid: str) -> HttpResponse:
    """A fresh grant for a viewer left open longer than a grant lasts: through the gate again
    (one audit row per renewal, every few minutes, not one per tile)."""
    slide = _viewable_slide(request, reference, record_uid, RENEW_ACTION)
    response = JsonResponse({"grant": _grant(request, slide.record)})
    response["Cache-Control"] = "private, no-store"
    return response


def _granted_slide(request: HttpRequest, record_uid: str) -> Slide:
    slide = Slide.objects.select_related("record").filter(record__uid=record_uid).first()
    record = slide.record if slide is not None else None
    try:
        case_id = grants.check(
            request.headers.get(GRANT_HEADER),
            kind=GRANT_KIND,
            user_id=request.user.pk,
            object_id=record_uid,
            max_age=services.grant_seconds(),
        )
    except grants.GrantInvalid:
        raise _refuse(request, record, str(record_uid)) from None
    if slide is None or record is None or record.case_id != case_id:
        raise _refuse(request, record, str(record_uid))
    if not (record.is_cleared and slide.is_ready):
        raise _refuse(request, record, str(record_uid))
    return slide


def _sealed(response: HttpResponse) -> HttpResponse:
    # Our own bytes, but never a document: no sniffing, no scripts if opened on their own,
    # no caching of medical images anywhere.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-store"
    return response


@require_safe
def slide_dzi(request: HttpRequest, record_uid: str) -> HttpResponse:
    slide = _granted_slide(request, record_uid)
    return _sealed(HttpResponse(services.dzi_xml(slide), content_type="application/xml"))


@require_safe
def slide_tile(
    request: HttpRequest, record_uid: str, level: int, col: int, row: int
) -> HttpResponse:
    slide = _granted_slide(request, record_uid)
    try:
        jpeg = services.tile_jpeg(slide, level, col, row)
    except services.NoSlide:
        raise Http404("No such tile.") from None
    return _sealed(HttpResponse(jpeg, content_type="image/jpeg"))
