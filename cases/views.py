from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.shortcuts import redirect, render

from accounts.models import Role
from accounts.typing import AuthedRequest

from .access import case_for_user, cases_visible_to
from .message_views import messages_context
from .messaging import with_unread_for
from .models import Case, CaseMember, Status
from .services import due_reasons
from .stages import stage_for


def _count_of(rows: QuerySet[Any]) -> Coalesce:
    """How many of ``rows`` belong to the outer case: one correlated subquery."""
    counts = rows.filter(case=OuterRef("pk")).order_by().values("case").annotate(n=Count("pk"))
    return Coalesce(
        Subquery(counts.values("n"), output_field=IntegerField()),
        Value(0),
        output_field=IntegerField(),
    )


@login_required
def dashboard(request: AuthedRequest) -> HttpResponse:
    if request.user.role == Role.SPECIALIST:
        return redirect("workspace")  # specialists work from the workspace, not the portal
    if request.user.role == Role.COORDINATOR:
        return redirect("admin:index")  # coordinators work from the console
    from intake.models import Question, Record

    # The counts are correlated subqueries, not JOIN + COUNT(DISTINCT): PostgreSQL evaluates
    # them only for the (at most 100) rows shown, after the sort and LIMIT, instead of
    # joining every question and record of every visible case first.
    cases = list(
        with_unread_for(cases_visible_to(request.user), request.user)
        .select_related("specialty", "intake", "intake__residence")
        .annotate(
            question_count=_count_of(Question.objects.all()),
            record_count=_count_of(Record.objects.filter(state=Record.State.AVAILABLE)),
        )
        .order_by("-updated_at")[:100]
    )
    physician = request.user.role == Role.PHYSICIAN
    rows = [(case, stage_for(case, physician=physician)) for case in cases]
    return render(request, "cases/dashboard.html", {"rows": rows})


# What the case page shows of the case's relations, read with the case by the access gate.
CASE_PAGE_RELATED = ("intake", "intake__residence", "specialty", "billing")


def case_page(
    request: AuthedRequest, case: Case, *, status: int = 200, **extra: Any
) -> HttpResponse:
    """The case page for family, physician, coordinator and specialist; forms from a failed
    POST come in ``extra`` so the page shows their errors and keeps what was typed."""
    from billing.documents import documents_for_user
    from intake.filetypes import ACCEPTED_DESCRIPTION
    from intake.forms import InviteForm, QuestionForm, RecordUploadForm
    from intake.models import Question, Record
    from intake.services import OPEN_FOR_QUESTIONS, OPEN_FOR_RECORDS, can_manage_guardians

    user = request.user
    is_family_or_physician = user.role in (Role.FAMILY, Role.PHYSICIAN)
    questions = list(case.questions.select_related("asked_by"))
    records = case.records.exclude(state=Record.State.UPLOADING).select_related("uploaded_by")
    if user.role == Role.SPECIALIST:
        records = records.cleared()
    context = {
        "case": case,
        "intake": getattr(case, "intake", None),
        "stage": stage_for(case, physician=request.user.role == Role.PHYSICIAN),
        "timeline": case.timeline.select_related("actor").filter(kind="status"),
        "questions": questions,
        "records": records,
        "accepted": ACCEPTED_DESCRIPTION,
        "can_add_question": is_family_or_physician
        and case.status in OPEN_FOR_QUESTIONS
        and case.status != Status.DRAFT
        and len(questions) < Question.MAX_PER_CASE,
        "can_upload": is_family_or_physician
        and case.status in OPEN_FOR_RECORDS
        and case.status != Status.DRAFT,
        "can_manage_guardians": can_manage_guardians(user, case),
        "guardians": case.members.filter(role=CaseMember.Role.GUARDIAN, revoked_at__isnull=True),
        "question_form": QuestionForm(),
        "upload_form": RecordUploadForm(case=case),
        "record_requests": list(case.record_requests.all()),
        "due_reasons": due_reasons(case),
        "invite_form": InviteForm(),
        "billing_documents": documents_for_user(user, case),
        **messages_context(case, user),
        **extra,
    }
    return render(request, "cases/case_detail.html", context, status=status)


@login_required
def case_detail(request: AuthedRequest, reference: str) -> HttpResponse:
    case = case_for_user(request, reference, related=CASE_PAGE_RELATED)
    return case_page(request, case)
