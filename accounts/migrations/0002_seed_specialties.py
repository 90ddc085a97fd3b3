from django.db import migrations

from accounts.specialties import specialties_seed


def seed(apps, schema_editor):
    specialties_seed(apps.get_model("accounts", "Specialty"))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
