import time
from typing import Any

from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from .middleware import SESSION_SEEN_KEY, SESSION_STARTED_KEY
from .roles import coordinator_group_sync


@receiver(user_logged_in)
def start_session_clock(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    # login() has already rotated the session key; the 12-hour limit counts from here.
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[SESSION_STARTED_KEY] = now
        request.session[SESSION_SEEN_KEY] = now


@receiver(authenticator_added)
def count_activation_as_mfa(
    sender: Any, request: Any, user: Any, authenticator: Authenticator, **kwargs: Any
) -> None:
    # Activating TOTP means the person just typed a valid code: that is a passed second
    # factor for this session, so staff need not sign in again to reach their pages.
    if request is not None and authenticator.type == Authenticator.Type.TOTP:
        record_authentication(request, user, "mfa", id=authenticator.pk, type=authenticator.type)


@receiver(post_migrate)
def sync_coordinator_group(sender: Any, app_config: Any, **kwargs: Any) -> None:
    if app_config.label == "accounts":
        coordinator_group_sync()
