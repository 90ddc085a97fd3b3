"""The table of actions (cases.actions) is what the services do: walked action by action and
state by state, each service refuses for the case's state exactly where the table says no,
and leads where the table says; the state machine's table is the one the actions make; who
may act is what cases.access answers."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.template import Context, Template
from django.utils import timezone

from accounts.models import User
from billing import services as billing_services
from cases import actions, services
from cases.access import NotYours, available_actions, may_act, require_may_act
from cases.actions import ACTIONS, Who
from cases.lifecycle import HOLDABLE, TRANSITIONS, allowed_targets
from cases.models import Case, RecordRequest, Status
from core.refusals import Refused
from intake import services as intake_services
from intake.models import Intake, Question
from intake.records import record_add
from reports import services as report_services
from reports.models import Report
from tests.factories import CaseFactory, specialty

S = Status

# The codes the services give a refusal *because of the case's state* (the table's "no"):
# the kernel's and intake's ``require_allowed``, the state machine's, and those the report
# services write themselves.
STATE_CODES = frozenset({"wrong_state", "illegal_transition", "state", "follow_up_closed"})

# Walked below through the service that does them; the others are enforced where a payment
# or a study is (no case state decides them, or the step needs the payment service's page):
NOT_WALKED = {
    "pay": "billing.services.payment_on_session_start: a card typed on the pay page",
    "refund": "billing decides on what was paid, not on the case's state",
    "send_to_pacs": "any state; pacs.services decides on the study",
}


@dataclass(frozen=True)
class People:
    """The personas a walk through the table needs (the same users as the fixtures)."""

    family: User
    coordinator: User
    specialist: User
    other_specialist: User


@pytest.fixture
def people(family: User, coordinator: User, specialist: User, other_specialist: User) -> People:
    return People(family, coordinator, specialist, other_specialist)


CaseIn = Callable[[Status], Case]


@pytest.fixture
def case_in(people: People) -> CaseIn:
    """Makes a case in a given status for ``people`` (see ``_case_in``)."""
    return lambda status: _case_in(status, people)


def _case_in(status: Status, people: People) -> Case:
    """A free (cardiac surgery) case in ``status``, proposed to and assigned to the
    specialist, so every step's other preconditions hold and only the state decides."""
    case = cast(
        Case,
        CaseFactory(
            family=people.family,
            status=S.DRAFT,
            specialty=specialty("cardiac-surgery"),
            proposed_specialist=people.specialist,
            assigned_specialist=people.specialist,
        ),
    )
    Intake.objects.create(case=case)
    billing_services.fee_fix_at_submission(case=case)
    before_hold = S.IN_REVIEW if status == S.ON_HOLD else ""
    Case.objects.filter(pk=case.pk).update(status=status, status_before_hold=before_hold)
    case.refresh_from_db()
    return case


def _question(case: Case, people: People) -> Question:
    return Question.objects.create(
        case=case, position=1, text="What is the plan for the heart?", asked_by=people.family
    )


def _record_request(case: Case, people: People) -> RecordRequest:
    return RecordRequest.objects.create(
        case=case,
        what="The MRI",
        requested_from=RecordRequest.From.FAMILY,
        created_by=people.family,
    )


def _report(case: Case, people: People, **fields: Any) -> Report:
    return Report.objects.create(
        case=case, kind=Report.Kind.REPORT, version=1, author=people.specialist, **fields
    )


def _delivered(case: Case, people: People) -> Report:
    now = timezone.now()
    return _report(case, people, signed_at=now, rendered_at=now, delivered_at=now)


def _deliver(case: Case, people: People) -> object:
    now = timezone.now()
    report = _report(case, people, signed_at=now, rendered_at=now, pdf="reports/walk.pdf")
    with transaction.atomic():  # as the render task does
        return report_services.report_deliver(report)


def _follow_up(case: Case, people: People) -> object:
    _delivered(case, people)
    return report_services.follow_up_ask(case=case, by=people.family, text="And for sport?")


def _reopen(case: Case, people: People) -> object:
    report = _delivered(case, people)
    return report_services.report_reopen(report=report, by=people.coordinator, note="Typo.")


def _upload(case: Case, people: People) -> object:
    # A small PDF through the case page's form (the large-file uploader's steps ask the
    # same table: tests/intake/test_upload_refusals.py).
    pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    uploaded = SimpleUploadedFile("labs.pdf", pdf + case.reference.encode())
    return record_add(case=case, by=people.family, uploaded=uploaded, kind="lab_results")


Run = Callable[[Case, People], object]

RUNS: dict[str, Run] = {
    "edit_questions": lambda c, p: intake_services.question_add(
        case=c, by=p.family, text="What does this mean for school?"
    ),
    "upload_records": _upload,
    "manage_guardians": lambda c, p: intake_services.guardian_invite(
        case=c, by=p.family, email="second.guardian@example.com"
    ),
    "submit": lambda c, p: intake_services.case_submit(case=c, by=p.family),
    "triage": lambda c, p: services.triage_take(case=c, by=p.coordinator),
    "clarify_question": lambda c, p: intake_services.question_clarify(
        question=_question(c, p), by=p.coordinator, text="What is the long-term plan?"
    ),
    "request_records": lambda c, p: services.record_request_create(
        case=c, by=p.coordinator, what="The MRI", requested_from=RecordRequest.From.FAMILY
    ),
    "record_received": lambda c, p: services.record_request_received(
        request=_record_request(c, p), by=p.coordinator
    ),
    "record_uploaded": lambda c, p: services.record_request_uploaded(
        request=_record_request(c, p), by=p.family
    ),
    "records_complete": lambda c, p: services.records_complete(case=c, by=p.coordinator),
    "propose": lambda c, p: services.proposal_make(
        case=c, by=p.coordinator, specialist=p.specialist
    ),
    "decline": lambda c, p: services.case_decline(case=c, by=p.coordinator, reason="Not ours."),
    "confirm": lambda c, p: services.family_confirm(case=c, by=p.family),
    "withdraw": lambda c, p: services.family_withdraw(case=c, by=p.family),
    "in_person": lambda c, p: services.in_person_request(case=c, by=p.family),
    # Where the state allows it, refused next for what it is not (a card form never
    # confirmed at Stripe, no card saved): no Stripe call is made either way.
    "save_card": lambda c, p: billing_services.card_setup_complete(
        case=c, setup_intent_id="", by=p.family
    ),
    "remove_card": lambda c, p: billing_services.card_remove(case=c, by=p.family),
    "accept": lambda c, p: services.specialist_accept(case=c, by=p.specialist),
    "specialist_decline": lambda c, p: services.specialist_decline(
        case=c, by=p.specialist, reason="Away."
    ),
    "ask_information": lambda c, p: services.specialist_ask(
        case=c, by=p.specialist, reason="The echo, please."
    ),
    "reassign": lambda c, p: services.specialist_reassign(
        case=c, by=p.coordinator, specialist=p.other_specialist, reason="Away."
    ),
    "hold": lambda c, p: services.hold_start(case=c, by=p.coordinator, reason="The family."),
    "resume": lambda c, p: services.hold_end(case=c, by=p.coordinator),
    "write_report": lambda c, p: report_services.report_draft_for(case=c, by=p.specialist),
    "sign_report": lambda c, p: report_services.report_sign(
        report=_report(c, p), by=p.specialist, password="x"
    ),
    "deliver": _deliver,
    "ask_follow_up": _follow_up,
    "reopen_report": _reopen,
    "close": lambda c, p: report_services.case_close(case=c, by=p.coordinator),
}


def test_every_action_is_walked_or_says_why_not() -> None:
    assert set(RUNS) | set(NOT_WALKED) == set(ACTIONS)
    assert not set(RUNS) & set(NOT_WALKED)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_the_service_refuses_exactly_where_the_table_says_no(
    name: str, people: People, case_in: CaseIn
) -> None:
    action = ACTIONS[name]
    disagreements: list[str] = []
    for status in Status:
        case = case_in(status)
        refusal: Refused | None = None
        try:
            RUNS[name](case, people)
        except Refused as refused:
            refusal = refused
        # A list-of-messages ValidationError has no code (IncompleteRequest: not the state).
        state_refused = refusal is not None and getattr(refusal, "code", None) in STATE_CODES
        table_says_no = status not in action.states
        if state_refused != table_says_no:
            disagreements.append(f"{status}: table {'no' if table_says_no else 'yes'}, {refusal!r}")
            continue
        now = Case.objects.get(pk=case.pk).status
        if state_refused:
            if now != status:
                disagreements.append(f"{status}: refused, but moved to {now}")
            # The kernel's, intake's and billing's refusals are the table's words; the report
            # services still word their own.
            if action.enforced_in in (
                "cases.services",
                "intake.services",
                "intake.records",
                "billing.services",
            ):
                assert refusal is not None and refusal.messages == [action.refusal(status)]
        elif refusal is None and now != status and now not in action.leads_to(status):
            disagreements.append(f"{status}: led to {now}, table says {action.leads_to(status)}")
        elif refusal is None and now == status and action.leads_to(status) - {status}:
            disagreements.append(f"{status}: stayed, table says {action.leads_to(status)}")
    assert disagreements == []


def test_the_state_machine_is_the_table_of_actions() -> None:
    # Every move the state machine allows is made by some action from that state, and every
    # action's move (holds apart: HOLDABLE and status_before_hold) is one it allows.
    made: dict[Status, set[Status]] = {status: set() for status in Status}
    for action in ACTIONS.values():
        for source, targets in action.moves.items():
            made[source] |= targets
    for source in Status:
        if source == S.ON_HOLD:
            continue
        assert TRANSITIONS[source] == made[source] - {S.ON_HOLD}, source
    assert ACTIONS["hold"].states == HOLDABLE
    assert ACTIONS["resume"].states == {S.ON_HOLD}
    assert ACTIONS["resume"].leads_to(S.ON_HOLD) == HOLDABLE
    assert ACTIONS["ask_information"].states <= HOLDABLE
    # The design's lifecycle, as drawn in DESIGN.md.
    assert TRANSITIONS[S.IN_TRIAGE] == {
        S.AWAITING_RECORDS,
        S.DECLINED,
        S.AWAITING_FAMILY_CONFIRMATION,
    }
    assert TRANSITIONS[S.AWAITING_FAMILY_CONFIRMATION] == {
        S.WITHDRAWN,
        S.PAYMENT_NEEDED,
        S.ASSIGNED,
    }


@pytest.mark.parametrize("status", sorted(HOLDABLE))
def test_a_held_case_may_only_resume_to_where_it_was(status: Status) -> None:
    case = Case(status=S.ON_HOLD, status_before_hold=status)
    assert allowed_targets(case) == {status}
    assert [a.name for a in actions.allowed_in(S.ON_HOLD) if a.name in ("hold", "resume")] == [
        "resume"
    ]


def test_who_may_act_is_the_tables_who(
    case_in: CaseIn,
    family: User,
    other_family: User,
    physician: User,
    coordinator: User,
    specialist: User,
    other_specialist: User,
) -> None:
    case = case_in(S.ASSIGNED)
    who_is_who = {
        Who.FAMILY: family,
        Who.PHYSICIAN: physician,
        Who.COORDINATOR: coordinator,
        Who.SPECIALIST: specialist,
    }
    for name, action in ACTIONS.items():
        for who, user in who_is_who.items():
            expected = who in action.who or (who == Who.FAMILY and Who.OWNER in action.who)
            assert may_act(user, case, name) == expected, (name, who)
        # Someone else's family and a specialist not assigned never act on the case.
        assert not may_act(other_family, case, name)
        assert not may_act(other_specialist, case, name)
        assert may_act(None, case, name) == (Who.SYSTEM in action.who)
    with pytest.raises(NotYours, match=r"Only a coordinator can do this\."):
        require_may_act(family, case, "refund")
    require_may_act(coordinator, case, "refund")
    assert issubclass(NotYours, PermissionDenied)


def test_each_person_is_offered_what_they_may_do_now(
    case_in: CaseIn, family: User, physician: User, coordinator: User, specialist: User
) -> None:
    case = case_in(S.AWAITING_FAMILY_CONFIRMATION)
    assert [a.name for a in available_actions(family, case)] == [
        "manage_guardians",
        "record_uploaded",
        "confirm",
        "withdraw",
        "remove_card",
        "in_person",
    ]
    assert [a.name for a in available_actions(physician, case)] == ["record_uploaded"]
    assert [a.name for a in available_actions(specialist, case)] == []
    offered = {a.name for a in available_actions(coordinator, case)}
    assert {"hold", "records_complete", "refund"} <= offered
    assert not offered & {"triage", "propose", "decline", "resume", "close", "confirm"}


def test_only_an_active_coordinator_may_refund(
    case_in: CaseIn, family: User, physician: User, coordinator: User, specialist: User
) -> None:
    # billing.services.refund_create asks require_may_act(by, locked, "refund") on its row.
    case = case_in(S.CLOSED)
    for user in (family, physician, specialist, None):
        with pytest.raises(NotYours, match=r"Only a coordinator can do this\."):
            require_may_act(user, case, "refund")
    require_may_act(coordinator, case, "refund")
    coordinator.is_active = False
    with pytest.raises(NotYours):
        require_may_act(coordinator, case, "refund")


def test_a_page_asks_the_table_which_buttons_to_show(
    case_in: CaseIn, family: User, physician: User, coordinator: User
) -> None:
    page = Template(
        '{% load case_actions %}{% may_do case "confirm" as can_confirm %}'
        "{% if can_confirm %}confirm{% else %}-{% endif %}"
    )
    waiting = case_in(S.AWAITING_FAMILY_CONFIRMATION)
    assigned = case_in(S.ASSIGNED)
    assert page.render(Context({"case": waiting, "user": family})) == "confirm"
    assert page.render(Context({"case": waiting, "user": physician})) == "-"
    assert page.render(Context({"case": waiting, "user": coordinator})) == "-"
    assert page.render(Context({"case": waiting, "user": AnonymousUser()})) == "-"
    assert page.render(Context({"case": assigned, "user": family})) == "-"
