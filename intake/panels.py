"""The request's panels on the case page (``cases.panels``): its summary, the questions, the
records (with what the coordinator asked for) and the second guardian; registered by
``IntakeConfig.ready``. Whose forms show is the table of actions' answer for this person
and this case now (``cases.access.may_do_now``), as the views and services decide it."""

from typing import Any

from django.db.models import (
    Count,
    Expression,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from accounts.models import Role, User
from cases.access import may_do_now
from cases.models import CaseMember, RecordRequest, Status
from cases.panels import Panel, PanelRequest, Shown
from cases.rows import CaseRows, case_rows

from .filetypes import ACCEPTED_DESCRIPTION
from .forms import InviteForm, QuestionForm, RecordUploadForm
from .models import Question, Record


def _guardians_rows(user: User) -> Any:
    """The second guardians, read only for the one who manages them, as
    ``can_manage_guardians`` says: the owner, or whoever started the request (a physician)
    before a family owns it."""
    mine = Q(case__family=user) | Q(case__family__isnull=True, case__created_by=user)
    return CaseMember.objects.filter(
        mine, role=CaseMember.Role.GUARDIAN, revoked_at__isnull=True
    ).order_by("pk")


# The short lists the panels show, read with the case (cases.rows).
QUESTIONS = CaseRows("questions", lambda user: Question.objects.order_by("position", "pk"))
# The page lists them to the family and physician only (the specialist's page does not).
RECORD_REQUESTS = CaseRows(
    "record_requests",
    lambda user: (
        RecordRequest.objects.order_by("created_at", "pk") if user.role != Role.SPECIALIST else None
    ),
)
GUARDIANS = CaseRows("guardians", _guardians_rows)


def _summary(panel: PanelRequest) -> Shown | None:
    if getattr(panel.case, "intake", None) is None:
        return None
    return Shown({}, [("summary-section", "The request")])


def _questions(panel: PanelRequest) -> Shown:
    case = panel.case
    questions = case_rows(case, QUESTIONS, panel.user)
    can_add = (
        may_do_now(panel.user, case, "edit_questions")
        and case.status != Status.DRAFT
        and len(questions) < Question.MAX_PER_CASE
    )
    context = {
        "questions": questions,
        "can_add_question": can_add,
        "question_form": panel.extra.get("question_form") or (QuestionForm() if can_add else None),
    }
    return Shown(context, [("questions-section", "Questions")])


def _records(panel: PanelRequest) -> Shown:
    case, user = panel.case, panel.user
    records = case.records.exclude(state=Record.State.UPLOADING).select_related("uploaded_by")
    if user.role == Role.SPECIALIST:
        records = records.cleared()
    # The page lists them to the family and physician only; the upload form needs to know
    # whether one is open, from the same rows.
    requested = case_rows(case, RECORD_REQUESTS, user)
    can_upload = may_do_now(user, case, "upload_records") and case.status != Status.DRAFT
    form = panel.extra.get("upload_form")
    if form is None and can_upload:
        form = RecordUploadForm(case=case, requested=requested)
    context = {
        "records": list(records),
        "record_requests": requested,
        "accepted": ACCEPTED_DESCRIPTION,
        "can_upload": can_upload,
        "upload_form": form,
    }
    return Shown(context, [("records-section", "Records")])


def _guardians(panel: PanelRequest) -> Shown | None:
    if not may_do_now(panel.user, panel.case, "manage_guardians"):
        return None
    context = {
        "can_manage_guardians": True,
        "guardians": case_rows(panel.case, GUARDIANS, panel.user),
        "invite_form": panel.extra.get("invite_form") or InviteForm(),
    }
    return Shown(context, [("people-section", "Second parent or guardian")])


PANELS = (
    Panel("request", 200, "intake/_summary_panel.html", _summary),
    Panel("questions", 300, "intake/_questions_panel.html", _questions, rows=(QUESTIONS,)),
    Panel("records", 400, "intake/_records_panel.html", _records, rows=(RECORD_REQUESTS,)),
    Panel("guardians", 500, "intake/_guardians_panel.html", _guardians, rows=(GUARDIANS,)),
)


def _count_of(rows: QuerySet[Any]) -> Expression:
    """How many of ``rows`` belong to the outer case: one correlated subquery, which
    PostgreSQL evaluates only for the rows a list shows (after its sort and LIMIT), instead
    of joining every question and record of every visible case first."""
    counts = rows.filter(case=OuterRef("pk")).order_by().values("case").annotate(n=Count("pk"))
    return Coalesce(
        Subquery(counts.values("n"), output_field=IntegerField()),
        Value(0),
        output_field=IntegerField(),
    )


LIST_COUNTS = {
    "question_count": lambda: _count_of(Question.objects.all()),
    "record_count": lambda: _count_of(Record.objects.filter(state=Record.State.AVAILABLE)),
}
