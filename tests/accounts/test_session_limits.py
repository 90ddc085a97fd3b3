"""Past either session limit a signed-in request signs the person out, lands on the sign-in
page with a plain message, and keeps a form they had posted.

The other session tests pass each limit by waiting longer than the session's own expiry, so
the request arrives anonymous and never reaches the limit branch of the middleware. Here the
session is still alive in the database when a limit is passed: that branch once answered 500
because it added a message before the messages middleware had run.

The same tests run again under production settings in a subprocess (last test).
"""

import os
import subprocess
import sys
import time
from datetime import timedelta
from importlib import import_module
from pathlib import Path

import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.middleware import SESSION_SEEN_KEY
from accounts.models import User
from cases.models import Case, Status
from intake.models import Intake
from tests.factories import CaseFactory

PASSWORD = "SecondOpinion-demo-2026"
SIGNED_OUT = "For your privacy you were signed out"


def _sign_in(client: Client, user: User, next_url: str | None = None) -> str:
    url = reverse("account_login") + (f"?next={next_url}" if next_url else "")
    response = client.post(url, {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return str(response["Location"])


def _assert_signed_out_to_login(client: Client, response: object) -> None:
    assert response.status_code == 302  # type: ignore[attr-defined]
    location = response["Location"]  # type: ignore[index]
    assert location.startswith(reverse("account_login"))
    page = client.get(location)
    assert page.status_code == 200
    assert SIGNED_OUT in page.content.decode()
    assert client.get(reverse("dashboard")).status_code == 302  # really signed out


def _twelve_active_hours(client: Client, clock: time_machine.Traveller) -> None:
    """Active every 20 minutes, so the session never expires by itself, until 12 h are up."""
    for _ in range(12 * 3):
        clock.shift(timedelta(minutes=20))
        assert client.get(reverse("dashboard")).status_code == 200
    clock.shift(timedelta(minutes=2))  # 12 h 02 min since sign-in, 2 min since last seen


def test_absolute_limit_with_a_live_session_signs_out_to_the_sign_in_page(
    client: Client, family: User
) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _sign_in(client, family)
        _twelve_active_hours(client, clock)
        _assert_signed_out_to_login(client, client.get(reverse("dashboard")))


def _go_idle_with_a_live_session(client: Client, minutes: int) -> None:
    """ "Last seen" is saved at most once a minute while the session itself may be saved more
    often (and its expiry moved), so a session can be alive with "last seen" over 30 minutes
    old. Put the session in that state."""
    # The configured store (cached_db with Redis): a row changed behind the cache's back
    # would not be what the next request reads.
    store = import_module(settings.SESSION_ENGINE).SessionStore
    session = store(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)
    session[SESSION_SEEN_KEY] = time.time() - minutes * 60
    session.save()


def test_idle_limit_with_a_live_session_signs_out_to_the_sign_in_page(
    client: Client, family: User
) -> None:
    _sign_in(client, family)
    assert client.get(reverse("dashboard")).status_code == 200
    _go_idle_with_a_live_session(client, minutes=29)
    assert client.get(reverse("dashboard")).status_code == 200
    _go_idle_with_a_live_session(client, minutes=31)
    _assert_signed_out_to_login(client, client.get(reverse("dashboard")))


def _draft(family: User) -> Case:
    case = CaseFactory(family=family, status=Status.DRAFT)
    Intake.objects.get_or_create(case=case)
    return case


def _post_diagnosis_and_sign_back_in(client: Client, family: User, case: Case) -> str:
    step = reverse("intake_step", args=[case.reference, "question"])
    typed = {"diagnosis": "Typed before the limit, kept after it", "recommended_treatment": "x"}
    response = client.post(step, typed)
    _assert_signed_out_to_login(client, response)
    assert _sign_in(client, family, next_url=step) == step
    page = client.get(step)
    assert page.status_code == 200
    return page.content.decode()


def test_a_form_posted_past_the_absolute_limit_is_kept(client: Client, family: User) -> None:
    case = _draft(family)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _sign_in(client, family)
        _twelve_active_hours(client, clock)
        html = _post_diagnosis_and_sign_back_in(client, family, case)
    assert "Typed before the limit, kept after it" in html
    assert "We kept what you typed" in html


def test_a_form_posted_past_the_idle_limit_is_kept(client: Client, family: User) -> None:
    case = _draft(family)
    _sign_in(client, family)
    _go_idle_with_a_live_session(client, minutes=45)
    html = _post_diagnosis_and_sign_back_in(client, family, case)
    assert "Typed before the limit, kept after it" in html


def test_the_same_limits_hold_under_production_settings(tmp_path: Path) -> None:
    """Production differs in DEBUG (a failure is a bare 500 there) and in its storages and
    cookies: run the tests above in a child pytest with config.settings.production."""
    if os.environ.get("SESSION_LIMITS_CHILD"):
        return  # this is the child run itself
    root = Path(__file__).resolve().parents[2]
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        database_url = "postgres://postgres:postgres@127.0.0.1:5432/so"
    env = {
        **os.environ,
        "SESSION_LIMITS_CHILD": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "session-limits-test-" + "x" * 50,
        "ALLOWED_HOSTS": "testserver",
        # Its own database: the parent run holds test_<name> already.
        "DATABASE_URL": database_url + "_prodlimits",
        "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15",
        "EMAIL_HOST": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",  # the test client speaks plain HTTP
        "CLAMD_HOST": os.environ.get("CLAMD_HOST") or "127.0.0.1",
        "STRIPE_SECRET_KEY": "sk_test_x",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_x",
        "STRIPE_WEBHOOK_SECRET": "whsec_x",
        "HOSPITAL_ADDRESS": "1 Test Way",
        "HOSPITAL_TAX_ID": "00-0000000",
        "HOSPITAL_NPI": "0000000000",
        "VAR_DIR": str(tmp_path),
    }
    # Production serves static files from the collected manifest, as a deployment would.
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=200,
        check=False,
    )
    assert collected.returncode == 0, collected.stderr[-2000:]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(Path(__file__).relative_to(root)),
            "--ds=config.settings.production",
            "--create-db",
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            "not production_settings",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "4 passed" in result.stdout
