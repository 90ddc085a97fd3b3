"""The child's legal name copied onto the case, filled from the intakes, with prefix indexes.

The coordinator queue shows and searches the child's name; read from the intake, every
queue page joined the intake table (at a million cases PostgreSQL could hash it whole) and
a common name prefix probed thousands of intakes. ``intake.Intake.save`` keeps the copy.

Not atomic: the backfill commits a batch of cases at a time, so that a large table is not
rewritten in one transaction, and can then ``VACUUM`` the rows it replaced.
"""

import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models, transaction

BATCH = 50_000


def copy_child_names(apps, schema_editor):
    """``UPDATE … FROM`` the intakes, one range of case ids per transaction; a case whose
    copy already matches (a second run) is not written again."""
    connection = schema_editor.connection
    quote = schema_editor.quote_name
    case = apps.get_model("cases", "Case")._meta.db_table
    intake = apps.get_model("intake", "Intake")._meta.db_table
    sql = (
        f"UPDATE {quote(case)} SET child_first_name = i.child_legal_first_name, "  # noqa: S608
        f"child_last_name = i.child_legal_last_name FROM {quote(intake)} AS i "
        f"WHERE i.case_id = {quote(case)}.id AND {quote(case)}.id BETWEEN %s AND %s "
        f"AND ({quote(case)}.child_first_name <> i.child_legal_first_name "
        f"OR {quote(case)}.child_last_name <> i.child_legal_last_name)"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(id), MAX(id) FROM {quote(case)}")  # noqa: S608
        low, high = cursor.fetchone()
    if low is None:
        return
    updated = 0
    for start in range(low, high + 1, BATCH):
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(sql, [start, start + BATCH - 1])
            updated += cursor.rowcount
    # VACUUM runs only outside a transaction (not, say, when a test calls this).
    if updated and connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {quote(case)}")


class AddPatternIndex(migrations.AddIndex):
    """``UPPER(column)`` with PostgreSQL's text_pattern_ops, so that a prefix ``LIKE`` can
    use it whatever the collation (as intake migration 0003 builds the intake's). The model
    declares the plain ``Upper`` index; other databases get exactly that."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        field_name = self.index.expressions[0].source_expressions[0].name
        quote = schema_editor.quote_name
        schema_editor.execute(
            f"CREATE INDEX {quote(self.index.name)} ON {quote(model._meta.db_table)} "
            f"(UPPER({quote(model._meta.get_field(field_name).column)}) text_pattern_ops)"
        )
        # The planner's statistics on the new expression come only from ANALYZE: without
        # them it guesses 0.5 % of the table for any prefix.
        schema_editor.execute(f"ANALYZE {quote(model._meta.db_table)}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0003_specialty_records_checklist"),
        ("cases", "0013_workspace_indexes"),
        # The intakes the names are copied from.
        ("intake", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="child_first_name",
            field=models.CharField(blank=True, default="", editable=False, max_length=100),
        ),
        migrations.AddField(
            model_name="case",
            name="child_last_name",
            field=models.CharField(blank=True, default="", editable=False, max_length=100),
        ),
        migrations.RunPython(copy_child_names, migrations.RunPython.noop, elidable=False),
        AddPatternIndex(
            model_name="case",
            index=models.Index(
                django.db.models.functions.text.Upper("child_first_name"),
                name="case_child_first_prefix_idx",
            ),
        ),
        AddPatternIndex(
            model_name="case",
            index=models.Index(
                django.db.models.functions.text.Upper("child_last_name"),
                name="case_child_last_prefix_idx",
            ),
        ),
    ]
