"""The console's list filters: the queue's (status in the console's words, open work by
default, specialty, specialist, clock risk, unread messages) and the audit log's (dates), and
filters whose choices do not cost a query on every page."""

from datetime import datetime, time, timedelta
from typing import Any

from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_date

from accounts.models import Specialty

from ..models import Case, Status
from ..risk import RISK_LABELS, console_clock
from .labels import STATUS_LABELS
from .queue import HIDDEN_BY_DEFAULT, specialist_choices

S = Status


class StatusFilter(admin.SimpleListFilter):
    """The status in the console's words (``labels.CONSOLE_STATUS_LABELS``); the same
    parameter as the admin's own field filter, so links made before keep working."""

    title = "status"
    parameter_name = "status__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(value, STATUS_LABELS[value]) for value, _ in Status.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        if self.value() in STATUS_LABELS:
            return queryset.filter(status=self.value())
        return queryset


class ShowFilter(admin.SimpleListFilter):
    """The queue opens on open work; drafts and ended cases come back from here. A status
    chosen in the status filter wins (asking for drafts shows the drafts)."""

    title = "cases shown"
    parameter_name = "show"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("all", "All, with drafts and ended cases"),
            ("drafts", "Drafts only"),
            ("ended", "Closed, declined or withdrawn only"),
        ]

    def choices(self, changelist: Any) -> Any:
        # The default ("all" in the admin's wording) is the open work here.
        for choice in super().choices(changelist):
            if choice["display"] == "All":
                choice["display"] = "Open work (default)"
            yield choice

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        value = self.value()
        if value == "drafts":
            return queryset.filter(status=S.DRAFT)
        if value == "ended":
            return queryset.filter(status__in=(S.CLOSED, S.DECLINED, S.WITHDRAWN))
        if value == "all" or request.GET.get(StatusFilter.parameter_name):
            return queryset
        if request.GET.get("q"):
            # A search looks for a particular case: find it whatever its status.
            return queryset
        return queryset.exclude(status__in=HIDDEN_BY_DEFAULT)


class AssignedSpecialistFilter(admin.SimpleListFilter):
    """Specialists only (not every user, as a related-field filter would list)."""

    title = "assigned specialist"
    parameter_name = "specialist"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("none", "Unassigned"), *specialist_choices()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        value = self.value()
        if value == "none":
            return queryset.filter(assigned_specialist__isnull=True)
        if value and value.isdigit():
            return queryset.filter(assigned_specialist_id=int(value))
        return queryset


class ClockRiskFilter(admin.SimpleListFilter):
    """By ``due_at`` range against the one calendar of the request (see cases.risk)."""

    title = "clock"
    parameter_name = "clock"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(RISK_LABELS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        value = self.value()
        if value in RISK_LABELS:
            return queryset.filter(console_clock(request).risk_q(value))
        return queryset


class UnreadFilter(admin.SimpleListFilter):
    """Messages by others newer than the signed-in coordinator's read marker."""

    title = "unread messages"
    parameter_name = "unread"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Unread messages"), ("no", "All read")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        if self.value() == "yes":
            return queryset.filter(Q(unread=True))
        if self.value() == "no":
            return queryset.filter(Q(unread=False))
        return queryset


class DateRangeFilter(admin.SimpleListFilter):
    title = "when"
    parameter_name = "when"

    def lookups(self, request, model_admin):
        return [("today", "Today"), ("7d", "Last 7 days"), ("30d", "Last 30 days")]

    def queryset(self, request, queryset):
        days = {"today": 1, "7d": 7, "30d": 30}.get(self.value() or "")
        if days is None:
            return queryset
        return queryset.filter(at__gte=timezone.now() - timedelta(days=days))


class DateRangeInputFilter(admin.ListFilter):
    """From/to dates (Pacific calendar days, inclusive) typed by the coordinator."""

    title = "date range"
    template = "admin/cases/date_range_filter.html"
    parameters = ("at_from", "at_to")

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.values: dict[str, str] = {}
        self.dates = {}
        # The form keeps the other filters and the search when the range is applied.
        self.request_params_without_range = [
            (key, value)
            for key, values in request.GET.lists()
            if key not in self.parameters
            for value in values
        ]
        for name in self.parameters:
            raw = params.pop(name, None)
            value = raw[-1] if isinstance(raw, list) else raw
            if value:
                self.values[name] = value
                self.dates[name] = parse_date(value)

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str | None]:
        return list(self.parameters)

    def choices(self, changelist):
        return []

    def queryset(self, request, queryset):
        tz = timezone.get_current_timezone()
        start, end = self.dates.get("at_from"), self.dates.get("at_to")
        if start:
            queryset = queryset.filter(at__gte=datetime.combine(start, time.min, tz))
        if end:
            next_day = datetime.combine(end + timedelta(days=1), time.min, tz)
            queryset = queryset.filter(at__lt=next_day)
        return queryset


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


SPECIALTY_CHOICES_KEY = "admin-filter-choices:accounts.specialty"
SPECIALTY_CHOICES_TTL = 600


def specialty_choices(field: Any, request: HttpRequest, model_admin: Any) -> list[tuple[Any, str]]:
    """The specialties of a case's specialty field, as the admin lists them (its order,
    each one's name), from the cache: the queue's filter and the case page's field read
    them on every page. Saving or deleting a specialty drops the list."""

    def read() -> list[tuple[Any, str]]:
        try:
            related = model_admin.admin_site.get_model_admin(field.remote_field.model)
        except NotRegistered:
            ordering: Any = ()
        else:
            ordering = related.get_ordering(request)
        return [(pk, str(label)) for pk, label in field.get_choices(False, ordering=ordering)]

    return list(cache.get_or_set(SPECIALTY_CHOICES_KEY, read, SPECIALTY_CHOICES_TTL) or [])


class SpecialtyFilter(admin.RelatedFieldListFilter):
    """The admin's filter on the case's specialty (same parameter, same links), its
    choices from ``specialty_choices``."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> Any:
        return specialty_choices(field, request, model_admin)


@receiver(post_save, sender=Specialty, dispatch_uid="cases.admin.specialty_choices_saved")
@receiver(post_delete, sender=Specialty, dispatch_uid="cases.admin.specialty_choices_deleted")
def _specialty_choices_changed(**kwargs: Any) -> None:
    cache.delete(SPECIALTY_CHOICES_KEY)
