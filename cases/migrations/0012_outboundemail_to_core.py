"""The outbox model moves to core (core 0001 takes it over): only Django's record of which app
owns it changes; the table, ``cases_outboundemail``, and its rows stay as they are.

Its content type moves with it, so the permissions already granted on it (the coordinators'
"view outbound email") stay granted rather than left on a stale type.
"""

from django.db import migrations


def _relabel(apps, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label=new, model="outboundemail").exists():
        ContentType.objects.filter(app_label=old, model="outboundemail").update(app_label=new)


def to_core(apps, schema_editor):
    _relabel(apps, "cases", "core")


def to_cases(apps, schema_editor):
    _relabel(apps, "core", "cases")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0011_outboundemail_about"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="OutboundEmail")],
            database_operations=[],
        ),
        migrations.RunPython(to_core, to_cases, elidable=False),
    ]
