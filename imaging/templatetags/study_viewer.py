"""``{% study_links case %}``: links to the study viewer from a case's records section, for
the people who may open it (imaging/viewer_views.py: specialist, coordinator, physician).
Lists only studies with instances from records that scanned clean, as the viewer does."""

from typing import Any

from django import template

from ..studies import VIEWER_ROLES, case_studies

register = template.Library()


@register.inclusion_tag("imaging/study_links.html", takes_context=True)
def study_links(context: dict[str, Any], case: Any) -> dict[str, Any]:
    user = context.get("user")
    if user is None or getattr(user, "role", None) not in VIEWER_ROLES:
        return {"studies": []}
    # Read once with the PACS panel's (imaging.studies).
    studies = [study for study in case_studies(case) if getattr(study, "viewable", False)]
    return {"studies": studies, "reference": case.reference}
