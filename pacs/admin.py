"""The console's PACS pages: studies with their PACS status and a "Send to PACS" button
(and bulk action), the transfers, and the automatic-sending switch on the turnaround
policy's page. Coordinators only; every send is audited and put on the case's timeline."""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from accounts.models import Role, User
from cases.audit import access_record
from cases.audit_admin import AuditedAdmin
from cases.models import TurnaroundPolicy
from imaging.models import Study

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


class CoordinatorOnly:
    """Coordinators read these pages; nobody adds, edits or deletes rows by hand."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_coordinator(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_coordinator(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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


class SendToPacs:
    """The "Send to PACS" bulk action and the PACS status column, for any admin of studies:
    this app's own list and the imaging app's study admin."""

    message_user: Any

    @admin.display(description="PACS")
    def pacs_status(self, study: StudyForPacs) -> str:
        transfer = getattr(study, "pacs_transfer", None)
        return transfer.status_label if transfer is not None else "not sent"

    def has_send_to_pacs_permission(self, request: HttpRequest) -> bool:
        return pacs_configured() and is_coordinator(request)

    @admin.action(description="Send the selected studies to the PACS", permissions=["send_to_pacs"])
    def send_to_pacs(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        queued, refused = 0, []
        for study in queryset.select_related("case"):
            queued_now, problem = self._queue(request, study)
            queued += int(queued_now)
            if problem:
                refused.append(f"{study.case.reference}: {problem}")
        self.message_user(request, f"{queued} study(ies) queued for the PACS.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)

    def _queue(self, request: HttpRequest, study: Any) -> tuple[bool, str]:
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


@admin.register(StudyForPacs)
class StudyForPacsAdmin(SendToPacs, CoordinatorOnly, AuditedAdmin):
    audit_object_type = "imaging_study"
    audit_case_path = "case"
    list_display = ["case_reference", "study", "modalities", "images", "pacs_status", "send"]
    list_display_links = None
    list_select_related = ["case", "pacs_transfer"]
    list_filter = [PacsStateFilter]
    search_fields = ["case__reference"]
    actions = ["send_to_pacs"]

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
            queued, problem = self._queue(request, study)
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


# The switch belongs on the turnaround policy's page; the cases app's admin for the policy
# stays as it is and this adds the PACS part to whatever admin class it registered.
_policy_admin = type(admin.site._registry[TurnaroundPolicy])
admin.site.unregister(TurnaroundPolicy)


@admin.register(TurnaroundPolicy)
class TurnaroundPolicyWithPacsAdmin(_policy_admin):  # type: ignore[valid-type,misc]
    inlines = [*_policy_admin.inlines, PacsPolicyInline]


# The imaging app's study admin (the studies of a case) gets the same action and column:
# subclassing whatever it registered keeps its own behaviour as it grows.
_study_admin = type(admin.site._registry[Study])
admin.site.unregister(Study)


@admin.register(Study)
class StudyWithPacsAdmin(SendToPacs, _study_admin):  # type: ignore[valid-type,misc]
    actions = [*(_study_admin.actions or []), "send_to_pacs"]

    def get_list_display(self, request: HttpRequest) -> Any:
        shown = list(super().get_list_display(request))
        return [*shown, "pacs_status"] if pacs_configured() else shown

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # The status column reads the transfer: one join, not a query per row.
        return super().get_queryset(request).select_related("pacs_transfer")
