"""Short lists of a case's rows read with the case itself, in the access gate's one query.

A page that shows several short lists of one case (its questions, the record requests, the
guardians, the holds) read each with a query of its own after the case. On PostgreSQL each
list can instead come with the gated case as a JSON array, a correlated
``ARRAY(SELECT jsonb_build_object(...) ... ORDER BY ...)`` read from the list's own index,
and is rebuilt here into the model instances the query would have given: the same rows in
the same order, fields converted as the database would (``Field.to_python``).

The rows are those of the case the gate let through, nothing else, and they live on that
request's case object only: nothing is kept between requests. Elsewhere (SQLite, for
``make run``), and for a case fetched without them, each list is read on its own as before.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import (
    BigIntegerField,
    BinaryField,
    DecimalField,
    Model,
    OuterRef,
    QuerySet,
    TextField,
    Value,
)
from django.db.models.functions import Cast, JSONObject

from accounts.models import User

from .models import Case

_READ_FOR = "_rows_read_for"


@dataclass(frozen=True)
class CaseRows[M: Model]:
    """One list a page shows of a case's rows.

    ``rows(user)``: that list for every case, filtered and ordered as shown (the model's
    ``case`` foreign key ties it to the one case), or None when this person is never shown
    it (nothing is read for them then).
    """

    name: str
    rows: Callable[[User], QuerySet[M] | None]

    @property
    def attribute(self) -> str:
        return f"_rows_{self.name}"


def _field_value(field: Any) -> Any:
    # JSON has no decimal: a number would come back as a float, so decimals travel as text.
    if isinstance(field, DecimalField):
        return Cast(field.attname, output_field=TextField())
    return field.attname


def _json_array(rows: QuerySet[Any]) -> Any:
    # Here, not at the top: only on PostgreSQL, and django.contrib.postgres needs psycopg.
    from django.contrib.postgres.expressions import ArraySubquery  # noqa: PLC0415

    fields = rows.model._meta.concrete_fields
    if any(isinstance(field, BinaryField) for field in fields):
        raise TypeError(f"{rows.model.__name__}: binary fields do not travel as JSON")
    row = JSONObject(**{field.attname: _field_value(field) for field in fields})
    return ArraySubquery(rows.filter(case=OuterRef("pk")).values(json=row))


def read_with_case(user: User, lists: Iterable[CaseRows[Any]]) -> dict[str, Any]:
    """The annotations that bring ``lists`` with the case (``case_for_user(annotate=...)``);
    none where the database is not PostgreSQL, so each list is then read on its own."""
    if connection.vendor != "postgresql":
        return {}
    # Who they were read for: a list may depend on the person (the guardians are read only
    # for the one who manages them), so no one else takes them from this case object.
    annotations: dict[str, Any] = {_READ_FOR: Value(user.pk, output_field=BigIntegerField())}
    for rows in lists:
        queryset = rows.rows(user)
        if queryset is not None:
            annotations[rows.attribute] = _json_array(queryset)
    return annotations


def _instance[M: Model](model: type[M], row: dict[str, Any], case: Case) -> M:
    fields = model._meta.concrete_fields
    values = [
        None if row[field.attname] is None else field.to_python(row[field.attname])
        for field in fields
    ]
    instance = model.from_db(DEFAULT_DB_ALIAS, [field.attname for field in fields], values)
    # Read with this case: its ``case`` is this object, without a query.
    model._meta.get_field("case").set_cached_value(instance, case)  # type: ignore[union-attr]
    return instance


def case_rows[M: Model](case: Case, rows: CaseRows[M], user: User) -> list[M]:
    """``rows`` of ``case`` for ``user``: those read with the case when they came with it,
    else read now."""
    read = getattr(case, rows.attribute, None)
    queryset = rows.rows(user)
    if queryset is None:
        return []
    if read is None or getattr(case, _READ_FOR, None) != user.pk:
        return list(queryset.filter(case=case))
    return [_instance(queryset.model, row, case) for row in read]
