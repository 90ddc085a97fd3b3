"""Building requests through the real form, step by step, as a family would."""

from typing import Any

from django.test import Client
from django.urls import reverse

from cases.models import Case

CHILD = {
    "child_legal_first_name": "Sofia",
    "child_legal_last_name": "Lopez",
    "child_preferred_name": "Sofi",
    "child_date_of_birth": "2016-04-02",
    "child_sex": "female",
    "address_line1": "12 Elm Street",
    "address_line2": "",
    "address_city": "Portland",
    "address_state": "OR",
    "address_zip": "97201",
    "guardian_name": "Maria Lopez",
    "guardian_relationship": "mother",
    "guardian_phone": "503-555-0100",
    "guardian_attested": "on",
}
PHYSICIAN = {
    "physician_name": "Priya Shah",
    "physician_email": "physician@example.com",
    "physician_phone": "503-555-0142",
    "physician_practice": "Riverside Pediatrics",
    "physician_specialty": "Pediatrics",
    "physician_licence_state": "OR",
}


def step_url(case: Case, step: str) -> str:
    return reverse("intake_step", args=[case.reference, step])


def start(client: Client) -> Case:
    response = client.post(reverse("request_new"))
    assert response.status_code == 302
    case = Case.objects.latest("pk")
    assert response["Location"] == step_url(case, "start")
    return case


def post_step(client: Client, case: Case, step: str, data: dict[str, Any]) -> Any:
    return client.post(step_url(case, step), data)


def fill_until_questions(
    client: Client, case: Case, *, state: str = "OR", specialty: str = "cardiac-surgery"
) -> None:
    """Fill every step before the questions. The default specialty is free (no card step),
    so these tests need no payment; billing tests add the card themselves."""
    from accounts.models import Specialty

    assert (
        post_step(client, case, "start", {"not_urgent": "on", "english": "on"}).status_code == 302
    )
    assert post_step(client, case, "eligibility", {"residence": state}).status_code == 302
    assert post_step(client, case, "child", {**CHILD, "address_state": state}).status_code == 302
    response = post_step(client, case, "physician", {**PHYSICIAN, "physician_licence_state": state})
    assert response.status_code == 302, response.content.decode()[:3000]
    chosen = Specialty.objects.get(slug=specialty)
    response = post_step(
        client,
        case,
        "question",
        {
            "specialty": chosen.pk,
            "diagnosis": "Ventricular septal defect",
            "recommended_treatment": "Surgical closure at age 9",
            "tried_so_far": "Monitoring",
        },
    )
    assert response.status_code == 302


def add_question(client: Client, case: Case, text: str) -> Any:
    return client.post(
        reverse("questions_action", args=[case.reference]), {"action": "add", "text": text}
    )


def complete_and_submit(client: Client, case: Case, capture: Any) -> Any:
    fill_until_questions(client, case)
    assert add_question(client, case, "Is surgery the right choice now?").status_code == 302
    assert post_step(client, case, "records", {}).status_code == 302
    with capture(execute=True):
        return post_step(
            client,
            case,
            "review",
            {"terms": "on", "records_use": "on", "no_relationship": "on"},
        )
