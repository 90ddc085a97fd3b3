from django.db import migrations, models


class Migration(migrations.Migration):
    """The access gate finds the cases a guardian or physician is invited onto by their
    verified emails: without this index that lookup read every invitation."""

    dependencies = [
        ("cases", "0008_accessevent_hash_chain"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="casemember",
            index=models.Index(fields=["email", "role"], name="casemember_email_role_idx"),
        ),
    ]
