"""Sessions end after 30 minutes idle and 12 hours in all; deactivated accounts are out."""

from datetime import timedelta
from typing import Any

import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User

PASSWORD = "SecondOpinion-demo-2026"


def _sign_in(client: Client, user: User) -> None:
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302


def test_idle_for_thirty_minutes_ends_the_session(client: Client, family: User) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        _sign_in(client, family)
        clock.shift(timedelta(minutes=29))
        assert client.get(reverse("dashboard")).status_code == 200
        clock.shift(timedelta(minutes=29))  # active 29 minutes ago: still fine
        assert client.get(reverse("dashboard")).status_code == 200
        clock.shift(timedelta(minutes=31))
        response = client.get(reverse("dashboard"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
        assert client.get(reverse("dashboard")).status_code == 302


def test_twelve_hours_is_the_limit_however_active(client: Client, family: User) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        _sign_in(client, family)
        for _ in range(11 * 3):  # every 20 minutes for 11 hours
            clock.shift(timedelta(minutes=20))
            assert client.get(reverse("dashboard")).status_code == 200
        clock.shift(timedelta(minutes=61))  # 12h01m since sign-in
        response = client.get(reverse("dashboard"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_a_deactivated_account_is_rejected_on_its_next_request(
    client: Client, family: User
) -> None:
    _sign_in(client, family)
    assert client.get(reverse("dashboard")).status_code == 200
    User.objects.filter(pk=family.pk).update(is_active=False)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_session_cookie_is_httponly_and_ends_with_the_browser(client: Client, family: User) -> None:
    _sign_in(client, family)
    cookie = client.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    # No "remember me": the cookie dies with the browser; the server ends it sooner when idle.
    assert cookie["max-age"] == "" and cookie["expires"] == ""


def test_authenticated_pages_are_never_cached(client: Client, family: User) -> None:
    anonymous = client.get("/")
    assert "no-store" not in anonymous.get("Cache-Control", "")
    _sign_in(client, family)
    for path in ["/", reverse("dashboard"), reverse("account_profile")]:
        cache_control = client.get(path)["Cache-Control"]
        assert "no-store" in cache_control and "private" in cache_control, path


def test_roles_are_kept_in_sync_with_admin_flags(db: Any) -> None:
    from accounts.models import Role
    from accounts.roles import COORDINATOR_GROUP, user_set_role
    from tests.factories import UserFactory

    user = UserFactory()
    user_set_role(user=user, role=Role.COORDINATOR)
    assert user.is_staff and user.groups.filter(name=COORDINATOR_GROUP).exists()
    assert user.has_perm("cases.view_case") and not user.has_perm("cases.delete_case")
    user_set_role(user=user, role=Role.FAMILY)
    user = User.objects.get(pk=user.pk)
    assert not user.is_staff and not user.groups.exists()


def test_last_seen_is_saved_at_most_once_a_minute(client: Client, family: User) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def session_writes() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("account_profile")).status_code == 200
        return sum('UPDATE "django_session"' in q["sql"] for q in ctx.captured_queries)

    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        _sign_in(client, family)
        assert session_writes() == 0  # signed in a moment ago: nothing new to keep
        clock.shift(timedelta(seconds=59))
        assert session_writes() == 0
        clock.shift(timedelta(seconds=2))
        assert session_writes() == 1  # a minute on: "last seen" and the expiry move
        assert session_writes() == 0
        # Active every 50 seconds for 40 minutes: never signed out as idle.
        for _ in range(48):
            clock.shift(timedelta(seconds=50))
            assert client.get(reverse("dashboard")).status_code == 200
        clock.shift(timedelta(minutes=31))
        assert client.get(reverse("dashboard")).status_code == 302


def test_signing_out_ends_the_session_for_a_copy_of_its_cookie(
    client: Client, family: User
) -> None:
    """The session is read from the cache (cached_db with Redis): signing out must drop the
    cached copy too, or a copied cookie would stay signed in."""
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _sign_in(client, family)
    copy = Client()
    copy.cookies[settings.SESSION_COOKIE_NAME] = client.cookies[settings.SESSION_COOKIE_NAME].value
    with CaptureQueriesContext(connection) as ctx:
        assert copy.get(reverse("dashboard")).status_code == 200
    if settings.SESSION_ENGINE.endswith("cached_db"):
        assert not any('FROM "django_session"' in q["sql"] for q in ctx.captured_queries)
    client.post(reverse("account_logout"))
    response = copy.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
