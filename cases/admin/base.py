"""What every console admin stands on: the audit of each look at case data, the read-only
permission trio, and the hook through which apps above ``cases`` extend another app's admin.

The console writes the audit log the way the portal does. Coordinators see every case, so
nothing here refuses anything; but each change page, history page and search result of case
data is a view of it, and the audit log must show who looked (DESIGN: every view of a record
or report is written to the audit log). Every console admin of a model that carries a case
inherits ``AuditedAdmin``; ``tests/cases/test_console_audit.py`` walks the admin registry and
fails for one that does not.
"""

from typing import Any

from django.contrib import admin
from django.contrib.admin.options import ActionLocation
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

from ..audit import access_record, access_record_many
from ..models import Case
from .hooks import extensions_for


def case_of(obj: Model, path: str) -> Case | None:
    """The case ``obj`` belongs to, following ``path`` ("" for a case, "report.case")."""
    for name in filter(None, path.split(".")):
        obj = getattr(obj, name, None)  # type: ignore[assignment]
        if obj is None:
            return None
    return obj if isinstance(obj, Case) else None


def object_label(obj: Model) -> str:
    # The id the portal's rows use: a case's reference, a record's or report's uid.
    if isinstance(obj, Case):
        return obj.reference
    return str(getattr(obj, "uid", None) or obj.pk)


class AuditedAdmin(admin.ModelAdmin):
    """One AccessEvent per change or history page, and one per case row a search returns."""

    audit_object_type = ""
    # From an object of this admin's model to its case; "" when the model is Case.
    audit_case_path = "case"

    def audit_label(self, obj: Model) -> str:
        """The id the audit row names; an admin may name a more meaningful one (a record's)."""
        return object_label(obj)

    def audit(self, request: HttpRequest, obj: Model, action: str, *, allowed: bool = True) -> None:
        access_record(
            request=request,
            case=case_of(obj, self.audit_case_path),
            object_type=self.audit_object_type or obj._meta.model_name or "",
            object_id=self.audit_label(obj),
            action=action,
            allowed=allowed,
        )

    def _audited(self, request: HttpRequest, object_id: str, action: str, view: Any) -> Any:
        obj = self.get_object(request, unquote(object_id))
        try:
            response = view()
        except PermissionDenied:
            if obj is not None:
                self.audit(request, obj, action, allowed=False)
            raise
        # A missing object redirects to the index with a message: nothing was seen.
        if obj is not None and response.status_code < 300:
            self.audit(request, obj, action)
        elif obj is not None and request.method == "POST" and response.status_code < 400:
            self.audit(request, obj, "edit")
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        parent = super().change_view
        return self._audited(
            request, object_id, "view", lambda: parent(request, object_id, form_url, extra_context)
        )

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        parent = super().history_view
        return self._audited(
            request, object_id, "history", lambda: parent(request, object_id, extra_context)
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}) or {}
        changelist = changelist.get("cl")
        # A search names a child or a family: each case row it shows is a look at that case.
        # The unsearched list is the work queue and is not counted per row.
        if changelist is not None and changelist.query:
            kind = self.audit_object_type or self.model._meta.model_name or ""
            seen = [
                (case_of(obj, self.audit_case_path), kind, self.audit_label(obj))
                for obj in changelist.result_list
            ]
            access_record_many(request=request, seen=seen, action="search")
        return response


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the services only: the console lists and shows them, nobody adds,
    edits or deletes one by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ExtensibleAdmin(admin.ModelAdmin):
    """An admin that apps above its own add to (``hooks.admin_extend``): inlines, columns,
    actions and joins, read when the admin is used, so no app unregisters another's admin
    to subclass it."""

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[Any]:
        extra = [i for ext in extensions_for(self.model) for i in ext.inlines]
        return [*super().get_inlines(request, obj), *extra]

    def get_list_display(self, request: HttpRequest) -> Any:
        shown = list(super().get_list_display(request))
        for ext in extensions_for(self.model):
            if ext.column is not None and ext.shown(request):
                shown.append(ext.column)
        return shown

    def get_queryset(self, request: HttpRequest) -> Any:
        queryset = super().get_queryset(request)
        related = [r for ext in extensions_for(self.model) for r in ext.select_related]
        return queryset.select_related(*related) if related else queryset

    def get_actions(
        self, request: HttpRequest, action_location: ActionLocation = ActionLocation.CHANGE_LIST
    ) -> dict[str, Any]:
        actions: dict[str, Any] = super().get_actions(request, action_location)
        if self.actions is None:
            return actions
        for ext in extensions_for(self.model):
            if not ext.allowed(request):
                continue
            for func in ext.actions:
                action = self.get_action(func, action_location)
                if action is not None:
                    actions[action.name] = action
        return actions
