"""The request form through HTTP: every step, every rule, drafts kept, submission."""

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from cases.models import AccessEvent, Status, TimelineEvent
from intake.models import Intake, Question, StateEligibility
from tests.conftest import login
from tests.intake.helpers import (
    CHILD,
    PHYSICIAN,
    add_question,
    complete_and_submit,
    fill_until_questions,
    post_step,
    start,
    step_url,
)


@pytest.fixture
def family_client(client: Client, family: Any) -> Client:
    return login(client, family)


def test_starting_creates_a_draft_owned_by_the_family(family_client: Client, family: Any) -> None:
    case = start(family_client)
    assert case.status == Status.DRAFT and case.family == family and case.created_by == family
    assert Intake.objects.filter(case=case, started_by_physician=False).exists()
    page = family_client.get(step_url(case, "start"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "call 911" in body and "$875" in body and "10 business days" in body
    assert "English" in body


def test_the_not_urgent_attestation_is_required(family_client: Client) -> None:
    case = start(family_client)
    response = post_step(family_client, case, "start", {"english": "on"})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert Intake.objects.get(case=case).not_urgent_attested_at is None


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("CA", "outside California"),
        ("AL", "Alabama"),
        ("AK", "Alaska"),
        ("ME", "Maine"),
        ("NM", "New Mexico"),
        ("TN", "Tennessee"),
        ("PR", "not available yet"),
        ("GU", "more places soon"),
        ("XX", "United States"),
    ],
)
def test_ineligible_places_are_refused_with_the_reason(
    family_client: Client, code: str, words: str
) -> None:
    case = start(family_client)
    response = post_step(family_client, case, "eligibility", {"residence": code})
    assert response.status_code == 200
    body = response.content.decode()
    reason = StateEligibility.objects.get(code=code).reason
    assert reason and reason in body.replace("&#x27;", "'")
    assert "in-person appointment" in body  # what they can do instead
    assert Intake.objects.get(case=case).residence is None
    # And they cannot get round it: submitting is refused while eligibility is missing.
    assert "eligibility" in __import__("intake.services", fromlist=["x"]).intake_missing(case)


def test_reason_text_comes_from_the_database(family_client: Client) -> None:
    StateEligibility.objects.filter(code="ME").update(reason="Maine: custom words from admin.")
    case = start(family_client)
    body = post_step(family_client, case, "eligibility", {"residence": "ME"}).content.decode()
    assert "Maine: custom words from admin." in body


@pytest.mark.parametrize("code", ["DC", "OR", "NY", "TX"])
def test_eligible_places_continue(family_client: Client, code: str) -> None:
    case = start(family_client)
    response = post_step(family_client, case, "eligibility", {"residence": code})
    assert response.status_code == 302
    assert response["Location"] == step_url(case, "child")
    assert Intake.objects.get(case=case).residence_id == code


def test_an_admin_can_reopen_a_state_without_a_deploy(family_client: Client) -> None:
    StateEligibility.objects.filter(code="TN").update(is_available=True)
    case = start(family_client)
    assert post_step(family_client, case, "eligibility", {"residence": "TN"}).status_code == 302


def test_child_address_must_match_the_eligibility_state(family_client: Client) -> None:
    case = start(family_client)
    post_step(family_client, case, "eligibility", {"residence": "OR"})
    response = post_step(family_client, case, "child", {**CHILD, "address_state": "WA"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "must be in Oregon" in body
    assert 'value="Sofia"' in body and 'value="12 Elm Street"' in body  # nothing typed is lost


def test_child_date_of_birth_must_be_in_the_past(family_client: Client) -> None:
    case = start(family_client)
    post_step(family_client, case, "eligibility", {"residence": "OR"})
    response = post_step(
        family_client, case, "child", {**CHILD, "child_date_of_birth": "2099-01-01"}
    )
    assert "must be in the past" in response.content.decode()


def test_physician_licence_must_be_the_childs_state(family_client: Client) -> None:
    case = start(family_client)
    post_step(family_client, case, "eligibility", {"residence": "OR"})
    response = post_step(
        family_client, case, "physician", {**PHYSICIAN, "physician_licence_state": "WA"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "must be licensed in Oregon" in body
    assert 'value="Riverside Pediatrics"' in body
    case.refresh_from_db()
    assert case.physician_email == ""


def test_ten_questions_accepted_and_an_eleventh_refused(family_client: Client) -> None:
    case = start(family_client)
    for n in range(1, 11):
        assert (
            add_question(family_client, case, f"Question number {n} about the plan?").status_code
            == 302
        )
    response = add_question(family_client, case, "An eleventh question about the plan?")
    assert response.status_code == 400
    assert "at most 10 questions" in response.content.decode()
    assert Question.objects.filter(case=case).count() == 10
    assert list(Question.objects.filter(case=case).values_list("position", flat=True)) == list(
        range(1, 11)
    )


@pytest.mark.parametrize(
    ("text", "message"), [("Too short", "at least 10"), ("x" * 1001, "at most 1000")]
)
def test_question_length_is_checked(family_client: Client, text: str, message: str) -> None:
    case = start(family_client)
    response = add_question(family_client, case, text)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Question.objects.filter(case=case).exists()


def test_questions_can_be_reordered_edited_and_removed(family_client: Client) -> None:
    case = start(family_client)
    for text in ["First question here?", "Second question here?", "Third question here?"]:
        add_question(family_client, case, text)
    q1, q2, q3 = Question.objects.filter(case=case)
    url = reverse("questions_action", args=[case.reference])
    family_client.post(url, {"action": "down", "question": q1.pk})
    assert list(Question.objects.filter(case=case).values_list("text", flat=True)) == [
        "Second question here?",
        "First question here?",
        "Third question here?",
    ]
    family_client.post(url, {"action": "edit", "question": q3.pk, "text": "Third, now edited?"})
    family_client.post(url, {"action": "remove", "question": q2.pk})
    assert list(Question.objects.filter(case=case).values_list("position", "text")) == [
        (1, "First question here?"),
        (2, "Third, now edited?"),
    ]


def test_a_full_request_is_submitted_with_emails(
    family_client: Client, family: Any, coordinator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = start(family_client)
    response = complete_and_submit(family_client, case, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert response["Location"] == reverse("case_detail", args=[case.reference])
    case.refresh_from_db()
    assert case.status == Status.SUBMITTED and case.submitted_at is not None
    assert TimelineEvent.objects.filter(
        case=case, to_status=Status.SUBMITTED, actor=family
    ).exists()
    by_recipient = {m.to[0]: m for m in mail.outbox}
    assert set(by_recipient) == {family.email, "physician@example.com", coordinator.email}
    for message in mail.outbox:
        body = message.body + message.alternatives[0][0]
        assert case.reference in message.subject
        for secret in ["Ventricular", "Surgical", "Sofia", "surgery the right"]:
            assert secret not in body and secret not in message.subject
    assert "role=physician" in by_recipient["physician@example.com"].body


def test_submission_is_refused_while_steps_are_missing(family_client: Client) -> None:
    case = start(family_client)
    post_step(family_client, case, "start", {"not_urgent": "on", "english": "on"})
    response = post_step(
        family_client, case, "review", {"terms": "on", "records_use": "on", "no_relationship": "on"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Some steps still need your attention" in body
    assert "Ask at least one question" in body
    case.refresh_from_db()
    assert case.status == Status.DRAFT


def test_tampered_posts_change_nothing(family_client: Client, other_family: Any) -> None:
    from tests.factories import CaseFactory

    theirs = CaseFactory(family=other_family, status=Status.DRAFT)
    Intake.objects.create(case=theirs)
    assert add_question(family_client, theirs, "Sneaky question on their case?").status_code == 404
    assert (
        post_step(family_client, theirs, "start", {"not_urgent": "on", "english": "on"}).status_code
        == 404
    )
    mine = start(family_client)
    post_step(
        family_client, mine, "start", {"not_urgent": "on", "english": "on", "status": "assigned"}
    )
    mine.refresh_from_db()
    assert mine.status == Status.DRAFT
    assert AccessEvent.objects.filter(case=theirs, outcome="denied").count() == 2


def test_a_submitted_request_cannot_be_edited_through_the_form(
    family_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    case = start(family_client)
    complete_and_submit(family_client, case, django_capture_on_commit_callbacks)
    response = post_step(family_client, case, "eligibility", {"residence": "NY"})
    assert response.status_code == 302
    assert response["Location"] == reverse("case_detail", args=[case.reference])
    assert Intake.objects.get(case=case).residence_id == "OR"


def test_draft_resumes_after_the_session_expired_without_losing_input(
    client: Client, family: Any
) -> None:
    login(client, family)
    case = start(client)
    post_step(client, case, "start", {"not_urgent": "on", "english": "on"})
    post_step(client, case, "eligibility", {"residence": "OR"})
    client.logout()  # the session ended while they were typing
    response = post_step(client, case, "child", CHILD)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert Intake.objects.get(case=case).child_legal_first_name == ""
    response = client.post(
        f"{reverse('account_login')}?next={step_url(case, 'child')}",
        {"login": family.email, "password": "SecondOpinion-demo-2026"},
    )
    assert response["Location"] == step_url(case, "child")
    page = client.get(step_url(case, "child")).content.decode()
    assert 'value="Sofia"' in page and 'value="12 Elm Street"' in page
    assert "We kept what you typed" in page


def test_dashboard_lists_cases_with_stage_and_next_action(
    family_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    draft = start(family_client)
    submitted = start(family_client)
    complete_and_submit(family_client, submitted, django_capture_on_commit_callbacks)
    body = family_client.get(reverse("dashboard")).content.decode()
    assert draft.reference in body and submitted.reference in body
    assert "Continue draft" in body and "Add records" in body
    assert 'aria-current="step"' in body


def test_dashboard_query_count_does_not_grow_with_cases(
    family_client: Client, family: Any, django_assert_max_num_queries: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import CaseFactory

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert family_client.get(reverse("dashboard")).status_code == 200
        return len(ctx.captured_queries)

    for _ in range(2):
        c = CaseFactory(family=family)
        Intake.objects.create(case=c)
    few = count()
    for _ in range(20):
        c = CaseFactory(family=family)
        Intake.objects.create(case=c)
    assert count() == few


@pytest.mark.parametrize(
    ("specialty", "after_records"), [("cardiology", "card"), ("cardiac-surgery", "review")]
)
def test_the_card_step_is_there_only_for_paid_specialties(
    family_client: Client, specialty: str, after_records: str
) -> None:
    case = start(family_client)
    fill_until_questions(family_client, case, specialty=specialty)
    response = post_step(family_client, case, "records", {})
    assert response.status_code == 302
    assert response["Location"] == step_url(case, after_records)
    stepper = family_client.get(step_url(case, "questions")).content.decode()
    assert ("Payment card" in stepper) is (after_records == "card")


def test_a_paid_request_cannot_be_submitted_without_a_card(family_client: Client) -> None:
    case = start(family_client)
    fill_until_questions(family_client, case, specialty="cardiology")
    add_question(family_client, case, "Is surgery the right choice now?")
    response = post_step(
        family_client, case, "review", {"terms": "on", "records_use": "on", "no_relationship": "on"}
    )
    assert response.status_code == 200
    assert "Add the card we will charge" in response.content.decode()
    case.refresh_from_db()
    assert case.status == Status.DRAFT


def test_the_fee_is_fixed_at_submission(
    family_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    import datetime

    from billing.models import Fee

    case = start(family_client)
    complete_and_submit(family_client, case, django_capture_on_commit_callbacks)
    assert case.billing.fee_cents == 0  # cardiac surgery: no charge
    Fee.objects.create(
        specialty=case.specialty, amount_cents=50000, effective_from=datetime.date(2026, 1, 2)
    )
    case.billing.refresh_from_db()
    assert case.billing.fee_cents == 0


def test_a_child_of_21_or_more_is_flagged_for_the_coordinator(
    family_client: Client, coordinator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = start(family_client)
    complete_and_submit(family_client, case, django_capture_on_commit_callbacks)
    Intake.objects.filter(case=case).update(child_date_of_birth="2001-01-01")
    page = login(Client(), coordinator).get(reverse("case_detail", args=[case.reference]))
    assert "21 or over, check eligibility" in page.content.decode()
    family_page = family_client.get(reverse("case_detail", args=[case.reference]))
    assert "21 or over" not in family_page.content.decode()
    admin = login(Client(), coordinator).get(reverse("admin:intake_intake_changelist"))
    assert "21 or over: check" in admin.content.decode()
