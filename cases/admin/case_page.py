"""The console's case admin: the queue's configuration and the case page, with its
buttons, messages and dashboard views.

Status is never edited here: every button calls the same ``cases.services`` function as the
portal and the tasks (``moves``). The page's modules from other apps come through
``hooks.case_panel``; the record requests are this app's own panel.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.text import Truncator

from accounts.models import User

from .. import messaging, services
from ..clock import format_pacific
from ..messaging import with_unread_for
from ..models import Case, CaseMessage, RecordRequest
from ..risk import console_clock
from . import hooks
from .base import AuditedAdmin
from .dashboard import dashboard_numbers
from .filters import (
    AssignedSpecialistFilter,
    ClockRiskFilter,
    ShowFilter,
    SpecialtyFilter,
    StatusFilter,
    UnreadFilter,
    specialty_choices,
)
from .labels import console_status
from .moves import CONSOLE_THREAD_LABELS, ConsoleMessageForm, all_moves
from .queue import (
    OWN_COLUMNS,
    QUEUE_RELATED,
    BoundedPaginator,
    CaseQueue,
    column_order,
    due_text,
    last_activity_text,
    queue_annotate,
    queue_related,
    queue_search,
    records_complete_text,
    urgency_rank,
)
from .rows import folded, unfold
from .timeline import case_timeline


def _column_display(column: hooks.QueueColumn) -> Any:
    """A registered column as the changelist takes it: a callable with a label, named by
    its key (the header's and cells' ``column-…`` and ``field-…`` classes)."""

    @admin.display(description=column.label)
    def cell(case: Case) -> str:
        return column.cell(case, timezone.localdate())

    cell.__name__ = column.key
    return cell


# The people and specialty the case page's read-only fields name, joined to the case.
CASE_PAGE_RELATED = (
    "created_by",
    "assigned_specialist",
    "proposed_specialist",
    "specialty",
    "family",
)


class KnownFamilyWidget(ForeignKeyRawIdWidget):
    """The family's raw-id box, labelled from the family joined to the case (``known``)
    rather than read again by the widget."""

    known: Any = None

    def label_and_url_for_value(self, value: Any) -> tuple[str, str]:
        known = self.known
        if known is None or str(known.pk) != str(value):
            return super().label_and_url_for_value(value)
        url = reverse(f"{self.admin_site.name}:accounts_user_change", args=(known.pk,))
        return Truncator(known).words(14), url


def _record_requests(request: HttpRequest, case: Case) -> dict[str, Any]:
    rows = unfold(case, "console_record_requests", RecordRequest, case.record_requests.all)
    return {
        "rows": rows,
        "received_url": reverse("admin:cases_case_transition", args=[case.pk, "record_received"]),
    }


def _record_request_rows() -> dict[str, Any]:
    # Read with the case (rows.folded): what the template shows of each request.
    return folded(
        "console_record_requests",
        RecordRequest.objects.filter(case=OuterRef("pk")).order_by("created_at", "pk"),
        "id",
        "case_id",
        "what",
        "requested_from",
        "provider_name",
        "provider_contact",
        "due_date",
        "by_mail",
        "received_at",
        "created_at",
    )


hooks.case_panel(
    hooks.CasePanel(
        key="record_requests",
        order=30,
        template="admin/cases/case/_record_requests.html",
        context=_record_requests,
        annotations=_record_request_rows,
    )
)


@admin.register(Case)
class CaseAdmin(AuditedAdmin):
    """The coordinator's queue and case page. Status is never edited here: every button
    calls the same ``cases.services`` function as the portal and the tasks."""

    audit_object_type = "case"
    audit_case_path = ""

    # The queue's own columns and filters; the other apps' are added per request
    # (``get_list_display``, ``get_list_filter``, from ``hooks``).
    list_display = list(OWN_COLUMNS)
    list_filter = [
        ShowFilter,
        StatusFilter,
        ("specialty", SpecialtyFilter),
        AssignedSpecialistFilter,
        ClockRiskFilter,
        UnreadFilter,
    ]
    list_select_related = QUEUE_RELATED
    # What the box matches (and what makes the admin show it); ``queue_search`` does the
    # matching, with the kinds of match other apps register (the child's name).
    search_fields = ["=reference", "=family__email", "=physician_email"]
    # Without a column chosen, ``get_ordering`` puts the most urgent first (overdue, at
    # risk, then waiting for triage, records or confirmation); then the earliest due date
    # (none last) and the oldest submitted. "pk" last keeps the order total without the
    # "-pk" the changelist would add.
    ordering = [F("due_at").asc(nulls_last=True), F("submitted_at").asc(nulls_last=True), "pk"]
    show_full_result_count = False
    # "Show counts" would count every filter choice over the whole table.
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    # Status is never edited by hand: it moves only through the buttons (cases.services).
    readonly_fields = [
        "reference",
        "status_text",
        "status_before_hold",
        "created_at",
        "submitted_at",
        "created_by",
        "assigned_specialist",
        "proposed_specialist",
        "records_complete_at",
        "due_at",
    ]
    fields = [*readonly_fields, "family", "physician_email", "specialty"]
    raw_id_fields = ["family"]
    change_form_template = "admin/cases/case/change_form.html"
    change_list_template = "admin/cases/case/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "family":
            kwargs["widget"] = KnownFamilyWidget(
                db_field.remote_field, self.admin_site, using=kwargs.get("using")
            )
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "specialty" and field is not None:
            # The specialties the queue's filter keeps in the cache, not read again here.
            blank = [("", field.empty_label)] if field.empty_label is not None else []
            field.choices = [*blank, *specialty_choices(db_field, request, self)]
        return field

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        family = form.base_fields.get("family")
        if obj is not None and family is not None:
            family.widget.known = obj.family
        return form

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    # The queue.

    def get_queryset(self, request: HttpRequest) -> QuerySet[Case]:
        return queue_annotate(super().get_queryset(request), request.user)

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        rank = urgency_rank(console_clock(request)).asc()
        return [rank, *self.ordering]

    @admin.display(description="Status", ordering="status")
    def status_text(self, case: Case) -> str:
        return console_status(case.status)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # The queue needs the width: without the navigation sidebar its eleven columns fit
        # a 1280 px screen beside the filters (the sidebar is on every other console page).
        extra = {"is_nav_sidebar_enabled": False, **(extra_context or {})}
        return super().changelist_view(request, extra)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return CaseQueue

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        return [c if isinstance(c, str) else _column_display(c) for c in column_order()]

    def get_list_select_related(self, request: HttpRequest) -> list[str]:
        return queue_related()

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        shown: list[Any] = list(self.list_filter)
        for entry in hooks.filters():
            names = [
                f[0] if isinstance(f, tuple) else getattr(f, "parameter_name", f) for f in shown
            ]
            at = names.index(entry.after) + 1 if entry.after in names else len(shown)
            shown.insert(at, entry.filter)
        return shown

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Case], search_term: str
    ) -> tuple[QuerySet[Case], bool]:
        # ``search_fields`` above say what the box matches (and make the admin show it);
        # queue_search looks each kind of match up on its own table's index instead of
        # ORing UPPER(...) LIKE over the joined tables.
        return queue_search(queryset, search_term), False

    def get_paginator(
        self,
        request: HttpRequest,
        queryset: Any,
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
    ) -> BoundedPaginator:
        raw = request.GET.get("p", "1")
        page = int(raw) if raw.isdigit() else 1
        return BoundedPaginator(
            queryset, per_page, orphans, allow_empty_first_page, current_page=page
        )

    # The columns' labels and sort keys; the rows themselves are built by ``CaseQueue``
    # through the same functions.

    @admin.display(description="Records complete", ordering="records_complete_at")
    def records_complete(self, case: Case) -> str:
        return records_complete_text(case)

    @admin.display(description="Due (business days left)", ordering="due_at")
    def due(self, case: Case) -> str:
        return due_text(case)

    @admin.display(description="Last activity", ordering="last_event_at")
    def last_activity(self, case: Case) -> str:
        return last_activity_text(case)

    # The case page.

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        case = self.get_object(request, object_id)
        extra: dict[str, Any] = dict(extra_context or {})
        if case is not None:
            extra["console"] = self._case_console(request, case)
        return super().change_view(request, object_id, form_url, extra)

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Case | None:
        # The page, its audit row and the admin's change form each ask for the case: read
        # it once per request, with what the panels read through it.
        found: dict[Any, Case | None] = request.__dict__.setdefault("_console_cases", {})
        key = (object_id, from_field)
        if key in found:
            return found[key]
        if from_field is not None:
            found[key] = super().get_object(request, object_id, from_field)
            return found[key]
        related = [*CASE_PAGE_RELATED, *(r for p in hooks.panels() for r in p.select_related)]
        try:
            pk = Case._meta.pk.to_python(object_id)
            # The unread count in the same query (a subquery), not one of its own.
            cases = with_unread_for(self.get_queryset(request), request.user)  # type: ignore[arg-type]
            for panel in hooks.panels():
                cases = cases.annotate(**panel.annotations())
            for move in all_moves().values():
                cases = cases.annotate(**move.annotations())
            found[key] = cases.select_related(*related).get(pk=pk)
        except (Case.DoesNotExist, ValidationError, ValueError):
            found[key] = None
        return found[key]

    def _case_console(self, request: HttpRequest, case: Case) -> dict[str, Any]:
        can_act = self.has_change_permission(request, case)
        status_only = request.GET.get("timeline") == "status"
        moves = [
            {"move": move, "url": reverse("admin:cases_case_transition", args=[case.pk, name])}
            for name, move in all_moves().items()
            if can_act and move.available(case)
        ]
        # The modules other apps contribute (the intake, records, payment, report, studies),
        # and this app's record requests, in their order.
        panels = [
            {"key": panel.key, "template": panel.template, "data": panel.context(request, case)}
            for panel in hooks.panels()
        ]
        return {
            "panels": panels,
            # Each panel's data by its key, for a reader that wants one (tests, templates).
            "panel": {item["key"]: item["data"] for item in panels},
            "timeline": case_timeline(case, status_only=status_only),
            "status_only": status_only,
            "moves": moves,
            "can_act": can_act,
            "status": console_status(case.status),
            "messages_url": reverse("admin:cases_case_messages", args=[case.pk]),
            "unread": case.unread_messages,  # type: ignore[attr-defined]
            "due": format_pacific(case.due_at) if case.due_at else "",
        }

    # The buttons and the dashboard.

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "dashboard/",
                self.admin_site.admin_view(self.dashboard_view),
                name="cases_case_dashboard",
            ),
            path(
                "<int:object_id>/messages/",
                self.admin_site.admin_view(self.messages_view),
                name="cases_case_messages",
            ),
            path(
                "<int:object_id>/transition/<slug:action>/",
                self.admin_site.admin_view(self.transition_view),
                name="cases_case_transition",
            ),
        ]
        return own + super().get_urls()

    def transition_view(self, request: HttpRequest, object_id: int, action: str) -> HttpResponse:
        case = get_object_or_404(Case, pk=object_id)
        if not self.has_change_permission(request, case):
            raise PermissionDenied
        back = reverse("admin:cases_case_change", args=[case.pk])
        by: User = request.user  # type: ignore[assignment]
        if action == "record_received":
            return self._record_received(request, case, by, back)
        move = all_moves().get(action)
        if move is None:
            raise PermissionDenied("No such action.")
        if move.form is None and request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        form: forms.Form | None = None
        if move.form is not None:
            kwargs: dict[str, Any] = {"case": case} if move.form_needs_case else {}
            form = move.form(request.POST if request.method == "POST" else None, **kwargs)
        if request.method == "POST" and (form is None or form.is_valid()):
            data = dict(form.cleaned_data) if form is not None else {}
            try:
                done = move.run(case, by, data)
            except ValidationError as refused:
                self.message_user(request, " ".join(refused.messages), messages.ERROR)
            except PermissionDenied as denied:
                self.message_user(request, str(denied) or "Not allowed.", messages.ERROR)
            else:
                self.message_user(request, f"{case.reference}: {done}", messages.SUCCESS)
            return HttpResponseRedirect(back)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{move.label.rstrip('…')} — {case.reference}",
            "opts": self.model._meta,
            "original": case,
            "case": case,
            "move": move,
            "status": console_status(case.status),
            "form": form,
            "back": back,
        }
        return render(
            request,
            "admin/cases/case/transition.html",
            context,
            status=400 if form is not None and form.errors else 200,
        )

    def _record_received(
        self, request: HttpRequest, case: Case, by: User, back: str
    ) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        wanted = request.POST.get("request_id", "")
        record_request = get_object_or_404(
            RecordRequest, case=case, pk=int(wanted) if wanted.isdigit() else 0
        )
        try:
            services.record_request_received(request=record_request, by=by)
        except (ValidationError, PermissionDenied) as refused:
            text = (
                " ".join(refused.messages) if isinstance(refused, ValidationError) else str(refused)
            )
            self.message_user(request, text or "Not allowed.", messages.ERROR)
        else:
            self.message_user(request, f"Received: {record_request.what}", messages.SUCCESS)
        return HttpResponseRedirect(back)

    def messages_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The case's conversations, read and answered in the console. Each view and each
        reply is audited as the portal's messages page does; replies go through
        ``messaging.message_post``, which notifies the family or physicians by email."""
        case = get_object_or_404(Case, pk=object_id)
        if not self.has_view_permission(request, case):
            raise PermissionDenied
        by: User = request.user  # type: ignore[assignment]
        posting = request.method == "POST"
        if posting and not self.has_change_permission(request, case):
            raise PermissionDenied
        self.audit(request, case, "message_post" if posting else "messages_view")
        threads = messaging.threads_for(by, case)
        postable = [t for t in threads if messaging.can_post(by, case, t)]
        here = reverse("admin:cases_case_messages", args=[case.pk])
        form = ConsoleMessageForm(
            request.POST if posting else None,
            threads=postable,
            initial={"thread": CaseMessage.Thread.COORDINATOR},
        )
        if posting and form.is_valid():
            try:
                messaging.message_post(
                    case=case,
                    by=by,
                    body=form.cleaned_data["body"],
                    thread=form.cleaned_data["thread"],
                )
            except ValidationError as refused:
                form.add_error("body", refused)
            except PermissionDenied as refused:
                form.add_error(None, str(refused))
            else:
                self.message_user(request, "Reply sent.", messages.SUCCESS)
                return HttpResponseRedirect(here)
        seen_at = timezone.now()  # not later: a message posted meanwhile stays unread
        conversations = [
            {
                "thread": thread,
                "label": CONSOLE_THREAD_LABELS.get(thread, thread),
                "messages": list(
                    CaseMessage.objects.filter(case=case, thread=thread)
                    .select_related("author")
                    .order_by("created_at", "pk")
                ),
            }
            for thread in threads
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Messages — {case.reference}",
            "opts": self.model._meta,
            "original": case,
            "case": case,
            "conversations": conversations,
            "form": form if postable else None,
            "back": reverse("admin:cases_case_change", args=[case.pk]),
        }
        response = render(
            request,
            "admin/cases/case/messages.html",
            context,
            status=400 if form.errors else 200,
        )
        if not posting:
            messaging.messages_mark_read(case=case, user=by, at=seen_at)
        return response

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Case dashboard",
            "opts": self.model._meta,
            "numbers": dashboard_numbers(console_clock(request)),
            "changelist": reverse("admin:cases_case_changelist"),
        }
        return render(request, "admin/cases/case/dashboard.html", context)
