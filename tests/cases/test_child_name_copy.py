"""The case's copy of the child's name (``Case.child_first_name``, ``child_last_name``), which
the coordinator queue shows and searches without joining the intakes: the request form's
child step and any save of an intake keep it, and the migration that added it fills it."""

import importlib
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import Case
from intake.models import Intake
from tests.conftest import login
from tests.factories import CaseFactory
from tests.intake.helpers import CHILD, post_step, start

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:cases_case_changelist"


def _copy(case: Case) -> tuple[str, str]:
    return tuple(  # type: ignore[return-value]
        Case.objects.filter(pk=case.pk).values_list("child_first_name", "child_last_name").get()
    )


def test_the_child_step_copies_the_name_and_an_edit_changes_it(
    client: Client, family: Any, coordinator: Any
) -> None:
    login(client, family)
    case = start(client)
    assert _copy(case) == ("", "")
    post_step(client, case, "eligibility", {"residence": "OR"})
    assert post_step(client, case, "child", CHILD).status_code == 302
    assert _copy(case) == ("Sofia", "Lopez")
    # The family corrects the spelling from the form: the queue's copy follows.
    edited = {**CHILD, "child_legal_first_name": "Sophia", "child_legal_last_name": "López"}
    assert post_step(client, case, "child", edited).status_code == 302
    assert _copy(case) == ("Sophia", "López")

    staff = login(Client(), coordinator)
    found = staff.get(reverse(CHANGELIST), {"q": "soph"})
    assert list(found.context["cl"].result_list) == [case]
    assert "Sophia López" in found.content.decode()
    assert list(staff.get(reverse(CHANGELIST), {"q": "sofia"}).context["cl"].result_list) == []


def test_saving_an_intake_writes_the_copy_only_when_the_name_changes(family: Any) -> None:
    case = CaseFactory(family=family)
    intake = Intake.objects.create(
        case=case, child_legal_first_name="Ann", child_legal_last_name="Lee"
    )
    assert _copy(case) == ("Ann", "Lee")
    # The case object the intake was made or read with is kept in step too, so that a
    # later save of that object keeps the new name.
    assert (case.child_first_name, case.child_last_name) == ("Ann", "Lee")
    intake = Intake.objects.select_related("case").get(pk=intake.pk)
    intake.child_legal_last_name = "Leigh"
    intake.save()
    assert _copy(case) == ("Ann", "Leigh")
    assert intake.case.child_last_name == "Leigh"

    unchanged = Intake.objects.get(pk=intake.pk)
    unchanged.diagnosis = "Something else"
    with CaptureQueriesContext(connection) as captured:
        unchanged.save()
    assert not any('UPDATE "cases_case"' in q["sql"] for q in captured)
    # A save of other fields leaves the copy alone, even when the name was changed in memory.
    unchanged.child_legal_first_name = "Not saved"
    unchanged.save(update_fields=["diagnosis"])
    assert _copy(case) == ("Ann", "Leigh")
    # A blank intake of a new case writes nothing to the case.
    fresh = CaseFactory(family=family)
    with CaptureQueriesContext(connection) as captured:
        Intake.objects.create(case=fresh)
    assert not any('UPDATE "cases_case"' in q["sql"] for q in captured)


def test_the_migration_fills_the_copy_from_the_intakes(family: Any) -> None:
    migration = importlib.import_module("cases.migrations.0014_case_child_name")
    cases = [CaseFactory(family=family) for _ in range(3)]
    Intake.objects.bulk_create(
        [
            Intake(case=cases[0], child_legal_first_name="Ana", child_legal_last_name="Ruiz"),
            Intake(case=cases[1], child_legal_first_name="Ben", child_legal_last_name="Okafor"),
        ]
    )  # bulk_create: no copy made, as for the rows that existed before the migration
    Case.objects.filter(pk=cases[2].pk).update(child_first_name="Stale", child_last_name="Copy")
    assert _copy(cases[0]) == ("", "")
    with connection.schema_editor(atomic=False) as editor:
        # Small batches, so that the ranges are walked as on a large table.
        migration.BATCH = 1
        try:
            migration.copy_child_names(apps, editor)
        finally:
            migration.BATCH = 50_000
    assert _copy(cases[0]) == ("Ana", "Ruiz")
    assert _copy(cases[1]) == ("Ben", "Okafor")
    # A case without an intake keeps what it has.
    assert _copy(cases[2]) == ("Stale", "Copy")
