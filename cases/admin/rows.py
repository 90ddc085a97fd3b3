"""A short list of related rows read inside another row's query, as one array of JSON
objects, and turned back into model instances for the templates.

The case page shows a handful of lists (follow-up questions, record requests, who opened
each report): a query each would make the page's count grow with the panels. Read as a
correlated ``ARRAY(SELECT JSONB_BUILD_OBJECT(...))`` they come with the row that owns them,
in its one query. That is PostgreSQL's; on SQLite (the local ``make run``) ``folded``
annotates nothing and ``unfold`` reads the list with its own query instead.

Only the fields named are loaded: the instances have the others deferred, so a template
that reads one more field costs a query per row, which the page's query budget
(tests/cases/test_page_budgets.py) catches. A name with ``__`` is a field of a related row
("asked_by__email"); that row is built and cached on the instance as a join would.
"""

from collections.abc import Callable, Iterable
from typing import Any, cast

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import F, Model, QuerySet
from django.db.models.functions import JSONObject


def folded(name: str, queryset: QuerySet[Any], *fields: str) -> dict[str, Any]:
    """``{name: the rows of queryset as JSON objects of fields}``, to annotate onto the row
    ``queryset`` is correlated with (``OuterRef``); nothing outside PostgreSQL."""
    if connection.vendor != "postgresql":
        return {}
    return {name: ArraySubquery(queryset.values(row=JSONObject(**{f: F(f) for f in fields})))}


def unfold[M: Model](
    owner: Model, name: str, model: type[M], read: Callable[[], Iterable[M]]
) -> list[M]:
    """The instances ``folded`` put on ``owner`` as ``name``; ``read()`` when it put none."""
    rows = getattr(owner, name, None)
    if rows is None:
        return list(read())
    return [_instance(model, row) for row in rows]


def _instance[M: Model](model: type[M], row: dict[str, Any]) -> M:
    own: dict[str, Any] = {}
    related: dict[str, dict[str, Any]] = {}
    for key, value in row.items():
        head, _, rest = key.partition("__")
        if rest:
            related.setdefault(head, {})[rest] = value
        else:
            own[key] = value
    fields = [f for f in model._meta.concrete_fields if f.attname in own]
    obj = model.from_db(
        connection.alias,
        [f.attname for f in fields],
        [None if own[f.attname] is None else f.to_python(own[f.attname]) for f in fields],
    )
    for head, values in related.items():
        field = model._meta.get_field(head)
        target = cast(type[Model], field.related_model)
        # A nullable link that is empty: the joined row has no id.
        joined = None if values.get(target._meta.pk.attname) is None else _instance(target, values)
        field.set_cached_value(obj, joined)  # type: ignore[union-attr]
    return obj
