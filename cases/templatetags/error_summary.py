"""The error summary every portal page shows after a failed submit (the GOV.UK pattern).

base.html asks for ``form_errors`` once: the page title then starts with "Error:", and a
summary at the top of the page links to each field in error (static/js/error-summary.js
moves the focus to it). It finds the bound forms in the page's context itself, so every
portal form gets it without its view or template doing anything.
"""

from typing import Any

from django import template
from django.forms import BaseForm
from django.forms.formsets import BaseFormSet

register = template.Library()


def _forms_in(value: Any) -> list[BaseForm]:
    # type(), not isinstance(): isinstance would evaluate lazy context values (the user,
    # the CSRF token) that the page may never use.
    kind = type(value)
    if issubclass(kind, BaseForm):
        return [value]
    if issubclass(kind, BaseFormSet) and value.is_bound:
        return list(value.forms)
    return []


def _field_anchor(form: BaseForm, name: str) -> str:
    bound = form[name]
    # Radio buttons and checkbox lists have no single control: point at the first one.
    return bound.id_for_label or (f"{bound.auto_id}_0" if bound.auto_id else "")


def _errors_of(form: BaseForm) -> list[dict[str, str]]:
    visible = [f.name for f in form.visible_fields()]
    first = _field_anchor(form, visible[0]) if visible else ""
    items = [{"message": str(m), "anchor": first} for m in form.non_field_errors()]
    for name in visible:
        for message in form.errors.get(name, []):
            label = form.fields[name].label or name.replace("_", " ").capitalize()
            items.append({"message": f"{label}: {message}", "anchor": _field_anchor(form, name)})
    for bound in form.hidden_fields():  # a tampered hidden value: say so, link nowhere
        items.extend({"message": str(m), "anchor": first} for m in bound.errors)
    return items


@register.simple_tag(takes_context=True)
def form_errors(context: template.Context) -> list[dict[str, str]]:
    seen: set[int] = set()
    items: list[dict[str, str]] = []
    for value in context.flatten().values():
        for form in _forms_in(value):
            if id(form) in seen or not form.is_bound or form.is_valid():
                continue
            seen.add(id(form))
            items.extend(_errors_of(form))
    return items
