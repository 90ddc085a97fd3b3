"""The intake's parts of the coordinator console, registered from ``IntakeConfig.ready``:
the case page's intake (with the family's questions) and records, and the queue's child,
state and requested-specialist columns. (The queue searches the child's name on the case's
own copy of it, ``Case.child_first_name``, which ``Intake.save`` keeps.)"""

from datetime import date
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import CharField, DateField, OuterRef
from django.db.models.expressions import RawSQL
from django.http import HttpRequest
from django.urls import reverse

from accounts.models import User
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

# What a queue row shows from the intake, read for the page's rows only: correlated
# subqueries on the intake's unique case index, which PostgreSQL runs after the sort and
# LIMIT (fifty rows), where a join of the intakes made it join (and at a million cases hash)
# every open case's intake before sorting. The child's name is the case's own copy
# (``Case.child_first_name``, kept by ``Intake.save``). Written as SQL, as the queue's own
# annotations are (``cases.admin.queue.queue_annotate``): table names from the models.
_CASE = Case._meta.db_table
_INTAKE = Intake._meta.db_table
_FOR_ROW = f'FROM "{_INTAKE}" i WHERE i."case_id" = "{_CASE}"."id"'
_BORN_SQL = f'SELECT i."child_date_of_birth" {_FOR_ROW}'
_RESIDENCE_SQL = f'SELECT i."residence_id" {_FOR_ROW}'
# The specialist the family asked for: the account's name (else its email), else what they
# typed.
_REQUESTED_SQL = (
    'SELECT COALESCE(NULLIF(u."full_name", \'\'), u."email", '  # noqa: S608
    "NULLIF(i.\"preferred_specialist_text\", '')) "
    f'FROM "{_INTAKE}" i LEFT JOIN "{User._meta.db_table}" u '
    f'ON u."id" = i."preferred_specialist_id" WHERE i."case_id" = "{_CASE}"."id"'
)


def _child_annotations() -> dict[str, Any]:
    return {"queue_child_born": RawSQL(_BORN_SQL, (), output_field=DateField())}  # noqa: S611


def _residence_annotations() -> dict[str, Any]:
    return {"queue_residence": RawSQL(_RESIDENCE_SQL, (), output_field=CharField())}  # noqa: S611


def _requested_annotations() -> dict[str, Any]:
    return {"queue_requested": RawSQL(_REQUESTED_SQL, (), output_field=CharField())}  # noqa: S611


def child_text(case: Case, today: date) -> str:
    name = f"{case.child_first_name} {case.child_last_name}".strip()
    if not name:
        return "—"
    born = getattr(case, "queue_child_born", None)
    return name if born is None else f"{name} ({age_on(born, today)})"


def residence_text(case: Case, today: date | None = None) -> str:
    return getattr(case, "queue_residence", None) or "—"


def requested_specialist_text(case: Case, today: date | None = None) -> str:
    return getattr(case, "queue_requested", None) or "—"


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
            only=("child_first_name", "child_last_name"),
            annotations=_child_annotations,
        )
    )
    hooks.queue_column(
        hooks.QueueColumn(
            key="residence",
            label="State",
            after="child",
            cell=residence_text,
            annotations=_residence_annotations,
        )
    )
    hooks.queue_column(
        hooks.QueueColumn(
            key="requested_specialist",
            label="Requested specialist",
            after="status",
            cell=requested_specialist_text,
            annotations=_requested_annotations,
        )
    )
