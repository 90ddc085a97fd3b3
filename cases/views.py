"""The family's and physician's list of cases, and the case page (composed in cases.page)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render

from accounts.models import Role
from accounts.typing import AuthedRequest

from .access import case_for_user, cases_visible_to
from .messaging import with_unread_for
from .page import CASE_PAGE_RELATED, case_page, case_page_rows
from .panels import list_counts
from .stages import stage_for


@login_required
def dashboard(request: AuthedRequest) -> HttpResponse:
    if request.user.role == Role.SPECIALIST:
        return redirect("workspace")  # specialists work from the workspace, not the portal
    if request.user.role == Role.COORDINATOR:
        return redirect("admin:index")  # coordinators work from the console
    # The apps' counts (questions, records) are correlated subqueries, evaluated only for
    # the (at most 100) rows shown.
    cases = list(
        with_unread_for(cases_visible_to(request.user), request.user)
        .select_related("specialty", "intake", "intake__residence")
        .annotate(**list_counts())
        .order_by("-updated_at")[:100]
    )
    physician = request.user.role == Role.PHYSICIAN
    rows = [(case, stage_for(case, physician=physician)) for case in cases]
    return render(request, "cases/dashboard.html", {"rows": rows})


@login_required
def case_detail(request: AuthedRequest, reference: str) -> HttpResponse:
    # The panels' short lists (questions, record requests, guardians, holds) come with the
    # case, in the gate's query (cases.rows).
    case = case_for_user(
        request, reference, related=CASE_PAGE_RELATED, annotate=case_page_rows(request.user)
    )
    return case_page(request, case)
