"""View decorators about the signed-in person, shared by the apps' views."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from .stash import stash_post

View = Callable[..., HttpResponseBase]


def login_required_keeping_input(view: View) -> View:
    """Like login_required, but a form posted after the session ended is kept (accounts.stash)
    and shown again once the person has signed back in."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            if request.method == "POST":
                stash_post(request)
                messages.info(
                    request,
                    "For your privacy you were signed out. Sign in again: what you typed "
                    "is waiting for you (files must be chosen again).",
                )
            return redirect_to_login(request.path)
        return view(request, *args, **kwargs)

    return wrapper
