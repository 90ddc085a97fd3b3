"""Moving the outbox from cases to core keeps its table and every row, with its link to the
case, and can be undone. Runs the real migrations on the test database (PostgreSQL)."""

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories import CaseFactory

BEFORE = [("cases", "0010_case_open_work_idx")]
AFTER = [("cases", "0012_outboundemail_to_core"), ("core", "0001_initial")]


def _migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_move_keeps_the_rows_and_their_case(family: Any) -> None:
    case = CaseFactory(family=family)
    try:
        old = _migrate(BEFORE)
        OldEmail = old.get_model("cases", "OutboundEmail")
        about_case = OldEmail.objects.create(
            to=family.email,
            subject="S",
            text="T",
            kind="case_update",
            case_id=case.pk,
            dedupe_key="k:1",
            state="sent",
        )
        about_nothing = OldEmail.objects.create(
            to="someone@example.com", subject="S", text="T", kind="email_confirmation"
        )

        new = _migrate(AFTER)
        Email = new.get_model("core", "OutboundEmail")
        assert Email._meta.db_table == "cases_outboundemail"
        moved = Email.objects.get(pk=about_case.pk)
        assert (moved.about_type.app_label, moved.about_type.model) == ("cases", "case")
        assert (moved.about_id, moved.dedupe_key, moved.state) == (case.pk, "k:1", "sent")
        alone = Email.objects.get(pk=about_nothing.pk)
        assert (alone.about_type_id, alone.about_id) == (None, None)
        # The permissions granted on the model (the coordinators' view) moved with it.
        ContentType = new.get_model("contenttypes", "ContentType")
        Permission = new.get_model("auth", "Permission")
        view = Permission.objects.get(codename="view_outboundemail")
        assert view.content_type.app_label == "core"
        assert not ContentType.objects.filter(app_label="cases", model="outboundemail").exists()

        # And back: the foreign key to the case is rebuilt from the generic reference.
        back = _migrate(BEFORE)
        assert back.get_model("cases", "OutboundEmail").objects.get(pk=about_case.pk).case_id == (
            case.pk
        )
    finally:
        # Every app's latest migration, not AFTER: the tests after this one (in this
        # database) need the migrations that came since (cases 0014's columns, say).
        executor = MigrationExecutor(connection)
        _migrate(executor.loader.graph.leaf_nodes())
