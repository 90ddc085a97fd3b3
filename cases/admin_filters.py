"""Console list filters whose choices do not cost a read of a whole table."""

from typing import Any

from django.contrib import admin
from django.core.cache import cache


class CachedValuesFilter(admin.AllValuesFieldListFilter):
    """The admin's "all values" filter, with its list of values cached for ten minutes.

    The admin builds that list with ``SELECT DISTINCT column`` over the whole table on every
    page of the list. On the audit log (one row per view of case data, millions of rows)
    that is a full read of the table each time a coordinator opens it, e.g. to see one
    case's log. The values (actions, roles) are a handful that change with the code, not
    with the rows; a new one shows up in the filter within ten minutes.
    """

    TIMEOUT = 600

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        key = f"admin-filter-values:{self.field.model._meta.label_lower}:{self.field_path}"
        choices = self.lookup_choices  # a lazy queryset until listed
        self.lookup_choices = cache.get_or_set(  # type: ignore[assignment]
            key, lambda: list(choices), self.TIMEOUT
        )
