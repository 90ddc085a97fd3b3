from django.db import migrations

from billing.fees import fee_seed


def seed(apps, schema_editor):
    fee_seed(apps.get_model("billing", "Fee"), apps.get_model("accounts", "Specialty"))


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial"), ("accounts", "0002_seed_specialties")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
