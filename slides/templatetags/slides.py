from django import template

from intake.models import Record

from .. import services

register = template.Library()


@register.filter
def is_slide(record: Record) -> bool:
    """Offer the slide viewer for ``record`` (decided without a query)."""
    return services.is_link_candidate(record)
