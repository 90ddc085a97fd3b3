import django.db.models.functions.text
from django.db import migrations, models


class AddPatternIndex(migrations.AddIndex):
    """``UPPER(column)`` with PostgreSQL's text_pattern_ops, so that a prefix ``LIKE`` can
    use it whatever the collation. The model declares the plain ``Upper`` index (an
    operator class on an expression needs ``django.contrib.postgres`` installed, which this
    project does not otherwise use); other databases get exactly that."""

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
        # them it guesses 0.5 % of the table for any prefix and may scan the cases whole.
        schema_editor.execute(f"ANALYZE {quote(model._meta.db_table)}")


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0002_seed_state_eligibility"),
    ]

    operations = [
        AddPatternIndex(
            model_name="intake",
            index=models.Index(
                django.db.models.functions.text.Upper("child_legal_first_name"),
                name="intake_child_first_prefix_idx",
            ),
        ),
        AddPatternIndex(
            model_name="intake",
            index=models.Index(
                django.db.models.functions.text.Upper("child_legal_last_name"),
                name="intake_child_last_prefix_idx",
            ),
        ),
    ]
