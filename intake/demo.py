"""Demo requests for ``seed_demo``: a draft and a submitted request for each demo family.

Saving a card is billing's (above this app): the demo scenario (``demo.scenario``) passes
billing's demo card step in as ``card_save``."""

from datetime import date
from typing import Any, Protocol

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import Specialty, User
from cases.models import Case, Status

from .models import Intake, StateEligibility
from .records import record_create_from_upload
from .services import case_start, case_submit, question_add


class CardSave(Protocol):
    """Saves a test card on a demo request; False when there is no Stripe to save it with."""

    def __call__(self, *, case: Case, by: User) -> bool: ...


DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)

CHILDREN: dict[str, dict[str, Any]] = {
    "family@example.com": {
        "first": "Sofia",
        "last": "Lopez",
        "born": date(2016, 4, 2),
        "state": "OR",
        "city": "Portland",
        "zip": "97201",
        "physician": ("Priya Shah", "physician@example.com"),
        "specialty": "cardiology",
        "second_first": "Mateo",
    },
    "family2@example.com": {
        "first": "Noah",
        "last": "Carter",
        "born": date(2019, 9, 14),
        "state": "TX",
        "city": "Austin",
        "zip": "78701",
        "physician": ("Laura Bennett", "lbennett@example.org"),
        "specialty": "neurology",
        "second_first": "Emma",
    },
}


def _fill(intake: Intake, child: dict, first: str, *, complete: bool) -> None:
    now = timezone.now()
    residence = StateEligibility.objects.get(code=child["state"])
    intake.not_urgent_attested_at = now
    intake.english_acknowledged = True
    intake.residence = residence
    intake.child_legal_first_name = first
    intake.child_legal_last_name = child["last"]
    intake.child_date_of_birth = child["born"]
    intake.child_sex = "unknown"
    intake.address_line1 = "100 Main Street"
    intake.address_city = child["city"]
    intake.address_state = child["state"]
    intake.address_zip = child["zip"]
    intake.guardian_name = "Demo Parent"
    intake.guardian_relationship = "parent"
    intake.guardian_phone = "555-555-0100"
    intake.guardian_attested_at = now
    intake.current_step = "physician"
    if complete:
        intake.physician_name, _ = child["physician"]
        intake.physician_phone = "555-555-0142"
        intake.physician_practice = "Community Pediatrics"
        intake.physician_specialty = "Pediatrics"
        intake.physician_licence_state = child["state"]
        intake.diagnosis = "Demo diagnosis text."
        intake.recommended_treatment = "Demo recommended treatment."
        intake.terms_accepted_at = intake.records_use_authorised_at = now
        intake.no_relationship_acknowledged_at = now
        intake.current_step = "review"
    intake.save()


def demo_request_submit(
    *,
    family: User,
    child: dict[str, Any],
    first: str,
    specialty: str,
    card_save: CardSave | None = None,
) -> Case:
    """A complete request with questions and two small records, submitted. With
    ``card_save``, a paid specialty gets the test card when Stripe (localstripe) is there;
    otherwise it becomes free."""
    case = case_start(by=family)
    _fill(case.intake, child, first, complete=True)
    case.physician_email = child["physician"][1]
    case.specialty = Specialty.objects.get(slug=specialty)
    case.save(update_fields=["physician_email", "specialty"])
    for text in [
        "Is the recommended treatment the right choice for our child now?",
        "What are the risks if we wait six months?",
        "Are there other options we should ask our physician about?",
    ]:
        question_add(case=case, by=family, text=text)
    for name, kind in [("clinic-notes.pdf", "clinical_notes"), ("lab-results.pdf", "lab_results")]:
        content = DEMO_PDF + name.encode() + first.encode()  # distinct files: not duplicates
        record_create_from_upload(
            case=case,
            by=family,
            kind=kind,
            uploaded=SimpleUploadedFile(name, content, content_type="application/pdf"),
        )
    if card_save is not None and not card_save(case=case, by=family):
        # No Stripe (test) key here: make the demo request a free one instead.
        case.specialty = Specialty.objects.get(slug="cardiac-surgery")
        case.save(update_fields=["specialty"])
    submitted = case_submit(case=case, by=family)
    if submitted.status != Status.SUBMITTED:
        raise RuntimeError(f"The demo request {submitted.reference} was not submitted.")
    return submitted


def demo_free_request_submit(family: User, first: str) -> Case:
    """A submitted request for another child of a demo family, in a free specialty (cardiac
    surgery): the lifecycle and report demos need no card; billing's demo shows payments."""
    return demo_request_submit(
        family=family, child=CHILDREN[family.email], first=first, specialty="cardiac-surgery"
    )


def demo_intake_ensure(people: dict[str, User], *, card_save: CardSave) -> list[Case]:
    """For each demo family: a draft, and a submitted request (card saved when paid)."""
    made = []
    for email, child in CHILDREN.items():
        family = people[email]
        if Intake.objects.filter(case__family=family, child_legal_last_name=child["last"]).exists():
            continue  # already seeded
        draft = case_start(by=family)
        _fill(draft.intake, child, child["second_first"], complete=False)
        submitted = demo_request_submit(
            family=family,
            child=child,
            first=child["first"],
            specialty=child["specialty"],
            card_save=card_save,
        )
        made += [draft, submitted]
    return made
