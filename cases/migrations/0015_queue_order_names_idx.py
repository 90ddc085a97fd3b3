"""The queue's order index carries the child's name (``INCLUDE``), so that a search by a
common name prefix finds the first rows of the queue's order by walking the index alone;
and the case's copy of the child's name defaults to blank in the database too, for rows
inserted in SQL (``bench_cases``) before their intake."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_specialty_records_checklist"),
        ("cases", "0014_case_child_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="case",
            name="child_first_name",
            field=models.CharField(
                blank=True, db_default="", default="", editable=False, max_length=100
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="child_last_name",
            field=models.CharField(
                blank=True, db_default="", default="", editable=False, max_length=100
            ),
        ),
        # The new index first, so that the queue always has one.
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                fields=["due_at", "submitted_at", "id"],
                include=("child_first_name", "child_last_name"),
                name="case_queue_order_names_idx",
            ),
        ),
        migrations.RemoveIndex(model_name="case", name="case_queue_order_idx"),
    ]
