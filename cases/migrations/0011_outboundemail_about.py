"""The outbox points at its case generically (content type + id) instead of by a foreign key
to Case, so that it can move to core, which knows nothing of cases (0012, core 0001).

The rows stay where they are: the new columns are filled from ``case_id`` before it goes.
"""

import django.db.models.deletion
from django.db import migrations, models


def case_to_about(apps, schema_editor):
    OutboundEmail = apps.get_model("cases", "OutboundEmail")
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not OutboundEmail.objects.filter(case__isnull=False).exists():
        return
    case_type, _ = ContentType.objects.get_or_create(app_label="cases", model="case")
    OutboundEmail.objects.filter(case__isnull=False).update(
        about_type=case_type, about_id=models.F("case_id")
    )


def about_to_case(apps, schema_editor):
    OutboundEmail = apps.get_model("cases", "OutboundEmail")
    ContentType = apps.get_model("contenttypes", "ContentType")
    case_type = ContentType.objects.filter(app_label="cases", model="case").first()
    if case_type is not None:
        OutboundEmail.objects.filter(about_type=case_type).update(case_id=models.F("about_id"))


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0010_case_open_work_idx"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboundemail",
            name="about_type",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="contenttypes.contenttype",
            ),
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="about_id",
            field=models.PositiveBigIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(case_to_about, about_to_case, elidable=False),
        migrations.RemoveField(model_name="outboundemail", name="case"),
        migrations.AddIndex(
            model_name="outboundemail",
            index=models.Index(fields=["about_type", "about_id"], name="outbox_about_idx"),
        ),
    ]
