"""The case page's buttons: their forms, when each shows, and the service each calls.

Each button calls the same ``cases.services`` function as the portal and the tasks; the
checks here only decide which buttons to offer (the service refuses an illegal move
whatever the page showed). Buttons of other apps (reopening and closing a report) are
registered through ``hooks.case_move``.
"""

from functools import partial
from typing import Any

from django import forms
from django.db.models import Count, Q, QuerySet

from accounts.models import Role, User

from .. import services
from ..actions import allowed
from ..models import Case, CaseMessage, RecordRequest, Status
from . import hooks
from .hooks import Move
from .labels import SPECIALIST_LOAD_STATES

S = Status


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


def specialists_for(case: Case, *, any_specialty: bool = False) -> QuerySet[User]:
    """Who can be proposed: active specialists of the case's specialty (of any, with
    ``any_specialty``) who accept cases, least loaded first (``load``: their cases assigned
    or in review)."""
    people = User.objects.filter(
        role=Role.SPECIALIST, is_active=True, specialist_profile__accepting_cases=True
    )
    if case.specialty_id is not None and not any_specialty:
        people = people.filter(specialist_profile__specialties=case.specialty_id)
    return (
        people.annotate(
            load=Count(
                "assigned_cases",
                filter=Q(assigned_cases__status__in=SPECIALIST_LOAD_STATES),
                distinct=True,
            )
        )
        .distinct()
        .order_by("load", "full_name", "pk")
    )


# The console's button names that differ from the action they take in the table.
_ACTION_OF = {"take": "triage"}


def _available(action: str, case: Case) -> bool:
    """When each of the case app's buttons shows: when the table of actions
    (``cases.actions``) allows its action in the case's state, as the services that refuse
    it read the same table. Who may press it is the console's permission (coordinators)."""
    if not allowed(case, _ACTION_OF.get(action, action)):
        return False
    if action == "records_complete":
        # Once every record is in, the button goes until a new request reopens the wait.
        return case.status == S.AWAITING_RECORDS or case.records_complete_at is None
    return True


def _run(action: str, case: Case, by: User, data: dict[str, Any]) -> str:
    """Call the service (the same one the portal and the tasks call); the message."""
    match action:
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
    raise ValueError(action)


def _move(action: str, label: str, form: Any = None, *, needs_case: bool = False) -> Move:
    return Move(
        action=action,
        label=label,
        available=partial(_available, action),
        run=partial(_run, action),
        form=form,
        form_needs_case=needs_case,
    )


# The case app's buttons, in the order they show; reports adds reopening and closing after
# them (reports.console).
CASE_MOVES: dict[str, Move] = {
    move.action: move
    for move in (
        _move("take", "Take into review"),
        _move("request_records", "Request a record…", RecordRequestForm),
        _move("records_complete", "All records received"),
        _move("propose", "Propose a specialist…", ProposalForm, needs_case=True),
        _move("decline", "Decline…", ReasonForm),
        _move("hold", "Put on hold…", HoldForm),
        _move("resume", "Resume"),
        _move("reassign", "Give to another specialist…", ReassignForm, needs_case=True),
    )
}


def all_moves() -> dict[str, Move]:
    """The case app's buttons, then those other apps register."""
    return {**CASE_MOVES, **hooks.moves()}
