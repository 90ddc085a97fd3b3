"""One way for a case-scoped view to answer a refusal.

Two kinds of "no" come out of the services, and every view answers them the same way:

- ``core.refusals.Refused`` (the state does not allow it, the input is not acceptable): a
  page message with the refusal's words, and back to the page the person came from, with
  what they typed kept for that page when it shows its form again (``accounts.stash``);
- ``PermissionDenied`` (``cases.access.NotYours``: this person may not do this on this case):
  the access gate's 404, written to the audit log as a refusal, so the answer is the same as
  for a case that does not exist.

A view that shows a refusal next to its own form catches ``Refused`` itself first; what it
lets through is answered here.
"""

import inspect
from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse

from accounts.stash import stash_post
from core.refusals import Refused

from .access import refuse_audited

type Back = Callable[..., str]


def refusals_shown[View: Callable[..., HttpResponseBase]](
    *,
    action: str,
    object_type: str = "case",
    object_id: str = "",
    back: str | Back | None = None,
    keep_input: bool = False,
) -> Callable[[View], View]:
    """Answer ``Refused`` with a message and a redirect, and "not yours" with the gate's 404.

    ``action``, ``object_type``: what the audit row says was tried; ``object_id``: the name
    of the view's keyword argument that names the object (else the case's reference).
    ``back``: the URL name of the page to go back to (given the case's ``reference``), or a
    function of the view's keyword arguments that returns the URL; without it a refusal is
    not caught here. ``keep_input``: keep the posted fields for that page to show again
    (only for a page that reads them back with ``accounts.stash.stash_pop``).
    """

    def decorate(view: View) -> View:
        signature = inspect.signature(view)

        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            try:
                return view(request, *args, **kwargs)
            except PermissionDenied:
                # By name, however the URL resolver (or a wrapping decorator) passed them.
                named = signature.bind_partial(request, *args, **kwargs).arguments
                refuse_audited(
                    request,
                    str(named.get("reference", "")),
                    action=action,
                    object_type=object_type,
                    object_id=str(named.get(object_id, "")) if object_id else "",
                )
            except Refused as refused:
                if back is None:
                    raise
                named = signature.bind_partial(request, *args, **kwargs).arguments
                named.pop("request", None)
                url = (
                    back(**named)
                    if callable(back)
                    else reverse(back, kwargs={"reference": named["reference"]})
                )
                messages.error(request, refused.text)
                if keep_input:
                    stash_post(request, path=url)
                return redirect(url)

        # The same view, as its callers typed it (a redirect is an HttpResponse too).
        return cast(View, wrapper)

    return decorate
