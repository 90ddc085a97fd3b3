from django.db import migrations

# On PostgreSQL the database itself refuses UPDATE and DELETE of audit rows, whatever code
# asks. TRUNCATE is left to database privileges (README, production): test isolation
# flushes tables with it, and no application code path can issue one. SQLite, used only for local
# development, relies on the model's own refusal.
FORWARD = """
CREATE OR REPLACE FUNCTION cases_accessevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'cases_accessevent is append-only: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER cases_accessevent_no_update_delete
    BEFORE UPDATE OR DELETE ON cases_accessevent
    FOR EACH ROW EXECUTE FUNCTION cases_accessevent_append_only();
"""

REVERSE = """
DROP TRIGGER IF EXISTS cases_accessevent_no_update_delete ON cases_accessevent;
DROP FUNCTION IF EXISTS cases_accessevent_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE)


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(forward, reverse)]
