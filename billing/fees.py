"""The fee schedule: what a specialty costs on a date. Fees are data, never constants."""

import datetime
from typing import Any

from django.utils import timezone

from accounts.models import Specialty

from .models import Fee

DEFAULT_START = datetime.date(2026, 1, 1)


def fee_seed(fee_model: Any, specialty_model: Any) -> None:
    """The starting schedule: $875 by default, cardiac surgery free (Heart Institute).
    Models are passed in so the data migration can use its historical ones."""
    fee_model.objects.get_or_create(
        specialty=None,
        effective_from=DEFAULT_START,
        defaults={"amount_cents": 87500, "note": "Standard"},
    )
    cardiac = specialty_model.objects.filter(slug="cardiac-surgery").first()
    if cardiac is not None:
        fee_model.objects.get_or_create(
            specialty=cardiac,
            effective_from=DEFAULT_START,
            defaults={"amount_cents": 0, "note": "Heart Institute: no charge"},
        )


def fee_for(specialty: Specialty | None, on: datetime.date | None = None) -> Fee:
    """The fee in force on ``on`` (today by default): the specialty's own, else the default."""
    on = on or timezone.localdate()
    in_force = Fee.objects.filter(effective_from__lte=on).order_by("-effective_from")
    if specialty is not None:
        own = in_force.filter(specialty=specialty).first()
        if own is not None:
            return own
    default = in_force.filter(specialty__isnull=True).first()
    if default is None:
        raise LookupError("No default fee is in force: add one in the fee schedule.")
    return default


def format_cents(cents: int) -> str:
    return "No charge" if cents == 0 else f"${cents / 100:,.2f}"
