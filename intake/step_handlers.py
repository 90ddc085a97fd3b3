"""Steps of the request form that another app shows: the card step is billing's. The app
registers its view here at start-up (``BillingConfig.ready``), so the intake views route to it
without importing it."""

from collections.abc import Callable

from django.http import HttpResponse

from accounts.typing import AuthedRequest
from cases.models import Case

# (request, case already through the gate and editable) -> the step's response.
StepHandler = Callable[[AuthedRequest, Case], HttpResponse]

_HANDLERS: dict[str, StepHandler] = {}


def register_step(slug: str, handler: StepHandler) -> None:
    _HANDLERS[slug] = handler


def step_handler(slug: str) -> StepHandler | None:
    return _HANDLERS.get(slug)
