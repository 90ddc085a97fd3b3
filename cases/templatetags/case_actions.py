"""Which buttons a case page shows: asked of the table of actions (cases.actions), not of
the status in the template.

    {% load case_actions %}
    {% may_do case "confirm" as can_confirm %}
    {% if can_confirm %}…the confirm button…{% endif %}

The person is the page's ``user`` (the request's). The answer is the same one the service
gives when the button is pressed (``cases.access.may_do_now``): shown exactly when the
service would not refuse it for the state or for who is asking.
"""

from typing import Any

from django import template

from cases.access import may_do_now
from cases.models import Case

register = template.Library()


@register.simple_tag(takes_context=True)
def may_do(context: dict[str, Any], case: Case, action: str) -> bool:
    return may_do_now(context.get("user"), case, action)
