from django.contrib import admin
from django.http import HttpRequest

from .models import (
    AccessEvent,
    Case,
    HospitalClosure,
    OutboundEmail,
    TimelineEvent,
    TurnaroundPolicy,
)


class TimelineInline(admin.TabularInline):
    model = TimelineEvent
    extra = 0
    can_delete = False
    fields = ("at", "kind", "from_status", "to_status", "actor", "note")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "status",
        "specialty",
        "family",
        "assigned_specialist",
        "submitted_at",
    ]
    list_filter = ["status", "specialty"]
    list_select_related = ["specialty", "family", "assigned_specialist"]
    search_fields = ["=reference", "=family__email", "=physician_email"]
    # Status is never edited by hand: it moves only through cases.lifecycle.
    readonly_fields = [
        "reference",
        "status",
        "status_before_hold",
        "created_at",
        "submitted_at",
        "created_by",
    ]
    fields = [*readonly_fields, "family", "physician_email", "specialty", "assigned_specialist"]
    raw_id_fields = ["family", "assigned_specialist"]
    inlines = [TimelineInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class DateRangeFilter(admin.SimpleListFilter):
    title = "when"
    parameter_name = "when"

    def lookups(self, request, model_admin):
        return [("today", "Today"), ("7d", "Last 7 days"), ("30d", "Last 30 days")]

    def queryset(self, request, queryset):
        from datetime import timedelta

        from django.utils import timezone

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
        from django.utils.dateparse import parse_date

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
        from datetime import datetime, time, timedelta

        from django.utils import timezone

        tz = timezone.get_current_timezone()
        start, end = self.dates.get("at_from"), self.dates.get("at_to")
        if start:
            queryset = queryset.filter(at__gte=datetime.combine(start, time.min, tz))
        if end:
            next_day = datetime.combine(end + timedelta(days=1), time.min, tz)
            queryset = queryset.filter(at__lt=next_day)
        return queryset


@admin.register(AccessEvent)
class AccessEventAdmin(admin.ModelAdmin):
    """The audit log, read-only. Filter by case (search the reference), user and dates."""

    list_display = [
        "at",
        "user",
        "role",
        "case",
        "action",
        "object_type",
        "object_id",
        "outcome",
        "ip",
    ]
    list_filter = ["outcome", "action", "role", DateRangeFilter, DateRangeInputFilter]
    list_select_related = ["user", "case"]
    search_fields = ["=case__reference", "=user__email", "=object_id"]
    date_hierarchy = "at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "to", "state", "attempts", "sent_at", "case"]
    list_filter = ["state", "kind"]
    list_select_related = ["case"]
    search_fields = ["=to", "=case__reference"]
    exclude = ["text", "html"]  # may hold verification links: not for display
    readonly_fields = [
        "created_at",
        "to",
        "subject",
        "kind",
        "case",
        "dedupe_key",
        "state",
        "attempts",
        "claimed_at",
        "sent_at",
        "last_error",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(HospitalClosure)
class HospitalClosureAdmin(admin.ModelAdmin):
    list_display = ["date", "reason"]
    date_hierarchy = "date"


@admin.register(TurnaroundPolicy)
class TurnaroundPolicyAdmin(admin.ModelAdmin):
    list_display = ["business_days", "review_extension_days", "at_risk_days"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not TurnaroundPolicy.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
