"""The starting list of specialties (seeded by migration 0002; coordinators edit it)."""

from typing import Any

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


def specialties_seed(model: Any) -> None:
    """Create missing specialties; ``model`` is the (historical, in migrations) model class."""
    for order, name in enumerate(SPECIALTIES):
        model.objects.get_or_create(
            slug=slugify(name), defaults={"name": name, "sort_order": (order + 1) * 10}
        )
