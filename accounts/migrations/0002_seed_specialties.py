from django.db import migrations
from django.utils.text import slugify

# The starting list; coordinators edit it in admin afterwards.
SPECIALTIES = [
    "Cardiac Surgery",
    "Cardiology",
    "Endocrinology",
    "Gastroenterology",
    "General Surgery",
    "Hematology and Oncology",
    "Nephrology",
    "Neurology",
    "Neurosurgery",
    "Orthopaedic Surgery",
    "Otolaryngology",
    "Pulmonology",
    "Rheumatology",
    "Urology",
]


def seed(apps, schema_editor):
    Specialty = apps.get_model("accounts", "Specialty")
    for order, name in enumerate(SPECIALTIES):
        Specialty.objects.get_or_create(
            slug=slugify(name), defaults={"name": name, "sort_order": (order + 1) * 10}
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
