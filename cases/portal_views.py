"""The family's lifecycle actions on the case page: confirm the proposal (and so the charge),
withdraw, ask for an in-person appointment. POST only; each fetches the case through the
access gate, and anyone the table of actions does not let do it (anyone but the family) gets
the same audited 404 as for an unknown case (``cases.web.refusals_shown``)."""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.typing import AuthedRequest

from . import services
from .access import case_for_user, require_may_act
from .models import Case, Status
from .web import refusals_shown


def _family_action(
    request: AuthedRequest,
    reference: str,
    *,
    action: str,
    run: Callable[[Case], Case],
    done: Callable[[Case], str],
) -> HttpResponse:
    case = case_for_user(request, reference, action=action, object_type="case")
    require_may_act(request.user, case, action)
    try:
        fresh = run(case)  # the services return the case as they left it
    except ValidationError as refused:
        messages.error(request, refused.messages[0])
    else:
        messages.success(request, done(fresh))
    return redirect("case_detail", case.reference)


def _confirmed(case: Case) -> str:
    if case.status == Status.ASSIGNED:
        return "Thank you: your request is confirmed and is now with the specialist."
    if case.status == Status.PAYMENT_NEEDED:
        return "Your confirmation is saved, but your card could not be charged: please pay below."
    return "Your confirmation is saved. We are waiting for the payment service to answer."


@login_required
@require_POST
@refusals_shown(action="confirm", back="case_detail")
def case_confirm(request: AuthedRequest, reference: str) -> HttpResponse:
    return _family_action(
        request,
        reference,
        action="confirm",
        run=lambda case: services.family_confirm(case=case, by=request.user),
        done=_confirmed,
    )


@login_required
@require_POST
@refusals_shown(action="withdraw", back="case_detail")
def case_withdraw(request: AuthedRequest, reference: str) -> HttpResponse:
    return _family_action(
        request,
        reference,
        action="withdraw",
        run=lambda case: services.family_withdraw(case=case, by=request.user),
        done=lambda case: "Your request is withdrawn. Your card was not charged.",
    )


@login_required
@require_POST
@refusals_shown(action="in_person", back="case_detail")
def case_in_person(request: AuthedRequest, reference: str) -> HttpResponse:
    return _family_action(
        request,
        reference,
        action="in_person",
        run=lambda case: services.in_person_request(case=case, by=request.user),
        done=lambda case: "Thank you: our team will call you to arrange an in-person appointment.",
    )
