from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.templatetags.admin_list import result_headers
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.views.main import ChangeList
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.functional import cached_property

from accounts.models import User
from core.models import OutboundEmail

from . import services
from .admin_filters import CachedValuesFilter
from .admin_queue import (
    HIDDEN_BY_DEFAULT,
    QUEUE_ONLY,
    QUEUE_RELATED,
    RISK_LABELS,
    STATUS_LABELS,
    BoundedPaginator,
    child_text,
    clock_annotate,
    console_clock,
    console_status,
    dashboard_numbers,
    due_text,
    last_activity_text,
    payment_text,
    queue_annotate,
    queue_filters,
    queue_rows,
    queue_search,
    records_complete_text,
    requested_specialist_text,
    residence_text,
    specialist_choices,
    specialists_for,
    urgency_rank,
)
from .audit_admin import AuditedAdmin
from .clock import format_pacific
from .lifecycle import allowed_targets
from .models import (
    AccessEvent,
    Case,
    CaseMessage,
    HospitalClosure,
    RecordRequest,
    Status,
    TimelineEvent,
    TurnaroundPolicy,
)

S = Status


# --- the queue's filters --------------------------------------------------------------------


class StatusFilter(admin.SimpleListFilter):
    """The status in the console's words (``admin_queue.CONSOLE_STATUS_LABELS``); the same
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
    """By ``due_at`` range against the one calendar of the request (see cases.admin_queue)."""

    title = "clock"
    parameter_name = "clock"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(RISK_LABELS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        value = self.value()
        if value in RISK_LABELS:
            return queryset.filter(console_clock(request).risk_q(value))
        return queryset


class PaymentFilter(admin.SimpleListFilter):
    title = "payment status"
    parameter_name = "payment"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        from billing.models import CaseBilling

        return [*CaseBilling.State.choices, ("none", "No billing yet")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        value = self.value()
        if value == "none":
            return queryset.filter(billing__isnull=True)
        if value:
            return queryset.filter(billing__state=value)
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


class CaseQueue(ChangeList):
    """The queue's rows: only the columns shown, each row's clock from one calendar per
    request, and the cells prepared once (``queue_rows``) for one template."""

    def get_results(self, request: HttpRequest) -> None:
        self.queryset = self.queryset.only(*QUEUE_ONLY)
        super().get_results(request)
        rows = list(self.result_list)
        clock_annotate(rows, console_clock(request))
        self.result_list = rows
        self._request = request

    @cached_property
    def queue_headers(self) -> list[dict[str, Any]]:
        return list(result_headers(self))

    @cached_property
    def queue_filters(self) -> list[dict[str, Any]]:
        return queue_filters(self)

    @cached_property
    def queue_sorted_count(self) -> int:
        return sum(1 for h in self.queue_headers if h["sortable"] and h["sorted"])

    @cached_property
    def queue_rows(self) -> list[dict[str, Any]]:
        # The admin links a row to the case with the queue's filters kept for "back".
        preserved = self.model_admin.get_preserved_filters(self._request)
        suffix = add_preserved_filters({"preserved_filters": preserved, "opts": self.opts}, "")
        change_url = reverse("admin:cases_case_change", args=[0])
        return queue_rows(self.result_list, change_url, suffix)


# --- the buttons ---------------------------------------------------------------------------


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class HoldForm(forms.Form):
    reason = forms.CharField(
        max_length=300, help_text="What the case is waiting for (the family reads it)."
    )


class RecordRequestForm(forms.Form):
    what = forms.CharField(max_length=300)
    requested_from = forms.ChoiceField(choices=RecordRequest.From.choices)
    provider_name = forms.CharField(max_length=200, required=False)
    provider_contact = forms.CharField(max_length=300, required=False)
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    by_mail = forms.BooleanField(required=False, label="Sent by post (CD or slides)")


class ConsoleMessageForm(forms.Form):
    thread = forms.ChoiceField(choices=CaseMessage.Thread.choices, label="Conversation")
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=5000,
        label="Your reply",
        help_text="The family or physician is emailed that there is a new message (without "
        "its text) and reads it in the portal.",
    )

    def __init__(self, *args: Any, threads: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["thread"].choices = [  # type: ignore[attr-defined]
            (value, label) for value, label in CONSOLE_THREAD_LABELS.items() if value in threads
        ]


# Who is in each conversation, in the coordinator's words (the model's are the family's).
CONSOLE_THREAD_LABELS: dict[str, str] = {
    CaseMessage.Thread.COORDINATOR: "With the family and their physician",
    CaseMessage.Thread.PHYSICIAN_SPECIALIST: "Physician to physician (specialist and physician)",
}


class ReopenForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        label="What needs correcting",
        help_text="The specialist reads it; the family and the physician do not.",
    )


class SpecialistChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.get_full_name() or obj.email} — {obj.load} open case(s)"


def specialist_options(case: Case, *, exclude: int | None = None) -> tuple[QuerySet[User], str]:
    """The specialists to choose from, and a warning when none of them covers the case's
    specialty: then every other specialist accepting cases is offered (the coordinator may
    know one who can review it), rather than an empty list that explains nothing."""
    covering = specialists_for(case).exclude(pk=exclude or 0)
    if covering.exists():
        return covering, ""
    others = specialists_for(case, any_specialty=True).exclude(pk=exclude or 0)
    specialty = case.specialty.name if case.specialty is not None else "this specialty"
    if not others.exists():
        return others, (
            "No specialist is accepting cases at the moment, in any specialty. Ask a "
            "specialist to accept cases again (their profile), or put the case on hold."
        )
    return others, (
        f"No specialist accepting cases covers {specialty}. The list shows the specialists "
        "of other specialties: choose one only if you know they can review this case."
    )


class ProposalForm(forms.Form):
    specialist = SpecialistChoice(queryset=User.objects.none())
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text="The family reads it."
    )
    review_extension = forms.BooleanField(
        required=False, label="Imaging or pathology review needed (more business days)"
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices, self.warning = specialist_options(case)
        self.fields["specialist"].queryset = choices  # type: ignore[attr-defined]


class ReassignForm(forms.Form):
    specialist = SpecialistChoice(queryset=User.objects.none(), label="New specialist")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=300,
        help_text="For the timeline (the family is told only that the specialist changed).",
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices, self.warning = specialist_options(case, exclude=case.assigned_specialist_id)
        self.fields["specialist"].queryset = choices  # type: ignore[attr-defined]


def _records_complete_open(case: Case) -> bool:
    return case.status == S.AWAITING_RECORDS or (
        case.records_complete_at is None
        and case.status
        in (
            S.IN_TRIAGE,
            S.AWAITING_FAMILY_CONFIRMATION,
            S.PAYMENT_NEEDED,
            S.ASSIGNED,
            S.IN_REVIEW,
            S.ON_HOLD,
        )
    )


@dataclass(frozen=True)
class Move:
    """One console button: when it shows, its input form, and the service it calls."""

    action: str
    label: str
    form: type[forms.Form] | None = None

    def available(self, case: Case) -> bool:
        targets = allowed_targets(case)
        match self.action:
            case "take":
                return case.status == S.SUBMITTED and S.IN_TRIAGE in targets
            case "records_complete":
                return _records_complete_open(case)
            case "request_records":
                return S.AWAITING_RECORDS in targets or case.status == S.AWAITING_RECORDS
            case "propose":
                return S.AWAITING_FAMILY_CONFIRMATION in targets
            case "decline":
                return S.DECLINED in targets
            case "hold":
                return S.ON_HOLD in targets
            case "reassign":
                return case.status in (S.ASSIGNED, S.IN_REVIEW)
            case "resume":
                return case.status == S.ON_HOLD and bool(targets)
            case "reopen_report":
                return case.status == S.DELIVERED and _report_reopenable(case)
            case "close":
                return case.status == S.DELIVERED and S.CLOSED in targets
        return False

    def run(self, case: Case, by: User, data: dict[str, Any]) -> str:
        """Call the service (the same one the portal and the tasks call); the message."""
        match self.action:
            case "take":
                services.triage_take(case=case, by=by)
                return "Taken into review."
            case "records_complete":
                services.records_complete(case=case, by=by)
                return "All records marked as received."
            case "request_records":
                services.record_request_create(case=case, by=by, **data)
                return "Record requested; the family has been emailed."
            case "propose":
                services.proposal_make(case=case, by=by, **data)
                return "Proposal sent to the family."
            case "decline":
                services.case_decline(case=case, by=by, reason=data["reason"])
                return "Declined; the family has been emailed."
            case "hold":
                services.hold_start(case=case, by=by, reason=data["reason"])
                return "On hold; the family has been emailed."
            case "resume":
                services.hold_end(case=case, by=by)
                return "Resumed."
            case "reassign":
                services.specialist_reassign(
                    case=case, by=by, specialist=data["specialist"], reason=data["reason"]
                )
                return "Given to the new specialist, who must accept it; the family was told."
            case "reopen_report":
                from reports import services as reports

                report = reports.current_report(case)
                if report is None:
                    raise reports.ReportRefused("There is no delivered report to reopen.")
                draft = reports.report_reopen(report=report, by=by, note=data["note"])
                return f"Reopened: the specialist is asked to write version {draft.version}."
            case "close":
                from reports import services as reports

                reports.case_close(case=case, by=by)
                return "Case closed."
        raise ValueError(self.action)


MOVES: dict[str, Move] = {
    move.action: move
    for move in (
        Move("take", "Take into review"),
        Move("request_records", "Request a record…", RecordRequestForm),
        Move("records_complete", "All records received"),
        Move("propose", "Propose a specialist…", ProposalForm),
        Move("decline", "Decline…", ReasonForm),
        Move("hold", "Put on hold…", HoldForm),
        Move("resume", "Resume"),
        Move("reassign", "Give to another specialist…", ReassignForm),
        Move("reopen_report", "Reopen for correction…", ReopenForm),
        Move("close", "Close case"),
    )
}


def _report_reopenable(case: Case) -> bool:
    """A delivered report and no correction already being written."""
    from reports.models import Report

    reports = Report.objects.filter(case=case, kind=Report.Kind.REPORT)
    return (
        reports.filter(delivered_at__isnull=False).exists()
        and not reports.filter(delivered_at__isnull=True).exists()
    )


def _money(billing: Any) -> dict[str, str]:
    from billing.admin import dollars

    if billing is None:
        return {}
    fee = "not fixed yet" if billing.fee_cents is None else dollars(billing.fee_cents)
    return {
        "fee": "no charge" if billing.fee_cents == 0 else fee,
        "paid": dollars(billing.paid_cents),
        "refunded": dollars(billing.refunded_cents),
    }


def _unread(case: Case, user: Any) -> int:
    from .messaging import unread_count

    return unread_count(case, user)


# The audit log's actions as the timeline says them to the coordinator.
ACCESS_WORDS = {
    "view": "Viewed",
    "download": "Downloaded",
    "history": "Opened the history of",
    "search": "Found in a search:",
    "edit": "Edited",
    "messages_view": "Read the messages of",
    "message_post": "Posted a message on",
}


def _access_text(access: AccessEvent) -> str:
    verb = ACCESS_WORDS.get(access.action, access.action.replace("_", " ").capitalize())
    what = access.object_type.replace("_", " ")
    text = f"{verb} {what}"
    return text if access.outcome == AccessEvent.Outcome.ALLOWED else f"Refused: {text}"


def _name(user: Any) -> str:
    if user is None:
        return "—"
    return str(user.get_full_name() or user.email)


def case_timeline(
    case: Case, limit: int = 200, *, status_only: bool = False
) -> list[dict[str, Any]]:
    """Status changes and notes, messages, emails sent and accesses, newest first; with
    ``status_only``, the status changes alone (the path of the case, without the views and
    edits around it)."""
    rows: list[dict[str, Any]] = []
    events = TimelineEvent.objects.filter(case=case)
    if status_only:
        events = events.filter(kind=TimelineEvent.Kind.STATUS)
    for event in events.select_related("actor").order_by("-at", "-pk")[:limit]:
        if event.kind == TimelineEvent.Kind.STATUS:
            what = (
                f"{console_status(event.from_status) if event.from_status else '—'} → "
                f"{console_status(event.to_status)}"
            )
        else:
            what = event.get_kind_display()
        rows.append(
            {
                "at": event.at,
                "kind": "status" if event.kind == "status" else event.kind,
                "who": _name(event.actor),
                "what": what,
                "note": event.note,
            }
        )
    if status_only:
        return rows
    for message in (
        CaseMessage.objects.filter(case=case)
        .select_related("author")
        .order_by("-created_at", "-pk")[:limit]
    ):
        rows.append(
            {
                "at": message.created_at,
                "kind": "message",
                "who": _name(message.author),
                "what": f"Message ({message.get_thread_display()})",
                "note": message.body[:300],
            }
        )
    for email in OutboundEmail.objects.filter(case=case).order_by("-created_at", "-pk")[:limit]:
        rows.append(
            {
                "at": email.sent_at or email.created_at,
                "kind": "email",
                "who": email.to,
                "what": f"Email {email.kind} ({email.get_state_display()})",
                "note": email.subject,
            }
        )
    for access in (
        AccessEvent.objects.filter(case=case).select_related("user").order_by("-at", "-pk")[:limit]
    ):
        rows.append(
            {
                "at": access.at,
                "kind": "access",
                "who": _name(access.user),
                "what": _access_text(access),
                "note": access.object_id,
            }
        )
    rows.sort(key=lambda row: row["at"], reverse=True)
    return rows[:limit]


# --- the case admin -------------------------------------------------------------------------


@admin.register(Case)
class CaseAdmin(AuditedAdmin):
    """The coordinator's queue and case page. Status is never edited here: every button
    calls the same ``cases.services`` function as the portal and the tasks."""

    audit_object_type = "case"
    audit_case_path = ""

    list_display = [
        "reference",
        "child",
        "residence",
        "specialty",
        "status",
        "requested_specialist",
        "assigned_specialist",
        "records_complete",
        "payment",
        "due",
        "last_activity",
    ]
    list_filter = [
        ShowFilter,
        StatusFilter,
        "specialty",
        AssignedSpecialistFilter,
        ClockRiskFilter,
        PaymentFilter,
        UnreadFilter,
    ]
    list_select_related = QUEUE_RELATED
    search_fields = [
        "=reference",
        "^intake__child_legal_first_name",
        "^intake__child_legal_last_name",
        "=family__email",
        "=physician_email",
    ]
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

    @admin.display(description="Child")
    def child(self, case: Case) -> str:
        return child_text(case, timezone.localdate())

    @admin.display(description="State")
    def residence(self, case: Case) -> str:
        return residence_text(case)

    @admin.display(description="Requested specialist")
    def requested_specialist(self, case: Case) -> str:
        return requested_specialist_text(case)

    @admin.display(description="Records complete", ordering="records_complete_at")
    def records_complete(self, case: Case) -> str:
        return records_complete_text(case)

    @admin.display(description="Payment")
    def payment(self, case: Case) -> str:
        return payment_text(case)

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

    def _case_console(self, request: HttpRequest, case: Case) -> dict[str, Any]:
        from intake.models import Intake
        from reports.admin import report_panel

        intake = Intake.objects.filter(case=case).select_related("residence").first()
        records = [
            {
                "record": record,
                "url": reverse("record_download", args=[case.reference, record.uid])
                if record.downloadable_by(request.user)
                else "",
            }
            for record in case.records.all()
        ]
        can_act = self.has_change_permission(request, case)
        status_only = request.GET.get("timeline") == "status"
        moves = [
            {"move": move, "url": reverse("admin:cases_case_transition", args=[case.pk, name])}
            for name, move in MOVES.items()
            if can_act and move.available(case)
        ]
        return {
            "intake": intake,
            "questions": list(case.questions.all()),
            "records": records,
            "record_requests": list(case.record_requests.all()),
            "billing": getattr(case, "billing", None),
            "money": _money(getattr(case, "billing", None)),
            "timeline": case_timeline(case, status_only=status_only),
            "status_only": status_only,
            "report_panel": report_panel(case),
            "moves": moves,
            "can_act": can_act,
            "status": console_status(case.status),
            "messages_url": reverse("admin:cases_case_messages", args=[case.pk]),
            "unread": _unread(case, request.user),
            "due": format_pacific(case.due_at) if case.due_at else "",
            "received_url": reverse(
                "admin:cases_case_transition", args=[case.pk, "record_received"]
            ),
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
        move = MOVES.get(action)
        if move is None:
            raise PermissionDenied("No such action.")
        if move.form is None and request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        form: forms.Form | None = None
        if move.form is not None:
            needs_case = move.form in (ProposalForm, ReassignForm)
            kwargs: dict[str, Any] = {"case": case} if needs_case else {}
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
        from . import messaging

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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


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


@admin.register(HospitalClosure)
class HospitalClosureAdmin(admin.ModelAdmin):
    list_display = ["date", "reason"]
    date_hierarchy = "date"


@admin.register(TurnaroundPolicy)
class TurnaroundPolicyAdmin(admin.ModelAdmin):
    list_display = ["business_days", "review_extension_days", "at_risk_days"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Asked on every console page (the sidebar's "add" links): a policy in the clock's
        # cache exists, so only a cache miss asks the database.
        from .clock import POLICY_KEY

        return cache.get(POLICY_KEY) is None and not TurnaroundPolicy.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
