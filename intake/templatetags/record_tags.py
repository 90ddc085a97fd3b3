"""What the records tables need to ask of a record for the person looking at them."""

from typing import Any

from django import template

from intake.models import Record

register = template.Library()


@register.filter
def downloadable_by(record: Record, user: Any) -> bool:
    """Link the file only for someone the download gate would hand it to."""
    return record.downloadable_by(user)
