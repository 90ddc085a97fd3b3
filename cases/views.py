from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .access import case_for_user, cases_visible_to


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    cases = (
        cases_visible_to(request.user)  # type: ignore[arg-type]
        .select_related("specialty")
        .order_by("-created_at")[:100]
    )
    return render(request, "cases/dashboard.html", {"cases": cases})


@login_required
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    case = case_for_user(request, reference)
    timeline = case.timeline.select_related("actor").filter(kind="status")
    return render(request, "cases/case_detail.html", {"case": case, "timeline": timeline})
