from django.db import migrations

# Tightens 0002: once a report is signed, also freeze how it was signed, which version it
# replaces and its uid, and let the PDF, delivery and reminder columns be filled in once
# (from empty) but never changed or emptied again, so the PDF families download, and its
# hash, cannot be swapped after delivery. The same rules as Report.save.
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
        NEW.content_sha256, NEW.signed_method, NEW.supersedes_id, NEW.uid)
       IS DISTINCT FROM
       (OLD.summary, OLD.history_reviewed, OLD.records_reviewed, OLD.diagnosis_assessment,
        OLD.treatment_assessment, OLD.recommendations, OLD.next_steps, OLD.clinical_trials,
        OLD.amendment_reason, OLD.kind, OLD.version, OLD.case_id, OLD.author_id,
        OLD.signed_at, OLD.signed_name, OLD.signed_credentials, OLD.signed_title,
        OLD.content_sha256, OLD.signed_method, OLD.supersedes_id, OLD.uid)
       OR (OLD.pdf <> '' AND NEW.pdf IS DISTINCT FROM OLD.pdf)
       OR (OLD.pdf_sha256 <> '' AND NEW.pdf_sha256 IS DISTINCT FROM OLD.pdf_sha256)
       OR (OLD.pdf_size <> 0 AND NEW.pdf_size IS DISTINCT FROM OLD.pdf_size)
       OR (OLD.rendered_at IS NOT NULL AND NEW.rendered_at IS DISTINCT FROM OLD.rendered_at)
       OR (OLD.delivered_at IS NOT NULL AND NEW.delivered_at IS DISTINCT FROM OLD.delivered_at)
       OR (OLD.physician_reminded_at IS NOT NULL
           AND NEW.physician_reminded_at IS DISTINCT FROM OLD.physician_reminded_at)
    THEN
        RAISE EXCEPTION USING
            MESSAGE = 'reports_report: a signed report is immutable (' || TG_OP || ' refused)',
            ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


class Migration(migrations.Migration):
    dependencies = [("reports", "0002_signed_reports_immutable")]
    # Going back re-runs nothing: 0002's looser function would only be looser.
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
