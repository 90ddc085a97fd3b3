"""Session policy and the staff MFA rule, enforced on every request."""

import time
from collections.abc import Callable
from typing import Any

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from .stash import stash_post

SESSION_STARTED_KEY = "session_policy_started_at"
SESSION_SEEN_KEY = "session_policy_seen_at"
# "Last seen" is refreshed (and the session saved) at most this often.
SESSION_TOUCH_SECONDS = 60


def _with_next(url: str, request: HttpRequest) -> str:
    return f"{url}?{urlencode({'next': request.get_full_path()})}"


class SessionPolicyMiddleware:
    """Ends a signed-in session after 30 minutes idle or 12 hours in all.

    Both limits are checked here against times kept in the session itself, so the policy
    holds whatever the session backend or cookie settings do. "Last seen" is written at
    most once a minute (SESSION_TOUCH_SECONDS): saving the session on every request cost
    every page three queries (BEGIN, UPDATE, COMMIT) for a timestamp that only needs
    minute precision against a 30-minute limit; the save also moves the session's expiry.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            started = request.session.get(SESSION_STARTED_KEY)
            seen = request.session.get(SESSION_SEEN_KEY)
            if started is None:
                request.session[SESSION_STARTED_KEY] = now
            elif now - started > settings.SESSION_ABSOLUTE_SECONDS or (
                seen is not None and now - seen > settings.SESSION_IDLE_SECONDS
            ):
                logout(request)
                # Runs after MessageMiddleware (config/settings/base.py): the message needs it.
                message = "For your privacy you were signed out. Please sign in again."
                if request.method == "POST":
                    stash_post(request)  # what they typed waits for them after sign-in
                    message += " What you typed is waiting for you (files must be chosen again)."
                messages.info(request, message)
                return redirect(_with_next(reverse(settings.LOGIN_URL), request))
            if seen is None or now - seen >= SESSION_TOUCH_SECONDS:
                request.session[SESSION_SEEN_KEY] = now
        return self.get_response(request)


def mfa_enabled(user: Any) -> bool:
    """Whether ``user`` has set up a second factor: read with the user on every request
    (accounts.backends), else asked now."""
    known = getattr(user, "has_authenticator", None)
    return bool(known) if known is not None else is_mfa_enabled(user)


def session_has_mfa(request: HttpRequest) -> bool:
    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)


class StaffMfaMiddleware:
    """Coordinators and specialists reach nothing but their account pages until MFA is set up
    and has been passed in this session."""

    EXEMPT_PREFIXES = ("/accounts/", "/static/", "/healthz")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and user.is_staff_role
            and not request.path.startswith(self.EXEMPT_PREFIXES)
        ):
            if not mfa_enabled(user):
                messages.warning(
                    request, "Staff accounts must set up two-factor authentication first."
                )
                return redirect("mfa_activate_totp")
            if not session_has_mfa(request):
                return redirect(_with_next(reverse("mfa_reauthenticate"), request))
        return self.get_response(request)
