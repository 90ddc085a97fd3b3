"""Staff must set up and pass MFA; families never reach admin; admin sign-in is allauth's."""

from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client
from django.urls import reverse

from accounts.models import Role, User
from accounts.roles import user_set_role
from tests.conftest import login, totp_now
from tests.factories import UserFactory

PASSWORD = "SecondOpinion-demo-2026"


def _password_step(client: Client, user: User, next_url: str = "/admin/") -> Any:
    return client.post(
        f"{reverse('account_login')}?next={next_url}",
        {"login": user.email, "password": PASSWORD},
    )


def _reauthenticate(client: Client) -> None:
    # allauth asks for the password again before a security change such as adding TOTP.
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302


def test_admin_sends_anonymous_people_to_the_allauth_sign_in(client: Client) -> None:
    response = client.get("/admin/")
    assert response.status_code == 302
    login_url = client.get(response["Location"])
    # django's admin login view is wrapped: it forwards to allauth's login.
    assert login_url.status_code == 302
    assert login_url["Location"].startswith(reverse("account_login"))


def test_coordinator_signs_in_with_password_and_totp_and_reaches_admin(
    client: Client, coordinator: User
) -> None:
    response = _password_step(client, coordinator)
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert client.get("/admin/").status_code == 302  # not signed in yet
    response = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert response.status_code == 200 and "Incorrect code" in response.content.decode()
    response = client.post(reverse("mfa_authenticate"), {"code": totp_now()})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    page = client.get("/admin/")
    assert page.status_code == 200
    assert "coordinator console" in page.content.decode()


def test_a_used_totp_code_cannot_be_replayed(coordinator: User) -> None:
    code = totp_now()
    first = Client()
    _password_step(first, coordinator)
    assert first.post(reverse("mfa_authenticate"), {"code": code}).status_code == 302
    second = Client()
    _password_step(second, coordinator)
    response = second.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 200
    assert second.get("/admin/").status_code == 302


def test_recovery_code_works_once(coordinator: User) -> None:
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    rc = RecoveryCodes(Authenticator.objects.get(user=coordinator, type="recovery_codes"))
    code = rc.get_unused_codes()[0]
    client = Client()
    _password_step(client, coordinator)
    assert client.post(reverse("mfa_authenticate"), {"code": code}).status_code == 302
    assert client.get("/admin/").status_code == 200
    again = Client()
    _password_step(again, coordinator)
    assert again.post(reverse("mfa_authenticate"), {"code": code}).status_code == 200


def test_staff_without_mfa_are_sent_to_set_it_up(client: Client) -> None:
    specialist = UserFactory(email="new.specialist@example.com")
    user_set_role(user=specialist, role=Role.SPECIALIST)
    _password_step(client, specialist, next_url="/cases/")
    for path in ["/admin/", reverse("dashboard")]:
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == reverse("mfa_activate_totp")
    # Their own account pages stay reachable so they can set it up.
    _reauthenticate(client)
    assert client.get(reverse("mfa_activate_totp")).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_activating_totp_counts_as_passing_mfa_for_the_session(client: Client) -> None:
    # transaction=True: allauth announces the new authenticator on commit, as in production.
    coordinator = UserFactory(email="new.coordinator@example.com")
    user_set_role(user=coordinator, role=Role.COORDINATOR)
    _password_step(client, coordinator)
    _reauthenticate(client)
    page = client.get(reverse("mfa_activate_totp"))
    secret = page.context["form"].secret
    code = totp_now(secret)
    response = client.post(reverse("mfa_activate_totp"), {"code": code})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=coordinator, type="totp").exists()
    assert client.get("/admin/").status_code == 200


def test_staff_with_mfa_but_a_session_without_it_must_pass_it(
    client: Client, coordinator: User
) -> None:
    client.force_login(coordinator)  # a session that never passed the second factor
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_reauthenticate"))


def test_the_mfa_rule_reads_the_authenticators_with_the_user_and_sees_a_removal_at_once(
    client: Client, specialist: User
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login(client, specialist)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("workspace")).status_code == 200
    assert not any(
        q["sql"].startswith('SELECT 1 AS "a" FROM "mfa_authenticator"')
        for q in captured.captured_queries
    )
    # Nothing about the second factor is kept between requests: without an authenticator
    # the next page sends the specialist to set one up, in the same session.
    Authenticator.objects.filter(user=specialist).delete()
    response = client.get(reverse("workspace"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")


def test_families_and_physicians_never_reach_admin(
    client: Client, family: User, physician: User
) -> None:
    for person in (family, physician):
        login(client, person)
        # Admin sends non-staff to its login, which (allauth's secure_admin_login) refuses
        # a signed-in non-staff person outright.
        for path in ["/admin/", "/admin/cases/case/"]:
            response = client.get(path)
            assert response.status_code == 302
            assert response["Location"].startswith("/admin/login/")
            refused = client.get(response["Location"])
            assert refused.status_code == 403
            assert b"coordinator console" not in refused.content


def test_families_may_opt_in_to_mfa(client: Client, family: User) -> None:
    _password_step(client, family, next_url="/cases/")
    assert client.get(reverse("dashboard")).status_code == 200  # not forced
    _reauthenticate(client)
    assert client.get(reverse("mfa_activate_totp")).status_code == 200


def test_admin_sign_in_is_rate_limited(client: Client, coordinator: User) -> None:
    url = f"{reverse('account_login')}?next=/admin/"
    for _ in range(5):
        client.post(url, {"login": coordinator.email, "password": "nope"})
    response = client.post(url, {"login": coordinator.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
