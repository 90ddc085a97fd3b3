"""The specialist workspace: My cases, the case page, and accepting, declining or asking
for more information.

Guarantees:
- Every view under ``<reference>`` fetches the case through ``cases.access.case_for_user``
  first (an AccessEvent either way). Family and physicians, who may see the case in the
  portal, get the same 404 here, and the refusal is written to the audit log too.
  Coordinators may read the case page; only the assigned specialist acts.
- My cases costs the same number of queries however many cases there are: one query for
  the cases (child, specialty, open draft, unanswered follow-ups and the latest move to
  "assigned" joined or annotated) and one calendar and policy for the request
  (``cases.risk.console_clock``).
- A finished case with work waiting for the specialist (a draft reopened for a correction,
  an addendum, an unanswered follow-up question) is listed under "Needs your action"
  however old it is.
- Actions are POST only and call the lifecycle services; a form with an error comes back
  with the message next to the field and the text kept.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import BigIntegerField, Exists, F, OuterRef, Q, Subquery, Value
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from accounts.models import Role
from accounts.typing import AuthedRequest
from cases import services as case_services
from cases.access import case_for_user, cases_visible_to, may_act, may_do_now
from cases.actions import allowed
from cases.audit import access_record
from cases.clock_alerts import acceptance_deadline
from cases.models import AccessEvent, Case, CaseHold, Status, TimelineEvent
from cases.risk import RISK_LABELS, ConsoleClock, console_clock
from cases.rows import case_rows, read_with_case
from cases.web import refusals_shown
from intake.models import Record
from intake.panels import QUESTIONS

from .forms import ReasonForm
from .models import FollowUpQuestion, Report

S = Status
IN_REVIEW_HELD_FROM = (S.ASSIGNED, S.IN_REVIEW)
DONE_STATES = (S.REPORT_FINAL, S.DELIVERED, S.CLOSED)
# "Recent" finished cases on My cases: enough to find last month's work, never the archive.
DONE_RECENT = timedelta(days=90)
DONE_LIMIT = 20
# Finished cases read beyond those shown, for the ones listed under "needs action" instead.
WAITING_MARGIN = 10
RISK_BADGES = {
    "on_track": "text-bg-success",
    "at_risk": "text-bg-warning",
    "overdue": "text-bg-danger",
}


# --- the gate, then the role ---------------------------------------------------------------


def refuse(request: AuthedRequest, case: Case, *, action: str, object_type: str) -> Http404:
    """The 404 for someone the gate let see the case but who may not use this view, written
    to the audit log as a refusal."""
    access_record(
        request=request,
        case=case,
        object_type=object_type,
        object_id=case.reference,
        action=action,
        allowed=False,
    )
    return Http404("No such case.")


def specialist_case(
    request: AuthedRequest, reference: str, *, action: str, object_type: str = "case"
) -> Case:
    """The case, for its assigned specialist only (404 for everyone else)."""
    case = case_for_user(request, reference, action=action, object_type=object_type)
    user = request.user
    if user.role != Role.SPECIALIST or case.assigned_specialist_id != user.pk:
        raise refuse(request, case, action=action, object_type=object_type)
    return case


# --- My cases ---------------------------------------------------------------------------------


@dataclass
class Row:
    case: Case
    child: str
    due_text: str
    risk: str
    risk_label: str
    badge: str
    accept_by: datetime | None = None
    accept_late: bool = False
    waiting: str = ""
    waiting_url: str = ""


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _due(case: Case, clock: ConsoleClock) -> tuple[str, str]:
    """(text, risk) for the case's due date: the business days left in words, and the
    coordinator queue's clock state, so the specialist and the console agree."""
    if case.due_at is None:
        return "No due date yet (records not complete)", "no_clock"
    if case.status == S.ON_HOLD:
        return "On hold: the clock is paused", "no_clock"
    if case.status in (S.REPORT_FINAL, S.DELIVERED, S.CLOSED):
        return "Report signed: no deadline", "no_clock"
    if case.status in (S.DECLINED, S.WITHDRAWN):
        return "Ended: no deadline", "no_clock"
    left = clock.days_left(case.due_at)
    risk = clock.state(case.due_at)
    if risk == "overdue":
        late = -left
        return ("Overdue" + (f" by {_plural(late, 'business day')}" if late > 0 else "")), risk
    if left == 0:
        return "Due now", risk
    return f"{_plural(left, 'business day')} left", risk


def _row(case: Case, clock: ConsoleClock) -> Row:
    intake = getattr(case, "intake", None)
    child = (intake.child_preferred_name or intake.child_name) if intake is not None else ""
    due_text, risk = _due(case, clock)
    row = Row(
        case=case,
        child=child or "—",
        due_text=due_text,
        risk=risk,
        risk_label=RISK_LABELS[risk] if risk != "no_clock" else "",
        badge=RISK_BADGES.get(risk, ""),
    )
    if case.status == S.ASSIGNED:
        moment = _assigned_moment(case)
        if moment is not None:
            # The same deadline as the coordinators' alert (cases.clock_alerts).
            row.accept_by = acceptance_deadline(moment, clock.calendar)
            row.accept_late = clock.now >= row.accept_by
    return row


def _latest_assignment() -> Any:
    return TimelineEvent.objects.filter(
        case=OuterRef("pk"), kind=TimelineEvent.Kind.STATUS, to_status=S.ASSIGNED
    ).order_by("-at", "-pk")


def _assigned_moment(case: Case) -> datetime | None:
    """When the current assignment started, as the acceptance alert counts it: the latest
    move to "assigned" on the timeline (a resume after a hold starts a new one), else the
    case's assigned_at."""
    if hasattr(case, "assigned_moment"):
        moment = case.assigned_moment
    else:
        moment = (
            TimelineEvent.objects.filter(
                case=case, kind=TimelineEvent.Kind.STATUS, to_status=S.ASSIGNED
            )
            .order_by("-at", "-pk")
            .values_list("at", flat=True)
            .first()
        )
    return moment or case.assigned_at


def _waiting(row: Row) -> None:
    """What a finished case waits for from the specialist, and where to do it."""
    case = row.case
    draft_kind = getattr(case, "draft_kind", None)
    follow_up = getattr(case, "has_follow_up", False)
    if draft_kind == Report.Kind.REPORT:
        row.waiting = "A correction was requested: a new version of the report is open"
        row.waiting_url = reverse("report_edit", args=[case.reference])
    elif draft_kind == Report.Kind.ADDENDUM or follow_up:
        row.waiting = (
            "Follow-up questions are waiting for your answer"
            if follow_up
            else "An addendum draft is open"
        )
        row.waiting_url = reverse("addendum_edit", args=[case.reference])


@login_required
@require_safe
def workspace(request: AuthedRequest) -> HttpResponse:
    if request.user.role != Role.SPECIALIST:
        raise Http404("No such page.")
    clock = console_clock(request)
    open_draft = Report.objects.filter(case=OuterRef("pk"), signed_at__isnull=True)
    open_follow_up = FollowUpQuestion.objects.filter(case=OuterRef("pk"), answered_in__isnull=True)
    mine = cases_visible_to(request.user)
    # Work in hand, read from the specialist's own index by status: to accept, in review,
    # on hold from review. And finished cases with work waiting however old they are (a
    # reopened report, an unanswered follow-up): found from the open drafts and follow-ups,
    # a small set whatever the years of history (their partial indexes), not by testing
    # every finished case. One ``id IN (… UNION ALL …)``, each branch on its own index.
    in_hand = mine.filter(
        Q(status__in=(S.ASSIGNED, S.IN_REVIEW))
        | Q(status=S.ON_HOLD, status_before_hold__in=IN_REVIEW_HELD_FROM)
    ).values("pk")
    finished = mine.filter(status__in=DONE_STATES)
    reopened = Report.objects.filter(signed_at__isnull=True, case__in=finished).values("case_id")
    asked = FollowUpQuestion.objects.filter(answered_in__isnull=True, case__in=finished).values(
        "case_id"
    )
    cases = (
        Case.objects.filter(pk__in=in_hand.union(reopened, asked, all=True))
        .annotate(
            has_draft=Exists(open_draft),
            draft_kind=Subquery(open_draft.order_by("-kind").values("kind")[:1]),
            has_follow_up=Exists(open_follow_up),
            assigned_moment=Subquery(_latest_assignment().values("at")[:1]),
        )
        .select_related("intake", "specialty")
        .order_by(F("due_at").asc(nulls_last=True), "assigned_at", "pk")
    )
    # Recently finished, newest first: one page's worth from the specialist's
    # (assigned_specialist, updated_at) index, not every case of the last 90 days. A few
    # more than shown, as those with work waiting are listed above instead.
    recent = list(
        mine.filter(status__in=DONE_STATES, updated_at__gte=clock.now - DONE_RECENT)
        .select_related("intake", "specialty")
        .order_by("-updated_at", "-pk")[: DONE_LIMIT + WAITING_MARGIN]
    )
    to_accept: list[Row] = []
    in_review: list[Row] = []
    needs_action: list[Row] = []
    done: list[Row] = []
    listed: set[int] = set()
    for case in cases:
        listed.add(case.pk)
        row = _row(case, clock)
        if case.status == S.ASSIGNED:
            to_accept.append(row)
        elif case.status in DONE_STATES:
            _waiting(row)
            needs_action.append(row)
        else:
            in_review.append(row)
    done = [_row(case, clock) for case in recent if case.pk not in listed]
    return render(
        request,
        "reports/workspace/my_cases.html",
        {
            "to_accept": to_accept,
            "needs_action": needs_action,
            "in_review": in_review,
            "done": done[:DONE_LIMIT],
        },
    )


# --- the case page ----------------------------------------------------------------------------


@dataclass
class RecordsOverview:
    """What a specialist should know about a case's records before reading or signing: how
    many there are, how many the scanner has not cleared yet (hidden from the specialist),
    how many were refused, and which cleared ones the specialist has never opened."""

    total: int
    cleared: int
    waiting: int
    refused: int
    unopened: list[Record]
    # The cleared ones, as the page lists them (oldest upload first).
    listed: list[Record]

    @property
    def signing_warnings(self) -> list[str]:
        warnings = []
        if self.waiting:
            warnings.append(
                f"{_plural(self.waiting, 'record')} "
                f"{'is' if self.waiting == 1 else 'are'} not cleared by the virus scan yet, "
                "so you have not seen "
                f"{'it' if self.waiting == 1 else 'them'}."
            )
        if self.unopened:
            names = ", ".join(r.original_name for r in self.unopened[:5])
            more = f" and {len(self.unopened) - 5} more" if len(self.unopened) > 5 else ""
            warnings.append(
                f"You have not opened {_plural(len(self.unopened), 'record')}: {names}{more}."
            )
        return warnings


def _opened_by(user: Any) -> Any:
    """The records ``user`` has opened on the outer case: the ids of their allowed views and
    downloads in the audit log (one scan of the case's audit rows by its index, rather than
    a lookup per record)."""
    return (
        AccessEvent.objects.filter(
            case=OuterRef("pk"),
            user=user,
            object_type="record",
            outcome=AccessEvent.Outcome.ALLOWED,
        )
        .order_by()
        .values("object_id")
        .distinct()
    )


def _case_page_reads(user: Any) -> dict[str, Any]:
    """What the workspace case page reads with the gated case (``case_for_user``'s
    ``annotate``): the questions (cases.rows) and the records ``user`` has opened. Nothing
    on a database other than PostgreSQL: each is read on its own then."""
    if connection.vendor != "postgresql":
        return {}
    # Here, not at the top: django.contrib.postgres needs psycopg.
    from django.contrib.postgres.expressions import ArraySubquery  # noqa: PLC0415

    return {
        **read_with_case(user, [QUESTIONS]),
        _OPENED: ArraySubquery(_opened_by(user)),
        _OPENED_FOR: Value(user.pk, output_field=BigIntegerField()),
    }


# The ids of the records the gate's user has opened, read with the case, and that user.
_OPENED = "_records_opened"
_OPENED_FOR = "_records_opened_for"


def records_overview(case: Case, specialist: Any) -> RecordsOverview:
    """Counted in two queries, or one when the case came with what ``specialist`` opened
    (``_case_page_reads``, for the one who passed the gate); "opened" = an allowed view or
    download in the audit log."""
    records = list(
        Record.objects.filter(case=case).exclude(state=Record.State.UPLOADING).order_by("pk")
    )
    cleared = [r for r in records if r.is_cleared]
    read: list[str] | None = getattr(case, _OPENED, None)
    if read is not None and getattr(case, _OPENED_FOR, None) == specialist.pk:
        opened = set(read)
    else:
        opened = set(
            AccessEvent.objects.filter(
                case=case,
                user=specialist,
                object_type="record",
                outcome=AccessEvent.Outcome.ALLOWED,
                object_id__in=[str(r.uid) for r in cleared],
            ).values_list("object_id", flat=True)
        )
    refused = sum(
        1
        for r in records
        if r.state == Record.State.REJECTED or r.scan_status == Record.Scan.INFECTED
    )
    return RecordsOverview(
        total=len(records),
        cleared=len(cleared),
        waiting=len(records) - len(cleared) - refused,
        refused=refused,
        unopened=[r for r in cleared if str(r.uid) not in opened],
        listed=sorted(cleared, key=lambda r: (r.uploaded_at, r.pk)),
    )


def case_workspace_page(
    request: AuthedRequest, case: Case, *, status: int = 200, **forms: Any
) -> HttpResponse:
    """The workspace case page; forms from a failed POST come in ``forms`` with their
    errors and what was typed."""
    clock = console_clock(request)
    is_specialist = request.user.role == Role.SPECIALIST
    reports = list(Report.objects.filter(case=case).order_by("kind", "version"))
    # Follow-up questions are asked only once a report was delivered (follow_up_ask): before
    # that there is none to read.
    follow_ups = (
        list(FollowUpQuestion.objects.filter(case=case).select_related("answered_in"))
        if any(r.delivered_at is not None for r in reports)
        else []
    )
    row = _row(case, clock)
    hold = (
        CaseHold.objects.filter(case=case, ended_at__isnull=True).order_by("-started_at").first()
        if case.status == S.ON_HOLD
        else None
    )
    open_report = next((r for r in reports if r.kind == "report" and not r.is_signed), None)
    overview = records_overview(case, request.user)
    context = {
        "case": case,
        "intake": getattr(case, "intake", None),
        "questions": case_rows(case, QUESTIONS, request.user),
        # One read of the records for both the overview and the list of cleared ones.
        "records": overview.listed,
        "records_overview": overview,
        "done": case.status in DONE_STATES,
        "reports": reports,
        "follow_ups": follow_ups,
        "unanswered_follow_ups": [f for f in follow_ups if f.answered_in_id is None],
        "row": row,
        "hold": hold,
        "is_specialist": is_specialist,
        # The buttons the table of actions (cases.actions) offers this person now.
        "can_accept": may_do_now(request.user, case, "accept"),
        "can_ask": may_do_now(request.user, case, "ask_information"),
        # A draft already started can be written on hold too; a new one needs "in review".
        "can_write": may_act(request.user, case, "write_report")
        and (allowed(case, "write_report") or open_report is not None),
        "open_report": open_report,
        "decline_form": forms.get("decline_form") or ReasonForm(prefix="decline"),
        "ask_form": forms.get("ask_form") or ReasonForm(prefix="ask"),
    }
    return render(request, "reports/workspace/case.html", context, status=status)


@login_required
@require_safe
def workspace_case(request: AuthedRequest, reference: str) -> HttpResponse:
    # The intake and specialty the page shows come with the case, in the gate's query, and
    # so do the questions and the records this person has opened.
    case = case_for_user(
        request,
        reference,
        action="view",
        object_type="case",
        related=("intake", "specialty"),
        annotate=_case_page_reads(request.user),
    )
    if request.user.role not in (Role.SPECIALIST, Role.COORDINATOR):
        raise refuse(request, case, action="view", object_type="case")
    return case_workspace_page(request, case)


# --- accept, decline, ask -------------------------------------------------------------------


# A refusal of the state goes back to the case page as a message, and a specialist who is no
# longer the one assigned gets the gate's audited 404 (cases.web.refusals_shown).


@login_required
@require_POST
@refusals_shown(action="accept", back="workspace_case")
def case_accept(request: AuthedRequest, reference: str) -> HttpResponse:
    case = specialist_case(request, reference, action="accept")
    case_services.specialist_accept(case=case, by=request.user)
    messages.success(request, f"You accepted {case.reference}. The review has started.")
    return redirect("workspace_case", reference=case.reference)


def _reason_action(
    request: AuthedRequest, reference: str, *, action: str, required: str
) -> tuple[Case, ReasonForm]:
    case = specialist_case(request, reference, action=action)
    form = ReasonForm(request.POST, prefix=action, required_message=required)
    return case, form


@login_required
@require_POST
@refusals_shown(action="decline", back="workspace_case")
def case_decline(request: AuthedRequest, reference: str) -> HttpResponse:
    required = "Give the reason for the coordinator."
    case, form = _reason_action(request, reference, action="decline", required=required)
    if form.is_valid():
        try:
            case_services.specialist_decline(
                case=case, by=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            if getattr(error, "code", "") != "reason":
                raise  # the state's refusal: a message on the case page
            form.add_error("reason", error)
        else:
            messages.success(
                request,
                f"You declined {case.reference}. The coordinator will assign another "
                "specialist and tell the family.",
            )
            return redirect("workspace")
    return case_workspace_page(request, case, status=400, decline_form=form)


@login_required
@require_POST
@refusals_shown(action="ask", back="workspace_case")
def case_ask(request: AuthedRequest, reference: str) -> HttpResponse:
    required = "Say what information you need."
    case, form = _reason_action(request, reference, action="ask", required=required)
    if form.is_valid():
        try:
            case_services.specialist_ask(
                case=case, by=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            if getattr(error, "code", "") != "reason":
                raise  # the state's refusal: a message on the case page
            form.add_error("reason", error)
        else:
            messages.success(
                request,
                "Your request went to the coordinator, who will relay it. The case is on "
                "hold and its clock is paused until the coordinator resumes it.",
            )
            return redirect("workspace_case", reference=case.reference)
    return case_workspace_page(request, case, status=400, ask_form=form)
