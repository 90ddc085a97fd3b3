from django.db import migrations

from intake.eligibility import eligibility_seed


def seed(apps, schema_editor):
    eligibility_seed(apps.get_model("intake", "StateEligibility"))


class Migration(migrations.Migration):
    dependencies = [("intake", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
