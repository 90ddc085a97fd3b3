"""Follow-up questions, up to 3 per case within 30 days of the first delivery, from the
family or the physician (the specialist answers them all in a signed addendum, see
``drafting``); and closing the case once nothing is left open on it.

Who may do each and in which state is the table of actions' (``ask_follow_up``, ``close``),
asked on the locked row: ``NotYours`` for anyone else, ``LifecycleRefused`` for a case in
another state; the window and the number of questions are this module's own refusals.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from cases.access import require_may_act
from cases.actions import require_allowed
from cases.lifecycle import case_transition, timeline_note
from cases.models import Case
from cases.notifications import case_email, coordinator_addresses
from core.refusals import Refused

from .common import ReportRefused, S
from .models import FollowUpQuestion, Report


def follow_up_deadline(case: Case) -> datetime | None:
    first = (
        Report.objects.filter(case=case, kind=Report.Kind.REPORT, version=1)
        .values_list("delivered_at", flat=True)
        .first()
    )
    return first + timedelta(days=FollowUpQuestion.WINDOW_DAYS) if first else None


def follow_up_open(case: Case, now: datetime | None = None) -> tuple[bool, str]:
    """Whether a follow-up question may be asked now, and if not, why (for the page)."""
    now = now or timezone.now()
    deadline = follow_up_deadline(case)
    if case.status != S.DELIVERED or deadline is None:
        return False, "Follow-up questions can be asked once the report is delivered."
    if now > deadline:
        return False, (
            "The 30 days for follow-up questions ended on "
            f"{timezone.localdate(deadline):%B %-d, %Y}. For anything new, contact the coordinator."
        )
    if FollowUpQuestion.objects.filter(case=case).count() >= FollowUpQuestion.MAX_PER_CASE:
        return False, "All 3 follow-up questions for this request have been asked."
    return True, ""


@transaction.atomic
def follow_up_ask(*, case: Case, by: User, text: str) -> FollowUpQuestion:
    locked = Case.objects.lock(case)
    require_may_act(by, locked, "ask_follow_up")
    text = text.strip()
    if not text:
        raise Refused({"text": "Write your question."}, code="text")
    if len(text) > FollowUpQuestion.MAX_LENGTH:
        raise Refused(
            {"text": f"Keep the question under {FollowUpQuestion.MAX_LENGTH:,} characters."},
            code="text",
        )
    require_allowed(locked, "ask_follow_up")
    allowed, why = follow_up_open(locked)
    if not allowed:
        raise ReportRefused(why, code="follow_up_closed")
    position = FollowUpQuestion.objects.filter(case=locked).count() + 1
    question = FollowUpQuestion.objects.create(
        case=locked, position=position, text=text, asked_by=by
    )
    who = "The physician" if by.role == Role.PHYSICIAN else "The family"
    timeline_note(locked, by, f"{who} asked follow-up question {position}.")
    case_email(locked, "follow_up_received", coordinator_addresses(), f"follow-up:{question.pk}")
    if locked.assigned_specialist is not None:
        # The specialist's link goes to the workspace, not the family's portal.
        case_email(
            locked,
            "follow_up_received",
            [locked.assigned_specialist.email],
            f"follow-up:{question.pk}",
            for_specialist=True,
        )
    return question


@transaction.atomic
def case_close(*, case: Case, by: User) -> Case:
    """The coordinator closes a delivered case once nothing is left open on it."""
    locked = Case.objects.lock(case)
    require_may_act(by, locked, "close")
    require_allowed(locked, "close")
    if Report.objects.filter(case=locked, delivered_at__isnull=True).exists():
        raise ReportRefused(
            "A new version or an addendum is still being written or delivered.", code="open"
        )
    if FollowUpQuestion.objects.filter(case=locked, answered_in__isnull=True).exists():
        raise ReportRefused("A follow-up question is not answered yet.", code="open")
    return case_transition(case=locked, to=S.CLOSED, by=by, note="Case closed.")
