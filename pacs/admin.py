"""The console's PACS pages: studies with their PACS status and a "Send to PACS" button
(and bulk action), the transfers, and the automatic-sending switch on the turnaround
policy's page. Coordinators only; every send is audited and put on the case's timeline.

The switch and the imaging study admin's column and action are added through the console's
hook (``pacs.console``), not by replacing the admins those apps registered."""

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from accounts.models import Role, User
from cases.admin.base import AuditedAdmin, ReadOnlyAdmin
from cases.audit import access_record

from .models import PacsPolicy, PacsTransfer, StudyForPacs
from .services import study_refusal, transfer_queue
from .stow import pacs_configured


def is_coordinator(request: HttpRequest) -> bool:
    user = request.user
    return bool(
        user.is_active
        and user.is_staff
        and (getattr(user, "role", "") == Role.COORDINATOR or user.is_superuser)
    )


class CoordinatorOnly(ReadOnlyAdmin):
    """Coordinators read these pages; nobody adds, edits or deletes rows by hand."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_coordinator(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_coordinator(request)


class PacsStateFilter(admin.SimpleListFilter):
    title = "PACS"
    parameter_name = "pacs"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("none", "Not sent"), *PacsTransfer.State.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "none":
            return queryset.filter(pacs_transfer__isnull=True)
        if self.value() in PacsTransfer.State.values:
            return queryset.filter(pacs_transfer__state=self.value())
        return queryset


@admin.display(description="PACS")
def pacs_status(study: Any) -> str:
    """The PACS column, here and on the imaging app's study list."""
    transfer = getattr(study, "pacs_transfer", None)
    return transfer.status_label if transfer is not None else "not sent"


def may_send_to_pacs(request: HttpRequest) -> bool:
    return pacs_configured() and is_coordinator(request)


def queue_for_pacs(request: HttpRequest, study: Any) -> tuple[bool, str]:
    """Queue one study for the coordinator; audited whether or not it was refused."""
    by: User = request.user  # type: ignore[assignment]
    try:
        _, queued = transfer_queue(study=study, by=by)
    except ValidationError as refused:
        outcome: tuple[bool, str] = (False, " ".join(refused.messages))
        allowed = False
    else:
        outcome = (queued, "" if queued else "already queued or sent.")
        allowed = True
    access_record(
        request=request,
        case=study.case,
        object_type="imaging_study",
        object_id=study.pk,
        action="pacs_send",
        allowed=allowed,
    )
    return outcome


@admin.action(description="Send the selected studies to the PACS")
def send_to_pacs(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    """The bulk action, on this app's list and the imaging app's study list."""
    if not may_send_to_pacs(request):
        raise PermissionDenied
    queued, refused = 0, []
    for study in queryset.select_related("case"):
        queued_now, problem = queue_for_pacs(request, study)
        queued += int(queued_now)
        if problem:
            refused.append(f"{study.case.reference}: {problem}")
    modeladmin.message_user(request, f"{queued} study(ies) queued for the PACS.", messages.SUCCESS)
    for line in refused:
        modeladmin.message_user(request, line, messages.WARNING)


@admin.register(StudyForPacs)
class StudyForPacsAdmin(CoordinatorOnly, AuditedAdmin):
    audit_object_type = "imaging_study"
    audit_case_path = "case"
    list_display = ["case_reference", "study", "modalities", "images", pacs_status, "send"]
    list_display_links = None
    list_select_related = ["case", "pacs_transfer"]
    list_filter = [PacsStateFilter]
    search_fields = ["case__reference"]
    actions = [send_to_pacs]

    def get_actions(
        self, request: HttpRequest, action_location: ActionLocation = ActionLocation.CHANGE_LIST
    ) -> dict[str, Any]:
        actions: dict[str, Any] = super().get_actions(request, action_location)
        if not may_send_to_pacs(request):
            actions.pop("send_to_pacs", None)
        return actions

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).with_counts()  # type: ignore[attr-defined]

    @admin.display(description="case", ordering="case__reference")
    def case_reference(self, study: StudyForPacs) -> str:
        url = reverse("admin:cases_case_change", args=[study.case_id])
        return format_html('<a href="{}">{}</a>', url, study.case.reference)

    @admin.display(description="study")
    def study(self, study: StudyForPacs) -> str:
        return study.description or "—"

    @admin.display(description="images")
    def images(self, study: StudyForPacs) -> int:
        return study.instance_count

    @admin.display(description="")
    def send(self, study: StudyForPacs) -> str:
        if not pacs_configured():
            return ""
        url = reverse("admin:pacs_studyforpacs_send", args=[study.pk])
        return format_html('<a class="button" href="{}">Send to PACS…</a>', url)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {**(extra_context or {}), "pacs_configured": pacs_configured()}
        return super().changelist_view(request, extra)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<int:study_id>/send/",
                self.admin_site.admin_view(self.send_view),
                name="pacs_studyforpacs_send",
            ),
        ]
        return own + super().get_urls()

    def send_view(self, request: HttpRequest, study_id: int) -> HttpResponse:
        """GET: confirm which study of which case goes to the PACS; POST: queue it."""
        if not is_coordinator(request):
            raise PermissionDenied
        study = get_object_or_404(StudyForPacs.objects.select_related("case"), pk=study_id)
        back = (
            reverse("admin:pacs_studyforpacs_changelist")
            + "?"
            + urlencode({"q": study.case.reference})
        )
        if request.method == "POST":
            queued, problem = queue_for_pacs(request, study)
            if queued:
                self.message_user(
                    request, f"{study.case.reference}: study queued for the PACS.", messages.SUCCESS
                )
            else:
                self.message_user(request, f"{study.case.reference}: {problem}", messages.WARNING)
            return HttpResponseRedirect(back)
        if request.method != "GET":
            return HttpResponse(status=405, headers={"Allow": "GET, POST"})
        access_record(
            request=request,
            case=study.case,
            object_type="imaging_study",
            object_id=study.pk,
            action="view",
            allowed=True,
        )
        refusal = "No PACS is configured." if not pacs_configured() else study_refusal(study)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Send to PACS — {study.case.reference}",
            "opts": self.model._meta,
            "study": study,
            "transfer": PacsTransfer.objects.filter(study=study).first(),
            "refusal": refusal,
            "back": back,
        }
        return render(request, "admin/pacs/studyforpacs/send.html", context)


@admin.register(PacsTransfer)
class PacsTransferAdmin(CoordinatorOnly, AuditedAdmin):
    audit_object_type = "pacs_transfer"
    audit_case_path = "study.case"
    list_display = ["case_reference", "study", "state", "status", "attempts", "updated_at"]
    list_select_related = ["study__case"]
    list_filter = ["state"]
    search_fields = ["study__case__reference"]
    readonly_fields = ["study", "state", "sent", "total", "reason", "attempts", "queued_by"]

    @admin.display(description="case", ordering="study__case__reference")
    def case_reference(self, transfer: PacsTransfer) -> str:
        return transfer.study.case.reference

    @admin.display(description="status")
    def status(self, transfer: PacsTransfer) -> str:
        return transfer.status_label


class PacsPolicyInline(admin.StackedInline):
    model = PacsPolicy
    can_delete = False
    max_num = 1
    min_num = 1

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_coordinator(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_coordinator(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_coordinator(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
