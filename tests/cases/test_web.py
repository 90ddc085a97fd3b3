"""The one refusal decorator (cases.web.refusals_shown): a refusal becomes a page message and
a redirect back (with what was typed kept when asked), "not yours" the gate's audited 404."""

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import Http404, HttpRequest, HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import User
from accounts.stash import stash_pop
from cases.access import NotYours
from cases.actions import LifecycleRefused
from cases.models import AccessEvent, Case
from cases.web import refusals_shown
from tests.factories import CaseFactory


def _request(user: User, data: dict[str, str] | None = None) -> HttpRequest:
    request = RequestFactory().post("/somewhere/", data or {})
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    MessageMiddleware(lambda r: HttpResponse()).process_request(request)
    request.user = user
    return request


@refusals_shown(action="confirm", back="case_detail", keep_input=True)
def refusing(request: HttpRequest, reference: str) -> HttpResponse:
    raise LifecycleRefused("This request cannot be confirmed now: it is “Assigned”.")


@refusals_shown(action="confirm")
def refusing_without_a_page(request: HttpRequest, reference: str) -> HttpResponse:
    raise LifecycleRefused("No.")


@refusals_shown(action="download", object_type="release_authorisation", object_id="item")
def not_yours(request: HttpRequest, reference: str, item: int) -> HttpResponse:
    raise NotYours("Only a coordinator can do this.")


def test_a_refusal_is_a_message_and_back_to_the_page_with_what_was_typed(family: User) -> None:
    case: Any = CaseFactory(family=family)
    request = _request(family, {"note": "typed by hand"})
    response = refusing(request, reference=case.reference)
    back = reverse("case_detail", args=[case.reference])
    assert (response.status_code, response["Location"]) == (302, back)
    assert [str(m) for m in get_messages(request)] == [
        "This request cannot be confirmed now: it is “Assigned”."
    ]
    kept = stash_pop(request, path=back)
    assert kept is not None and kept["note"] == "typed by hand"
    assert not AccessEvent.objects.exists()


def test_without_a_page_to_go_back_to_the_refusal_goes_on_to_the_view(family: User) -> None:
    case: Any = CaseFactory(family=family)
    with pytest.raises(LifecycleRefused):
        refusing_without_a_page(_request(family), reference=case.reference)


@pytest.mark.parametrize("positional", [False, True])
def test_not_yours_is_the_gates_audited_404(family: User, positional: bool) -> None:
    case: Case = CaseFactory(family=family)
    request = _request(family)
    with pytest.raises(Http404):
        if positional:  # as a wrapping decorator may call it
            not_yours(request, case.reference, 7)
        else:
            not_yours(request, reference=case.reference, item=7)
    event = AccessEvent.objects.get()
    assert (event.case, event.user, event.outcome, event.action) == (
        case,
        family,
        AccessEvent.Outcome.DENIED,
        "download",
    )
    assert (event.object_type, event.object_id) == ("release_authorisation", "7")
