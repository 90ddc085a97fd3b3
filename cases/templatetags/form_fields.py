"""``{% include "_form_field.html" with field=form.name %}``: one form field in Bootstrap's
markup (label, control, errors next to it, help), without a form-rendering library.

The portal's case page holds four forms; rendering them through crispy-forms' template
packs cost about a fifth of the page's time. Django itself already links the help text and
the errors to the control (``aria-describedby``) and marks it ``aria-invalid``; this adds
Bootstrap's classes, which also make the error under the control visible."""

from django import template
from django.forms import BoundField, CheckboxInput, Select
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def control(field: BoundField) -> SafeString:
    widget = field.field.widget
    if isinstance(widget, Select):
        css = "form-select"
    elif isinstance(widget, CheckboxInput):
        css = "form-check-input"
    else:
        css = "form-control"
    if field.errors:
        css += " is-invalid"
    own = widget.attrs.get("class", "")
    return field.as_widget(attrs={"class": f"{own} {css}".strip()})
