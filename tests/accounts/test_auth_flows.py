"""Sign-up with mandatory verification, sign-in, no account enumeration, rate limits."""

import re
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Role, User
from core.models import OutboundEmail
from tests.factories import UserFactory

PASSWORD = "a-Long-and-unusual-passphrase-42"


def _signup(client: Client, email: str, capture: Any) -> Any:
    with capture(execute=True):
        return client.post(
            reverse("account_signup"),
            {"email": email, "password1": PASSWORD, "password2": PASSWORD},
        )


def _link(message: Any) -> str:
    match = re.search(r"https?://testserver(/accounts/confirm-email/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_signup_requires_verifying_the_email_before_sign_in(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    response = _signup(client, "New.Parent@Example.com", django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get(email="new.parent@example.com")
    assert user.role == Role.FAMILY and not user.is_staff
    # The email went through the outbox and a task, not inline.
    queued = OutboundEmail.objects.get(to="new.parent@example.com")
    assert queued.state == OutboundEmail.State.SENT and queued.kind == "email_confirmation_signup"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.parent@example.com"]
    assert "Confirm" in mail.outbox[0].subject or "confirm" in mail.outbox[0].body.lower()
    # allauth's wording names the service, never "Hello from !".
    assert "Hello from Online Second Opinion!" in mail.outbox[0].body
    assert "from !" not in mail.outbox[0].body and " on ." not in mail.outbox[0].body

    # Unverified: signing in sends the person back to verify, not into the portal.
    client.logout()
    response = client.post(
        reverse("account_login"), {"login": "new.parent@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] != reverse("dashboard")
    assert not client.get(reverse("dashboard")).wsgi_request.user.is_authenticated

    link = _link(mail.outbox[-1])
    assert client.get(link).status_code == 200
    client.post(link)
    assert EmailAddress.objects.get(user=user).verified
    response = client.post(
        reverse("account_login"), {"login": "new.parent@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    assert client.get(reverse("dashboard")).status_code == 200


def test_signup_with_a_taken_email_looks_the_same_and_tells_the_owner(
    client: Client, family: User, django_capture_on_commit_callbacks: Any
) -> None:
    fresh = _signup(Client(), "someone.new@example.com", django_capture_on_commit_callbacks)
    taken = _signup(client, family.email, django_capture_on_commit_callbacks)
    assert (taken.status_code, taken["Location"]) == (fresh.status_code, fresh["Location"])
    assert User.objects.filter(email=family.email).count() == 1
    owner_mail = [m for m in mail.outbox if m.to == [family.email]]
    assert len(owner_mail) == 1  # "someone tried to sign up with your address"


def test_password_reset_does_not_reveal_who_has_an_account(
    client: Client, family: User, django_capture_on_commit_callbacks: Any
) -> None:
    url = reverse("account_reset_password")
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post(url, {"email": family.email})
        unknown = client.post(url, {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert [m.to for m in mail.outbox] == [[family.email], ["nobody@example.com"]]
    assert "reset" in mail.outbox[0].body.lower()


def test_the_session_key_rotates_at_sign_in(client: Client, family: User) -> None:
    client.get(reverse("account_login"))
    client.session.save()
    before = client.session.session_key
    client.post(reverse("account_login"), {"login": family.email, "password": PASSWORD})
    response = client.post(
        reverse("account_login"),
        {"login": family.email, "password": "SecondOpinion-demo-2026"},
    )
    assert response.status_code == 302
    assert client.session.session_key != before
    assert client.get(reverse("dashboard")).status_code == 200


def test_sign_in_failures_are_rate_limited(client: Client, family: User) -> None:
    url = reverse("account_login")
    statuses = []
    for _ in range(6):
        response = client.post(url, {"login": family.email, "password": "wrong-password"})
        statuses.append("Too many failed login attempts" in response.content.decode())
    assert statuses[:5] == [False] * 5 and statuses[5] is True
    # Even the right password is refused while the limit holds.
    response = client.post(url, {"login": family.email, "password": "SecondOpinion-demo-2026"})
    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated


def test_email_change_needs_verification_of_the_new_address(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    user = UserFactory(email="parent@example.com")
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_email"), {"action_add": "", "email": "parent.new@example.com"}
        )
    assert response.status_code == 302
    new = EmailAddress.objects.get(email="parent.new@example.com")
    assert not new.verified
    assert any(m.to == ["parent.new@example.com"] for m in mail.outbox)


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/", "/"])
def test_public_pages_carry_the_urgent_care_warning(client: Client, path: str) -> None:
    body = client.get(path).content.decode()
    assert "call 911" in body
