"""The intake's parts of the coordinator console, registered from ``IntakeConfig.ready``:
the case page's intake (with the family's questions) and records, the queue's child, state
and requested-specialist columns, and the search by the child's name."""

from datetime import date
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import OuterRef, Q
from django.http import HttpRequest
from django.urls import reverse

from cases.admin import hooks
from cases.admin.rows import folded, unfold
from cases.models import Case

from .models import Intake, Question, Record, age_on

# --- the case page ---------------------------------------------------------------------------


def _intake_panel(request: HttpRequest, case: Case) -> dict[str, Any]:
    intake = getattr(case, "intake", None)  # joined to the case (select_related below)
    # The questions' texts came with the case (``_questions`` below), in their order.
    questions = getattr(case, "console_questions", None)
    if questions is None:
        questions = [q.text for q in case.questions.all()]
    return {"intake": intake, "questions": questions}


def _questions() -> dict[str, Any]:
    if connection.vendor != "postgresql":
        return {}  # an array subquery is PostgreSQL's; SQLite reads the questions apart
    texts = Question.objects.filter(case=OuterRef("pk")).order_by("position", "pk").values("text")
    return {"console_questions": ArraySubquery(texts)}


def _records_panel(request: HttpRequest, case: Case) -> dict[str, Any]:
    records = unfold(case, "console_records", Record, case.records.all)
    return {
        "rows": [
            {
                "record": record,
                "url": reverse("record_download", args=[case.reference, record.uid])
                if record.downloadable_by(request.user)
                else "",
            }
            for record in records
        ]
    }


def _records() -> dict[str, Any]:
    # Read with the case (cases.admin.rows): what the panel shows of each record and what
    # ``downloadable_by`` reads.
    return folded(
        "console_records",
        Record.objects.filter(case=OuterRef("pk")).order_by("uploaded_at", "pk"),
        "id",
        "uid",
        "case_id",
        "kind",
        "original_name",
        "size",
        "state",
        "scan_status",
        "uploaded_by_id",
        "uploaded_at",
    )


# --- the queue ---------------------------------------------------------------------------------


def _intake(case: Case) -> Any:
    # A draft may have no intake yet; the reverse one-to-one then raises.
    return getattr(case, "intake", None)


def child_text(case: Case, today: date) -> str:
    intake = _intake(case)
    name = intake.child_name if intake is not None else ""
    if not name:
        return "—"
    born = intake.child_date_of_birth
    return name if born is None else f"{name} ({age_on(born, today)})"


def residence_text(case: Case, today: date | None = None) -> str:
    intake = _intake(case)
    return (intake.residence_id or "—") if intake is not None else "—"


def requested_specialist_text(case: Case, today: date | None = None) -> str:
    intake = _intake(case)
    if intake is None:
        return "—"
    person = intake.preferred_specialist
    if person is not None:
        return str(person.full_name or person.email)
    return intake.preferred_specialist_text or "—"


# Above this many name matches, the ids are not listed (see cases.admin.queue.queue_search).
NAME_IDS_LIMIT = 500


def cases_named(word: str) -> list[int] | Q:
    """The cases whose child's legal first or last name starts with ``word``, as the
    coordinator types it: ``UPPER(name) LIKE 'MAR%'`` on the intake's pattern indexes
    (migration 0003). More than ``NAME_IDS_LIMIT`` (four letters of a common first name)
    are not listed: the queue tests the condition while it walks its order index."""
    prefix = Q(child_legal_first_name__istartswith=word) | Q(
        child_legal_last_name__istartswith=word
    )
    named = list(
        Intake.objects.filter(prefix)
        .order_by()
        .values_list("case_id", flat=True)[: NAME_IDS_LIMIT + 1]
    )
    if len(named) <= NAME_IDS_LIMIT:
        return named
    return Q(intake__child_legal_first_name__istartswith=word) | Q(
        intake__child_legal_last_name__istartswith=word
    )


def register() -> None:
    hooks.case_panel(
        hooks.CasePanel(
            key="intake",
            order=10,
            template="admin/intake/_console_intake.html",
            context=_intake_panel,
            select_related=("intake__residence", "intake__preferred_specialist"),
            annotations=_questions,
        )
    )
    hooks.case_panel(
        hooks.CasePanel(
            key="records",
            order=20,
            template="admin/intake/_console_records.html",
            context=_records_panel,
            annotations=_records,
        )
    )
    hooks.queue_column(
        hooks.QueueColumn(
            key="child",
            label="Child",
            after="reference",
            cell=child_text,
            select_related=("intake",),
            only=(
                "intake__child_legal_first_name",
                "intake__child_legal_last_name",
                "intake__child_date_of_birth",
            ),
        )
    )
    hooks.queue_column(
        hooks.QueueColumn(
            key="residence",
            label="State",
            after="child",
            cell=residence_text,
            select_related=("intake",),
            only=("intake__residence",),
        )
    )
    hooks.queue_column(
        hooks.QueueColumn(
            key="requested_specialist",
            label="Requested specialist",
            after="status",
            cell=requested_specialist_text,
            select_related=("intake__preferred_specialist",),
            only=(
                "intake__preferred_specialist_text",
                "intake__preferred_specialist__full_name",
                "intake__preferred_specialist__email",
            ),
        )
    )
    hooks.queue_search("child_name", cases_named)
