"""The study viewer: one page per imaging study, and the instance bytes and headers it reads.

Opening the page goes through the access gate (``cases.access.case_for_user``: the same 404
for unknown and not-yours) and writes exactly one AccessEvent, ``view_study``. Who may open:
the assigned specialist and coordinators (as for the record viewer), and the case's
physician, read-only (the page changes nothing). Families get 404 here, as in the record
viewer: they have their own files through the portal's download. Only instances from records
that scanned clean are listed or served, whoever asks.

The page then makes hundreds of requests (one per instance, and headers on demand). They are
not case-scoped URLs and write no audit row each: they carry a short-lived grant
(``core.grants``, kind "study") issued by the page, bound to the user, the case and the
study, sent in the ``X-Study-Grant`` request header (never in the URL, so it stays out of
access logs). A missing, forged, expired or foreign grant is the same 404 as an unknown
instance.

Instance bytes are answered as ``application/dicom`` with ``nosniff``, ``no-store`` and a
sandboxing CSP: the browser never renders an uploaded file as a document from our origin.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from accounts.models import Role
from accounts.typing import AuthedRequest
from cases.access import case_for_user
from cases.audit import access_record
from core import grants
from intake.models import Record

from . import viewer
from .models import Instance, Series, Study
from .storage import open_instance
from .studies import VIEWER_ROLES

GRANT_KIND = "study"
# Minutes, not hours: long enough to read a study, short enough that a copied token is
# soon worthless. After it, the page says to reload (one more gated, audited open).
GRANT_SECONDS = 10 * 60
GRANT_HEADER = "HTTP_X_STUDY_GRANT"


def _cleared_instances() -> Any:
    return Instance.objects.filter(record__in=Record.objects.cleared())


def _refuse(request: AuthedRequest, case: Any, study_id: int) -> Http404:
    access_record(
        request=request,
        case=case,
        object_type="study",
        object_id=str(study_id),
        action="view_study",
        allowed=False,
    )
    return Http404("No such study.")


def _series_data(study: Study) -> list[dict[str, Any]]:
    instances: dict[int, list[dict[str, Any]]] = {}
    for inst in (
        _cleared_instances()
        .filter(study=study)
        .order_by("series_id", "sort_index", "pk")
        .values("pk", "series_id", "frames", "position", "instance_number")
    ):
        instances.setdefault(inst["series_id"], []).append(
            {
                "id": inst["pk"],
                "frames": inst["frames"] or 1,
                "position": inst["position"],
                "number": inst["instance_number"],
            }
        )
    out = []
    series: Series
    for series in study.series.order_by("number", "pk"):
        if series.pk not in instances:
            continue
        out.append(
            {
                "id": series.pk,
                "modality": series.modality,
                "description": series.description,
                "number": series.number,
                "rows": series.rows,
                "columns": series.columns,
                "spacing": [series.pixel_spacing_row, series.pixel_spacing_col],
                "window": [series.window_center, series.window_width],
                "instances": instances[series.pk],
            }
        )
    return out


def _back_link(request: AuthedRequest, reference: str) -> str:
    if request.user.role == Role.PHYSICIAN:
        return reverse("case_detail", args=[reference])
    return reverse("workspace_case", args=[reference])


@login_required
@require_safe
def study_viewer(request: AuthedRequest, reference: str, study_id: int) -> HttpResponse:
    case = case_for_user(
        request, reference, action="view_study", object_type="study", object_id=str(study_id)
    )
    if request.user.role not in VIEWER_ROLES:
        raise _refuse(request, case, study_id)
    study = Study.objects.filter(case=case, pk=study_id).first()
    series = _series_data(study) if study else []
    if study is None or not series:
        # Unknown, another case's, or nothing in it scanned clean yet: the same 404.
        raise _refuse(request, case, study_id)
    grant = grants.issue(
        kind=GRANT_KIND, user_id=request.user.pk, case_id=case.pk, object_id=study.pk
    )
    config = {
        "grant": grant,
        "grantSeconds": GRANT_SECONDS,
        # "0" is replaced by an instance id in the browser.
        "instanceUrl": reverse("study_instance", args=[study.pk, 0]),
        "headerUrl": reverse("study_header", args=[study.pk, 0]),
        "series": series,
    }
    return render(
        request,
        "imaging/study.html",
        {
            "reference": reference,
            "case": case,
            "study": study,
            "series": series,
            "config": config,
            "back_url": _back_link(request, reference),
        },
    )


def _granted_instance(request: AuthedRequest, study_id: int, instance_id: int) -> Instance:
    try:
        case_id = grants.check(
            request.META.get(GRANT_HEADER),
            kind=GRANT_KIND,
            user_id=request.user.pk,
            object_id=study_id,
            max_age=GRANT_SECONDS,
        )
    except grants.GrantInvalid:
        raise Http404("No such instance.") from None
    instance = (
        _cleared_instances()
        .filter(pk=instance_id, study_id=study_id, study__case_id=case_id)
        .first()
    )
    if instance is None:
        raise Http404("No such instance.")
    return instance


def _guarded(response: HttpResponseBase) -> HttpResponseBase:
    # Bytes a family uploaded: never sniffed into HTML, never cached, and powerless if opened
    # on their own (sandbox: no scripts, no origin).
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


@login_required
@require_safe
def study_instance(request: AuthedRequest, study_id: int, instance_id: int) -> HttpResponseBase:
    instance = _granted_instance(request, study_id, instance_id)
    response: HttpResponse | FileResponse
    if instance.transfer_syntax in viewer.NATIVE:
        try:
            source = open_instance(instance)
        except Exception:  # missing or unreachable in storage: not a 500
            raise Http404("No such instance.") from None
        response = FileResponse(source, content_type="application/dicom")
    else:
        try:
            response = HttpResponse(viewer.native_bytes(instance), content_type="application/dicom")
        except viewer.Unreadable:
            raise Http404("No such instance.") from None
    response["Content-Disposition"] = f'attachment; filename="instance-{instance.pk}.dcm"'
    return _guarded(response)


@login_required
@require_safe
def study_header(request: AuthedRequest, study_id: int, instance_id: int) -> HttpResponseBase:
    instance = _granted_instance(request, study_id, instance_id)
    try:
        body = viewer.header_json(instance)
    except viewer.Unreadable:
        raise Http404("No such instance.") from None
    return _guarded(HttpResponse(body, content_type="application/json"))
