"""The console's view of imaging: what each record gave (the same line families see, the
entries skipped and why) with a re-index action, and the studies of a case."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet, Sum
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from cases.admin.base import AuditedAdmin, ExtensibleAdmin, ReadOnlyAdmin

from .models import RecordIndex, Series, Study
from .services import record_reindex_request
from .templatetags.imaging import record_lines


@admin.register(RecordIndex)
class RecordIndexAdmin(AuditedAdmin):
    audit_object_type = "imaging_index"
    audit_case_path = "record.case"

    def audit_label(self, obj: Any) -> str:
        # The portal's rows name the record; so does the console's view of its index.
        return str(obj.record.uid)

    list_display = [
        "case_reference",
        "record_name",
        "imaging_line",
        "state",
        "instances_added",
        "duplicates",
        "skipped_count",
        "updated_at",
    ]
    list_filter = ["state"]
    list_select_related = ["record__case"]
    search_fields = ["=record__case__reference"]
    fields = (
        "case_reference",
        "record_name",
        "imaging_line",
        "state",
        "instances_added",
        "duplicates",
        "error",
        "skipped_table",
        "updated_at",
    )
    readonly_fields = fields
    actions = ["reindex"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        # Every field is read-only: the change permission is there for the re-index action,
        # so the page offers no Save buttons that would save nothing.
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().changeform_view(request, object_id, form_url, extra_context)

    @admin.display(description="case", ordering="record__case__reference")
    def case_reference(self, obj: RecordIndex) -> str:
        return obj.record.case.reference

    @admin.display(description="file")
    def record_name(self, obj: RecordIndex) -> str:
        return obj.record.original_name

    @admin.display(description="imaging")
    def imaging_line(self, obj: RecordIndex) -> str:
        # One query per page, not per row: the lines of every row on the changelist.
        lines = getattr(self, "_lines", None)
        if lines is None or obj.record_id not in lines:
            lines = record_lines([obj.record_id])
        return "; ".join(lines.get(obj.record_id, [])) or "-"

    @admin.display(description="skipped")
    def skipped_count(self, obj: RecordIndex) -> int:
        return len(obj.skipped or [])

    @admin.display(description="skipped entries and reasons")
    def skipped_table(self, obj: RecordIndex) -> str:
        rows = [(e.get("name", ""), e.get("reason", "")) for e in obj.skipped or []]
        if not rows:
            return "None"
        return format_html(
            '<table><thead><tr><th scope="col">Entry</th><th scope="col">Reason</th></tr>'
            "</thead><tbody>{}</tbody></table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", rows),
        )

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        ids = [index.record_id for index in changelist.result_list]
        self._lines = record_lines(ids)
        return changelist

    @admin.action(description="Re-index the selected records", permissions=["change"])
    def reindex(self, request: HttpRequest, queryset: QuerySet[RecordIndex]) -> None:
        count = 0
        for index in queryset.select_related("record"):
            record_reindex_request(record=index.record, by=request.user)  # type: ignore[arg-type]
            count += 1
        messages.success(request, f"Re-indexing {count} record{'s' if count != 1 else ''}.")


class SeriesInline(admin.TabularInline):
    model = Series
    fields = (
        "number",
        "modality",
        "description",
        "instance_count",
        "frame_count",
        "rows",
        "columns",
        "pixel_spacing_row",
        "slice_thickness",
    )
    readonly_fields = fields
    extra = 0
    # The indexer makes series; no form may add one (max_num 0 also hides the admin's
    # "Add another" link, which its script shows whatever the add permission says).
    max_num = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Study)
class StudyAdmin(ExtensibleAdmin, ReadOnlyAdmin, AuditedAdmin):
    """The studies of a case; PACS adds its status column and "Send to PACS" action
    (``pacs.console``)."""

    audit_object_type = "imaging_study"
    audit_case_path = "case"
    list_display = [
        "case",
        "modalities",
        "description",
        "study_date",
        "series_total",
        "instance_total",
    ]
    list_select_related = ["case"]
    search_fields = ["=case__reference"]
    fields = ("case", "study_uid", "modalities", "description", "study_date", "body_part")
    readonly_fields = fields
    inlines = [SeriesInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Study]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                series_total_n=Count("series", distinct=True),
                instance_total_n=Sum("series__instance_count"),
            )
        )

    @admin.display(description="series", ordering="series_total_n")
    def series_total(self, obj: Study) -> int:
        return int(getattr(obj, "series_total_n", 0) or 0)

    @admin.display(description="images", ordering="instance_total_n")
    def instance_total(self, obj: Study) -> int:
        return int(getattr(obj, "instance_total_n", 0) or 0)
