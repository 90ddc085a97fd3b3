"""Physicians (invitation, starting a request, linking) and a second guardian."""

from typing import Any

from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Role, User
from cases.models import CaseMember, Status
from intake.models import PhysicianLinkRequest
from intake.services import physician_link_decide
from tests.conftest import login
from tests.factories import UserFactory
from tests.intake.helpers import add_question, complete_and_submit, start


def _submitted_case(client: Client, family: Any, capture: Any) -> Any:
    login(client, family)
    case = start(client)
    complete_and_submit(client, case, capture)
    case.refresh_from_db()
    return case


def test_invited_physician_signs_up_and_sees_the_case(
    client: Client, family: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = _submitted_case(client, family, django_capture_on_commit_callbacks)
    invite = next(m for m in mail.outbox if m.to == ["physician@example.com"])
    # The text part is not HTML-escaped: the link works as typed.
    assert "?email=physician%40example.com&role=physician" in invite.body
    client.logout()
    signup = reverse("account_signup") + "?email=physician@example.com&role=physician"
    page = client.get(signup).content.decode()
    assert 'value="physician@example.com"' in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            signup,
            {
                "role": "physician",
                "email": "physician@example.com",
                "password1": "a-Long-and-unusual-passphrase-42",
                "password2": "a-Long-and-unusual-passphrase-42",
            },
        )
    physician = User.objects.get(email="physician@example.com")
    assert physician.role == Role.PHYSICIAN
    # Before verifying the email the gate does not match them.
    client.force_login(physician)
    assert client.get(reverse("case_detail", args=[case.reference])).status_code == 404
    EmailAddress.objects.filter(user=physician).update(verified=True)
    page = client.get(reverse("case_detail", args=[case.reference]))
    assert page.status_code == 200
    assert "Is surgery the right choice now?" in page.content.decode()


def test_physician_adds_questions_up_to_the_shared_limit(
    client: Client, family: Any, physician: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = _submitted_case(client, family, django_capture_on_commit_callbacks)  # 1 question
    login(client, physician)
    for n in range(9):
        assert (
            add_question(client, case, f"Physician question {n} about dosing?").status_code == 302
        )
    response = add_question(client, case, "One more physician question here?")
    assert response.status_code == 400
    assert case.questions.count() == 10
    assert case.questions.filter(asked_by=physician).count() == 9


def test_physician_starts_a_request_and_the_guardian_submits_it(
    client: Client, physician: Any, django_capture_on_commit_callbacks: Any
) -> None:
    login(client, physician)
    case = start(client)
    assert case.family is None and case.physician_email == physician.email
    assert case.intake.started_by_physician
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("guardians_action", args=[case.reference]),
            {"action": "invite", "email": "parent@example.com"},
        )
    assert response.status_code == 302
    invite = next(m for m in mail.outbox if m.to == ["parent@example.com"])
    assert "physician has started" in invite.body and "role=family" in invite.body
    parent = UserFactory(email="parent@example.com")
    parent_client = login(Client(), parent)
    with django_capture_on_commit_callbacks(execute=True):
        complete_and_submit(parent_client, case, django_capture_on_commit_callbacks)
    case.refresh_from_db()
    assert case.status == Status.SUBMITTED and case.family == parent
    assert case.created_by == physician
    page = parent_client.get(reverse("case_detail", args=[case.reference])).content.decode()
    assert "Started by" in page


def test_a_physician_cannot_submit_for_the_family(
    client: Client, physician: Any, django_capture_on_commit_callbacks: Any
) -> None:
    login(client, physician)
    case = start(client)
    response = complete_and_submit(client, case, django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert "parent or guardian must review and submit" in response.content.decode()
    case.refresh_from_db()
    assert case.status == Status.DRAFT


def test_linking_by_reference_with_the_matching_email_is_immediate(
    client: Client, family: Any, physician: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = _submitted_case(client, family, django_capture_on_commit_callbacks)
    login(client, physician)
    response = client.post(
        reverse("physician_link"), {"reference": case.reference, "date_of_birth": "2016-04-02"}
    )
    assert response["Location"] == reverse("case_detail", args=[case.reference])


def test_linking_another_physician_needs_the_coordinator(
    client: Client,
    family: Any,
    other_physician: Any,
    coordinator: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    case = _submitted_case(client, family, django_capture_on_commit_callbacks)
    login(client, other_physician)
    wrong = client.post(
        reverse("physician_link"), {"reference": case.reference, "date_of_birth": "2015-01-01"}
    )
    unknown = client.post(
        reverse("physician_link"), {"reference": "OSO-ZZZZ-ZZZZ", "date_of_birth": "2016-04-02"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        right = client.post(
            reverse("physician_link"), {"reference": case.reference, "date_of_birth": "2016-04-02"}
        )
    # The same answer whether or not the case exists.
    assert wrong["Location"] == unknown["Location"] == right["Location"] == reverse("dashboard")
    assert client.get(reverse("case_detail", args=[case.reference])).status_code == 404
    link = PhysicianLinkRequest.objects.get(case=case)
    assert any(m.to == [coordinator.email] and case.reference in m.subject for m in mail.outbox)
    physician_link_decide(link=link, by=coordinator, approve=True)
    assert client.get(reverse("case_detail", args=[case.reference])).status_code == 200


def test_a_second_guardian_sees_and_acts_until_revoked(
    client: Client, family: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = _submitted_case(client, family, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("guardians_action", args=[case.reference]),
            {"action": "invite", "email": "dad@example.com"},
        )
    assert any(m.to == ["dad@example.com"] for m in mail.outbox)
    dad = UserFactory(email="dad@example.com")
    dad_client = login(Client(), dad)
    assert dad_client.get(reverse("case_detail", args=[case.reference])).status_code == 200
    assert add_question(dad_client, case, "A question from the second parent?").status_code == 302
    assert case.questions.filter(asked_by=dad).exists()
    # The second guardian cannot manage guardians; the first can revoke.
    member = CaseMember.objects.get(case=case, email="dad@example.com")
    refused = dad_client.post(
        reverse("guardians_action", args=[case.reference]),
        {"action": "revoke", "member": member.pk},
    )
    assert refused.status_code == 404
    client.post(
        reverse("guardians_action", args=[case.reference]),
        {"action": "revoke", "member": member.pk},
    )
    assert dad_client.get(reverse("case_detail", args=[case.reference])).status_code == 404


def test_inviting_a_bad_email_keeps_the_input(
    client: Client, family: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = _submitted_case(client, family, django_capture_on_commit_callbacks)
    response = client.post(
        reverse("guardians_action", args=[case.reference]), {"action": "invite", "email": "nope"}
    )
    assert response.status_code == 400
    assert "Enter a valid email address" in response.content.decode()
    assert 'value="nope"' in response.content.decode()
