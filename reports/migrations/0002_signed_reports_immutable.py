from django.db import migrations

# On PostgreSQL the database itself refuses to change or delete a signed report's content
# or its answers, whatever code asks (Report.save and the services refuse first). The PDF,
# delivery and reminder columns stay writable: they are filled in after signing. SQLite,
# used only for local development, relies on the model's and the services' refusal.
FORWARD = """
CREATE OR REPLACE FUNCTION reports_report_signed_immutable() RETURNS trigger AS $$
BEGIN
    IF OLD.signed_at IS NULL THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' OR
       (NEW.summary, NEW.history_reviewed, NEW.records_reviewed, NEW.diagnosis_assessment,
        NEW.treatment_assessment, NEW.recommendations, NEW.next_steps, NEW.clinical_trials,
        NEW.amendment_reason, NEW.kind, NEW.version, NEW.case_id, NEW.author_id,
        NEW.signed_at, NEW.signed_name, NEW.signed_credentials, NEW.signed_title,
        NEW.content_sha256)
       IS DISTINCT FROM
       (OLD.summary, OLD.history_reviewed, OLD.records_reviewed, OLD.diagnosis_assessment,
        OLD.treatment_assessment, OLD.recommendations, OLD.next_steps, OLD.clinical_trials,
        OLD.amendment_reason, OLD.kind, OLD.version, OLD.case_id, OLD.author_id,
        OLD.signed_at, OLD.signed_name, OLD.signed_credentials, OLD.signed_title,
        OLD.content_sha256)
    THEN
        RAISE EXCEPTION USING
            MESSAGE = 'reports_report: a signed report is immutable (' || TG_OP || ' refused)',
            ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER reports_report_signed_immutable
    BEFORE UPDATE OR DELETE ON reports_report
    FOR EACH ROW EXECUTE FUNCTION reports_report_signed_immutable();

CREATE OR REPLACE FUNCTION reports_answer_signed_immutable() RETURNS trigger AS $$
DECLARE
    report_id bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN report_id := NEW.report_id; ELSE report_id := OLD.report_id; END IF;
    IF EXISTS (SELECT 1 FROM reports_report r WHERE r.id = report_id AND r.signed_at IS NOT NULL)
       OR (TG_OP = 'UPDATE' AND EXISTS (
           SELECT 1 FROM reports_report r WHERE r.id = NEW.report_id AND r.signed_at IS NOT NULL))
    THEN
        RAISE EXCEPTION USING
            MESSAGE = 'reports_answer: the answers of a signed report are immutable (' || TG_OP || ' refused)',
            ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER reports_answer_signed_immutable
    BEFORE INSERT OR UPDATE OR DELETE ON reports_answer
    FOR EACH ROW EXECUTE FUNCTION reports_answer_signed_immutable();
"""

REVERSE = """
DROP TRIGGER IF EXISTS reports_answer_signed_immutable ON reports_answer;
DROP FUNCTION IF EXISTS reports_answer_signed_immutable();
DROP TRIGGER IF EXISTS reports_report_signed_immutable ON reports_report;
DROP FUNCTION IF EXISTS reports_report_signed_immutable();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE)


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]
    operations = [migrations.RunPython(forward, reverse)]
