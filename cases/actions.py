"""What may be done to a case, by whom, in which state, and where it leads: the one table.

Each ``Action`` names who may do it (``Who``), the states it is allowed in and, for each of
those states, the states it leads to (an empty set: the status stays where it is, the
action only writes something else). Everything else reads this table:

- the state machine (``cases.lifecycle``) builds its transition table and its holdable
  states from it, so a move exists only because some action makes it;
- every service refuses an action the case's state does not allow with ``require_allowed``
  (``LifecycleRefused``, a message the person can read), and a person who may not do it
  with ``cases.access.require_may_act``;
- the console, the portal and the workspace show a button only when
  ``cases.access.available_actions`` lists its action for that person and case.

This module knows states and roles only; who a person is *to a case* (the family on it,
the specialist assigned to it) is the access module's job.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from core.refusals import Refused

from .models import Case, Status

S = Status


class Who(StrEnum):
    """Who may act, as the access module tells them apart (``cases.access.acts_as``)."""

    COORDINATOR = "coordinator"
    # The owner of the request or a second guardian invited onto it.
    FAMILY = "family"
    # The first guardian (or the physician who started the request, before a family owns it).
    OWNER = "owner"
    # The local physician named on the case or linked to it.
    PHYSICIAN = "physician"
    # The specialist the case is assigned to.
    SPECIALIST = "specialist"
    # A task or a payment webhook: nobody signed in.
    SYSTEM = "system"


class LifecycleRefused(Refused):
    """A move the case's current state does not allow; the message can be shown as it is."""

    def __init__(self, message: str, code: str = "lifecycle") -> None:
        super().__init__(message, code=code)


@dataclass(frozen=True)
class Action:
    """One thing a person (or the system) may do to a case."""

    name: str
    label: str
    who: frozenset[Who]
    # Allowed states → where the action leads from each (empty: the status does not change).
    moves: Mapping[Status, frozenset[Status]]
    # Completes "This request cannot … now": the refusal when the state does not allow it.
    doing: str
    # A fixed refusal instead of the one built from ``doing``.
    refusal_text: str = ""
    # Whose services enforce it (the kernel's own, or the app that owns the step).
    enforced_in: str = "cases.services"
    states: frozenset[Status] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "moves", MappingProxyType(dict(self.moves)))
        object.__setattr__(self, "states", frozenset(self.moves))

    def leads_to(self, status: Status | str) -> frozenset[Status]:
        return self.moves.get(Status(status), frozenset())

    def refusal(self, status: Status | str) -> str:
        if self.refusal_text:
            return self.refusal_text
        return f"This request cannot {self.doing} now: it is “{Status(status).label}”."


def _stays(*states: Status) -> dict[Status, frozenset[Status]]:
    return {state: frozenset() for state in states}


def _from(*states: Status, to: Status) -> dict[Status, frozenset[Status]]:
    return {state: frozenset({to}) for state in states}


EVERY_STATE = tuple(Status)
# "Open" states may be paused (the clock stops while waiting on the family or physician).
HOLDABLE_STATES = (
    S.SUBMITTED,
    S.IN_TRIAGE,
    S.AWAITING_RECORDS,
    S.AWAITING_FAMILY_CONFIRMATION,
    S.PAYMENT_NEEDED,
    S.ASSIGNED,
    S.IN_REVIEW,
)
# While a request is being reviewed the family and physician may still change its questions.
QUESTION_STATES = (S.DRAFT, S.SUBMITTED, S.IN_TRIAGE, S.AWAITING_RECORDS)

C, F, OWN, P, SP, SYSTEM = (
    Who.COORDINATOR,
    Who.FAMILY,
    Who.OWNER,
    Who.PHYSICIAN,
    Who.SPECIALIST,
    Who.SYSTEM,
)


def _who(*who: Who) -> frozenset[Who]:
    return frozenset(who)


ACTIONS: Mapping[str, Action] = MappingProxyType(
    {
        action.name: action
        for action in (
            # --- the request (intake) ---------------------------------------------------
            Action(
                "edit_questions",
                "Add or change a question",
                _who(F, P),
                _stays(*QUESTION_STATES),
                "have its questions changed",
                refusal_text="Questions can no longer be changed on this request.",
                enforced_in="intake.services",
            ),
            Action(
                "upload_records",
                "Upload a record",
                # The family and the physician, and a coordinator adding what came by fax,
                # by post or on a CD (DESIGN.md: the coordinator helps collect the records).
                _who(C, F, P),
                _stays(*QUESTION_STATES, S.ON_HOLD),
                "take more records",
                refusal_text="Records can no longer be added to this request.",
                enforced_in="intake.records",
            ),
            Action(
                "manage_guardians",
                "Invite or remove a second guardian",
                _who(OWN),
                _stays(*EVERY_STATE),
                "have its guardians changed",
                enforced_in="intake.services",
            ),
            Action(
                "submit",
                "Submit the request",
                _who(F),
                _from(S.DRAFT, to=S.SUBMITTED),
                "be submitted",
                enforced_in="intake.services",
            ),
            # --- triage and records ---------------------------------------------------------
            Action(
                "triage",
                "Take into review",
                _who(C),
                _from(S.SUBMITTED, to=S.IN_TRIAGE),
                "be taken into review",
            ),
            Action(
                "clarify_question",
                "Clarify a question",
                _who(C),
                _stays(S.SUBMITTED, S.IN_TRIAGE, S.AWAITING_RECORDS),
                "have its questions edited",
                enforced_in="intake.services",
            ),
            Action(
                "request_records",
                "Request a record…",
                _who(C),
                {**_from(S.IN_TRIAGE, to=S.AWAITING_RECORDS), **_stays(S.AWAITING_RECORDS)},
                "have records requested",
            ),
            Action(
                "record_received",
                "Record received",
                _who(C),
                _stays(*EVERY_STATE),
                "have a record ticked off",
            ),
            Action(
                "record_uploaded",
                "Upload a requested record",
                _who(F, P),
                _stays(*EVERY_STATE),
                "have a requested record ticked off",
            ),
            Action(
                "records_complete",
                "All records received",
                _who(C),
                {
                    **_stays(
                        S.IN_TRIAGE,
                        S.AWAITING_FAMILY_CONFIRMATION,
                        S.PAYMENT_NEEDED,
                        S.ASSIGNED,
                        S.IN_REVIEW,
                        S.ON_HOLD,
                    ),
                    **_from(S.AWAITING_RECORDS, to=S.IN_TRIAGE),
                },
                "be marked as having all records",
            ),
            # --- the proposal and the family's answer -------------------------------------------
            Action(
                "propose",
                "Propose a specialist…",
                _who(C),
                _from(S.IN_TRIAGE, to=S.AWAITING_FAMILY_CONFIRMATION),
                "be proposed to the family",
            ),
            Action(
                "decline",
                "Decline…",
                _who(C),
                _from(S.IN_TRIAGE, to=S.DECLINED),
                "be declined",
            ),
            Action(
                "confirm",
                "Confirm the specialist and the charges",
                _who(F),
                # Charged (or free): assigned; the charge failed: the family pays on the page.
                {S.AWAITING_FAMILY_CONFIRMATION: frozenset({S.ASSIGNED, S.PAYMENT_NEEDED})},
                "be confirmed",
            ),
            Action(
                "withdraw",
                "Withdraw the request",
                _who(F),
                _from(S.AWAITING_FAMILY_CONFIRMATION, to=S.WITHDRAWN),
                "be withdrawn",
            ),
            Action(
                "pay",
                "Pay",
                # The family on the pay page, or the payment service's webhook.
                _who(F, SYSTEM),
                _from(S.PAYMENT_NEEDED, to=S.ASSIGNED),
                "be paid",
                refusal_text="There is nothing to pay on this request.",
                enforced_in="billing.services",
            ),
            Action(
                "save_card",
                "Save a card",
                _who(F),
                # The request form's card step, and another card on the pay page when the
                # charge after the family's confirmation failed.
                _stays(S.DRAFT, S.PAYMENT_NEEDED),
                "take a card",
                refusal_text="This request no longer needs a card.",
                enforced_in="billing.services",
            ),
            Action(
                "remove_card",
                "Remove the saved card",
                _who(F),
                # Whenever there is one: a request without a card is paid on the page.
                _stays(*EVERY_STATE),
                "have its card removed",
                enforced_in="billing.services",
            ),
            Action(
                "in_person",
                "Ask for an in-person appointment",
                _who(F),
                _stays(
                    *(s for s in EVERY_STATE if s not in (S.DRAFT, S.WITHDRAWN)),
                ),
                "ask for an in-person appointment",
            ),
            # --- the specialist -----------------------------------------------------------------
            Action(
                "accept",
                "Accept the case",
                _who(SP),
                _from(S.ASSIGNED, to=S.IN_REVIEW),
                "be accepted",
            ),
            Action(
                "specialist_decline",
                "Decline the case",
                _who(SP),
                _from(S.ASSIGNED, to=S.IN_TRIAGE),
                "be declined by the specialist",
            ),
            Action(
                "ask_information",
                "Ask for more information",
                _who(SP),
                _from(S.ASSIGNED, S.IN_REVIEW, to=S.ON_HOLD),
                "be put on hold by the specialist",
            ),
            Action(
                "reassign",
                "Give to another specialist…",
                _who(C),
                _from(S.ASSIGNED, S.IN_REVIEW, to=S.ASSIGNED),
                "be given to another specialist",
            ),
            # --- holds ----------------------------------------------------------------------------
            Action(
                "hold",
                "Put on hold…",
                _who(C),
                _from(*HOLDABLE_STATES, to=S.ON_HOLD),
                "be put on hold",
            ),
            Action(
                "resume",
                "Resume",
                _who(C),
                # Back to the state it was put on hold from (``Case.status_before_hold``).
                {S.ON_HOLD: frozenset(HOLDABLE_STATES)},
                "resume",
            ),
            # --- the report -----------------------------------------------------------------------
            Action(
                "write_report",
                "Write the report",
                _who(SP),
                _stays(S.IN_REVIEW),
                "have its report started",
                enforced_in="reports.services",
            ),
            Action(
                "sign_report",
                "Sign the report",
                _who(SP),
                _from(S.IN_REVIEW, to=S.REPORT_FINAL),
                "have its report signed",
                enforced_in="reports.services",
            ),
            Action(
                "deliver",
                "Deliver the report",
                _who(SYSTEM),
                _from(S.REPORT_FINAL, to=S.DELIVERED),
                "have its report delivered",
                enforced_in="reports.services",
            ),
            Action(
                "ask_follow_up",
                "Ask a follow-up question",
                _who(F, P),
                _stays(S.DELIVERED),
                "take a follow-up question",
                enforced_in="reports.services",
            ),
            Action(
                "reopen_report",
                "Reopen for correction…",
                _who(C),
                _stays(S.DELIVERED),
                "have its report reopened",
                enforced_in="reports.services",
            ),
            Action(
                "close",
                "Close case",
                _who(C),
                _from(S.DELIVERED, to=S.CLOSED),
                "be closed",
                enforced_in="reports.services",
            ),
            # --- money and imaging -------------------------------------------------------------
            Action(
                "refund",
                "Refund…",
                _who(C),
                # What was paid decides (billing's own state), not the case's status.
                _stays(*EVERY_STATE),
                "be refunded",
                enforced_in="billing.services",
            ),
            Action(
                "send_to_pacs",
                "Send to PACS",
                _who(C, SYSTEM),
                _stays(*EVERY_STATE),
                "have its studies sent to the PACS",
                enforced_in="pacs.services",
            ),
        )
    }
)


def action(name: str) -> Action:
    """The action called ``name``; an unknown name is a programming error (KeyError)."""
    return ACTIONS[name]


def allowed(case: Case, name: str) -> bool:
    """Whether the case's state allows the action now (who may do it: ``cases.access``)."""
    return Status(case.status) in ACTIONS[name].states


def require_allowed(case: Case, name: str) -> None:
    """Refuse, with the action's message, an action the case's state does not allow.

    Call it on the locked row (``Case.objects.lock``): the decision is the row's as it is now.
    """
    if not allowed(case, name):
        raise LifecycleRefused(ACTIONS[name].refusal(case.status), code="wrong_state")


def allowed_in(status: Status | str) -> list[Action]:
    """Every action the state allows, in the table's order (whoever may do it)."""
    return [a for a in ACTIONS.values() if Status(status) in a.states]


def transitions(actions: Iterable[Action] = ()) -> dict[Status, frozenset[Status]]:
    """The state machine's table: for each state, where some action leads from it.

    Holds are left out (``hold`` and ``resume``, and a specialist's ``ask_information``):
    a case goes on hold from any holdable state and comes back only to where it was, which
    the state machine decides from ``HOLDABLE`` and ``Case.status_before_hold``.
    """
    table: dict[Status, set[Status]] = {status: set() for status in Status}
    for each in actions or ACTIONS.values():
        for source, targets in each.moves.items():
            if source == S.ON_HOLD:
                continue
            table[source] |= {t for t in targets if t != S.ON_HOLD}
    return {status: frozenset(targets) for status, targets in table.items()}


def holdable() -> frozenset[Status]:
    """The states a coordinator may put on hold (and leave from, back to where they were)."""
    return ACTIONS["hold"].states


__all__ = [
    "ACTIONS",
    "Action",
    "LifecycleRefused",
    "Who",
    "action",
    "allowed",
    "allowed_in",
    "holdable",
    "require_allowed",
    "transitions",
]
