from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from cases.admin.base import AuditedAdmin, ReadOnlyAdmin

from .models import Intake, PhysicianLinkRequest, Question, Record, StateEligibility
from .services import physician_link_decide, question_clarify


class EligibilityRowForm(forms.ModelForm):
    """One row of the list's "offered" checkboxes, labelled with its state: without a label
    a screen reader announces fifty-odd identical "checkbox, checked"."""

    class Meta:
        model = StateEligibility
        fields = ["is_available"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        name = self.instance.name or self.instance.code
        self.fields["is_available"].widget.attrs["aria-label"] = f"Service offered in {name}"


@admin.register(StateEligibility)
class StateEligibilityAdmin(admin.ModelAdmin):
    """Where the service is offered, and what families elsewhere are told (no deploy needed)."""

    def get_changelist_form(self, request: HttpRequest, **kwargs: Any) -> type[forms.ModelForm]:
        return EligibilityRowForm

    list_display = ["name", "code", "is_available", "reason"]
    list_editable = ["is_available"]
    list_filter = ["is_available"]
    search_fields = ["name", "=code"]
    readonly_fields = ["code"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Intake)
class IntakeAdmin(AuditedAdmin, ReadOnlyAdmin):
    audit_object_type = "intake"
    list_display = [
        "case",
        "child_legal_last_name",
        "child_age_display",
        "residence",
        "started_by_physician",
        "current_step",
    ]
    list_select_related = ["case", "residence"]
    search_fields = ["=case__reference", "child_legal_last_name"]

    @admin.display(description="age")
    def child_age_display(self, obj: Intake) -> str:
        age = obj.child_age
        if age is None:
            return "-"
        return f"{age} (21 or over: check)" if obj.flag_adult else str(age)


@admin.register(Question)
class QuestionAdmin(AuditedAdmin):
    """Coordinators may clarify a question's wording (with the family); the change goes
    through intake.services.question_clarify, which keeps the old text on the timeline."""

    audit_object_type = "question"

    list_display = ["case", "position", "asked_by", "created_at"]
    list_select_related = ["case", "asked_by"]
    search_fields = ["=case__reference"]
    fields = ["case", "position", "asked_by", "text"]
    readonly_fields = ["case", "position", "asked_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Question, form: Any, change: bool) -> None:
        try:
            question_clarify(
                question=Question.objects.get(pk=obj.pk),
                by=request.user,  # type: ignore[arg-type]
                text=form.cleaned_data["text"],
            )
        except ValidationError as refusal:
            messages.error(request, " ".join(refusal.messages))


@admin.register(Record)
class RecordAdmin(AuditedAdmin, ReadOnlyAdmin):
    audit_object_type = "record"
    list_display = [
        "case",
        "kind",
        "original_name",
        "size",
        "state",
        "scan_status",
        "uploaded_by",
        "uploaded_at",
    ]
    list_filter = ["state", "scan_status", "kind"]
    list_select_related = ["case", "uploaded_by"]
    search_fields = ["=case__reference", "=sha256"]
    exclude = ["file", "multipart_upload_id"]


@admin.register(PhysicianLinkRequest)
class PhysicianLinkRequestAdmin(AuditedAdmin):
    audit_object_type = "link_request"
    list_display = ["case", "physician", "state", "created_at", "decided_by"]
    list_filter = ["state"]
    list_select_related = ["case", "physician", "decided_by"]
    readonly_fields = ["case", "physician", "state", "created_at", "decided_by", "decided_at"]
    actions = ["approve", "deny"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Approve: give the physician access to the request")
    def approve(self, request: HttpRequest, queryset: QuerySet[PhysicianLinkRequest]) -> None:
        for link in queryset:
            physician_link_decide(link=link, by=request.user, approve=True)  # type: ignore[arg-type]
        messages.success(request, "Approved.")

    @admin.action(description="Deny")
    def deny(self, request: HttpRequest, queryset: QuerySet[PhysicianLinkRequest]) -> None:
        for link in queryset:
            physician_link_decide(link=link, by=request.user, approve=False)  # type: ignore[arg-type]
        messages.success(request, "Denied.")
