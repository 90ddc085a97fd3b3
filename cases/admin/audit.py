"""The audit log (read-only, filtered without reading the whole table) and the outbox."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from core.models import OutboundEmail

from ..models import AccessEvent
from .base import AuditedAdmin, ReadOnlyAdmin
from .filters import CachedValuesFilter, DateRangeFilter, DateRangeInputFilter


@admin.register(AccessEvent)
class AccessEventAdmin(ReadOnlyAdmin):
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
    list_filter = [
        "outcome",
        ("action", CachedValuesFilter),
        ("role", CachedValuesFilter),
        DateRangeFilter,
        DateRangeInputFilter,
    ]
    list_select_related = ["user", "case"]
    search_fields = ["=case__reference", "=user__email", "=object_id"]
    date_hierarchy = "at"
    show_full_result_count = False


@admin.register(OutboundEmail)
class OutboundEmailAdmin(AuditedAdmin):
    audit_object_type = "email"
    list_display = ["created_at", "kind", "to", "state", "attempts", "sent_at", "about"]
    list_filter = ["state", "kind"]
    search_fields = ["=to", "=case__reference"]
    exclude = ["text", "html"]  # may hold verification links: not for display
    readonly_fields = [
        "created_at",
        "to",
        "subject",
        "kind",
        "about",
        "dedupe_key",
        "state",
        "attempts",
        "claimed_at",
        "sent_at",
        "last_error",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[OutboundEmail]:
        # The case each row is about, fetched for the whole page at once, not row by row.
        return super().get_queryset(request).prefetch_related("about")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
