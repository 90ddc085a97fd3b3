"""``{% study_links case %}``: links to the study viewer from a case's records section, for
the people who may open it (imaging/viewer_views.py: specialist, coordinator, physician).
Lists only studies with instances from records that scanned clean, as the viewer does."""

from typing import Any

from django import template

from intake.models import Record

from ..models import Instance, Study

register = template.Library()


@register.inclusion_tag("imaging/study_links.html", takes_context=True)
def study_links(context: dict[str, Any], case: Any) -> dict[str, Any]:
    from ..viewer_views import VIEWER_ROLES

    user = context.get("user")
    if user is None or getattr(user, "role", None) not in VIEWER_ROLES:
        return {"studies": []}
    shown = Instance.objects.filter(study__case=case, record__in=Record.objects.cleared()).values(
        "study_id"
    )
    studies = Study.objects.filter(pk__in=shown).with_counts().order_by("study_date", "pk")
    return {"studies": list(studies), "reference": case.reference}
