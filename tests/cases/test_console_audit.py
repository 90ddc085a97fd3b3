"""The console writes the audit log as the portal does: every change page, history page and
search result of a model that carries a case is an AccessEvent of the coordinator who looked.

The walk is over the admin registry, so a case-bearing model registered later without
``AuditedAdmin`` fails here.
"""

from typing import Any

import pytest
from django.contrib import admin
from django.db.models import ForeignKey, Model
from django.test import Client
from django.urls import reverse

from billing.models import PaymentAttempt, Refund
from cases.admin.base import AuditedAdmin
from cases.models import AccessEvent, Case, Status
from core.models import OutboundEmail
from imaging.models import RecordIndex, Study
from intake.models import Intake, PhysicianLinkRequest, Question
from pacs.models import PacsTransfer
from reports.models import FollowUpQuestion, Report, ReportOpening
from tests.billing.helpers import make_paid
from tests.conftest import login
from tests.factories import CaseFactory
from tests.matrix import matrix_record

# The audit log's own pages show who looked at what, not the case's data, and auditing reads
# of the log would add a row for every row read.
NOT_CASE_DATA = {AccessEvent}


def _case_path(model: type[Model]) -> str | None:
    if model is Case:
        return ""
    fks = [f for f in model._meta.concrete_fields if isinstance(f, ForeignKey)]
    for field in fks:
        if field.related_model is Case:
            return field.name
    for field in fks:
        parent = _case_path(field.related_model)  # type: ignore[arg-type]
        if parent:
            return f"{field.name}.{parent}"
    return None


def _case_bearing() -> list[tuple[type[Model], Any, str]]:
    found = []
    for model, model_admin in admin.site._registry.items():
        path = _case_path(model)
        if path is not None and model not in NOT_CASE_DATA:
            found.append((model, model_admin, path))
    return sorted(found, key=lambda row: row[0]._meta.label)


@pytest.fixture
def everything(family: Any, physician: Any, specialist: Any, coordinator: Any) -> Case:
    """One case with one object of every case-bearing model the console lists."""
    case = CaseFactory(family=family, assigned_specialist=specialist, status=Status.DELIVERED)
    Intake.objects.create(case=case)
    Question.objects.create(case=case, position=1, text="Is surgery needed?", asked_by=family)
    matrix_record(case)
    PhysicianLinkRequest.objects.create(case=case, physician=physician)
    make_paid(case)
    Refund.objects.create(
        case=case,
        attempt=PaymentAttempt.objects.get(case=case),
        amount_cents=100,
        reason="Goodwill",
        created_by=coordinator,
    )
    report = Report.objects.create(case=case, author=specialist)
    FollowUpQuestion.objects.create(case=case, position=1, text="And now?", asked_by=family)
    ReportOpening.objects.create(report=report, user=family, role="family")
    OutboundEmail.objects.create(
        to=family.email, subject="Update", text="Sign in", kind="x", about=case
    )
    study = Study.objects.create(case=case, study_uid="1.2.3", modalities="CT")
    RecordIndex.objects.create(record=case.records.get(), state="indexed")
    PacsTransfer.objects.create(study=study, total=1)
    return case


def test_every_case_bearing_admin_is_audited() -> None:
    models = {model for model, _, _ in _case_bearing()}
    # The walk found the models it is meant to (so an empty registry cannot pass it).
    assert {Case, Intake, Report, PaymentAttempt, ReportOpening} <= models
    for model, model_admin, path in _case_bearing():
        assert isinstance(model_admin, AuditedAdmin), f"{model._meta.label} is not audited"
        assert model_admin.audit_case_path == path, model._meta.label


def _new_events(before: int) -> list[AccessEvent]:
    return list(AccessEvent.objects.filter(pk__gt=before).order_by("pk"))


def _last_pk() -> int:
    return AccessEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_change_history_and_search_pages_write_one_row_each(
    everything: Case, coordinator: Any
) -> None:
    client = login(Client(), coordinator)
    for model, model_admin, _ in _case_bearing():
        label = model._meta.label
        opts = model._meta
        obj = model._default_manager.get() if model is not Case else everything
        name = f"admin:{opts.app_label}_{opts.model_name}"
        kind = model_admin.audit_object_type

        for suffix, action in (("change", "view"), ("history", "history")):
            before = _last_pk()
            response = client.get(reverse(f"{name}_{suffix}", args=[obj.pk]))
            assert response.status_code == 200, (label, suffix)
            events = _new_events(before)
            assert [(e.action, e.object_type, e.case_id, e.user_id) for e in events] == [
                (action, kind, everything.pk, coordinator.pk)
            ], (label, suffix)
            assert events[0].outcome == "allowed"
            assert events[0].role == "coordinator"

        # The unsearched list is the queue: not a row per line.
        before = _last_pk()
        assert client.get(reverse(f"{name}_changelist")).status_code == 200
        assert _new_events(before) == [], label

        before = _last_pk()
        response = client.get(reverse(f"{name}_changelist"), {"q": everything.reference})
        shown = list(response.context["cl"].result_list)
        assert len(shown) == 1, label
        assert [(e.action, e.object_type, e.case_id) for e in _new_events(before)] == [
            ("search", kind, everything.pk)
        ], label


def test_a_search_writes_a_row_per_case_shown(family: Any, coordinator: Any) -> None:
    cases = [CaseFactory(family=family, status=Status.SUBMITTED) for _ in range(3)]
    client = login(Client(), coordinator)
    before = _last_pk()
    response = client.get(reverse("admin:cases_case_changelist"), {"q": family.email})
    assert response.status_code == 200
    assert sorted(e.case_id for e in _new_events(before)) == sorted(c.pk for c in cases)
    before = _last_pk()
    response = client.get(reverse("admin:cases_case_changelist"), {"q": "OSO-NONE-NONE"})
    assert response.status_code == 200
    assert _new_events(before) == []


def test_an_edit_in_the_console_is_audited(everything: Case, coordinator: Any) -> None:
    client = login(Client(), coordinator)
    question = Question.objects.get(case=everything)
    before = _last_pk()
    response = client.post(
        reverse("admin:intake_question_change", args=[question.pk]),
        {"text": "Is surgery needed now?"},
    )
    assert response.status_code == 302
    assert [(e.action, e.object_type) for e in _new_events(before)] == [("edit", "question")]


def test_the_refund_page_is_audited(everything: Case, coordinator: Any) -> None:
    client = login(Client(), coordinator)
    before = _last_pk()
    response = client.get(reverse("admin:billing_casebilling_refund", args=[everything.billing.pk]))
    assert response.status_code == 200
    assert [(e.action, e.object_type) for e in _new_events(before)] == [("view", "billing")]


def test_a_record_downloaded_from_the_case_page_is_audited(
    everything: Case, coordinator: Any
) -> None:
    client = login(Client(), coordinator)
    page = client.get(reverse("admin:cases_case_change", args=[everything.pk]))
    record = page.context["console"]["panel"]["records"]["rows"][0]
    assert record["url"]
    before = _last_pk()
    response = client.get(record["url"])
    assert response.status_code == 200
    events = _new_events(before)
    # Reading the file to its end closes the response (and with it the request's connection).
    assert b"".join(response.streaming_content) == b"%PDF-1.4\n"
    assert [(e.action, e.object_type, e.case_id) for e in events] == [
        ("download", "record", everything.pk)
    ]
