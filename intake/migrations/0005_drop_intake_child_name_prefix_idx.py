"""The intake's child-name prefix indexes (0003) served the coordinator queue's search,
which since cases migration 0014 searches the case's own copy of the name
(``case_child_first_prefix_idx``); nothing else reads the intakes by name prefix. Dropping
them saves their upkeep on every intake write. Reversed, they are built again as 0003
built them (``UPPER(name) text_pattern_ops`` on PostgreSQL)."""

from django.db import migrations


class RemovePatternIndex(migrations.RemoveIndex):
    """Django's ``RemoveIndex``, whose reverse builds the index with the text_pattern_ops
    operator class on PostgreSQL, as ``AddPatternIndex`` of migration 0003 did."""

    def __init__(self, model_name: str, name: str, field_name: str) -> None:
        super().__init__(model_name=model_name, name=name)
        self.field_name = field_name

    def deconstruct(self):  # type: ignore[no-untyped-def]
        name, args, kwargs = super().deconstruct()
        return name, args, {**kwargs, "field_name": self.field_name}

    def database_backwards(self, app_label, schema_editor, from_state, to_state):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor != "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        quote = schema_editor.quote_name
        schema_editor.execute(
            f"CREATE INDEX {quote(self.name)} ON {quote(model._meta.db_table)} "
            f"(UPPER({quote(model._meta.get_field(self.field_name).column)}) text_pattern_ops)"
        )
        schema_editor.execute(f"ANALYZE {quote(model._meta.db_table)}")


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0004_record_scan_development"),
    ]

    operations = [
        RemovePatternIndex(
            model_name="intake",
            name="intake_child_first_prefix_idx",
            field_name="child_legal_first_name",
        ),
        RemovePatternIndex(
            model_name="intake",
            name="intake_child_last_prefix_idx",
            field_name="child_legal_last_name",
        ),
    ]
