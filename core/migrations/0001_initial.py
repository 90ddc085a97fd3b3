"""The outbox, taken over from the cases app: the table ``cases_outboundemail`` already
exists (created by cases 0001 and reshaped by cases 0011), so this only records the model in
Django's state and touches no row. The dependency on cases 0012 is history (the table was
born there), not knowledge: nothing in core imports cases."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("cases", "0012_outboundemail_to_core"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="OutboundEmail",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("to", models.EmailField(max_length=254)),
                        ("subject", models.CharField(max_length=255)),
                        ("text", models.TextField()),
                        ("html", models.TextField(blank=True)),
                        ("kind", models.CharField(max_length=80)),
                        ("about_id", models.PositiveBigIntegerField(blank=True, null=True)),
                        (
                            "dedupe_key",
                            models.CharField(blank=True, max_length=200, null=True, unique=True),
                        ),
                        (
                            "state",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("sending", "Sending"),
                                    ("sent", "Sent"),
                                    ("failed", "Failed"),
                                ],
                                default="pending",
                                max_length=10,
                            ),
                        ),
                        ("attempts", models.PositiveIntegerField(default=0)),
                        ("claimed_at", models.DateTimeField(blank=True, null=True)),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        ("last_error", models.CharField(blank=True, max_length=255)),
                        (
                            "about_type",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="contenttypes.contenttype",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "cases_outboundemail",
                        "indexes": [
                            models.Index(
                                fields=["state", "created_at"], name="outbox_state_created_idx"
                            ),
                            models.Index(
                                fields=["about_type", "about_id"], name="outbox_about_idx"
                            ),
                        ],
                    },
                )
            ],
        )
    ]
