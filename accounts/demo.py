"""Demo accounts for ``seed_demo``: one per role, staff with a known TOTP secret.

Later capabilities add their demo cases in their own apps; this module only makes people.
"""

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.db import transaction

from .models import PhysicianProfile, Role, SpecialistProfile, Specialty, User
from .roles import user_set_role

DEMO_PEOPLE: list[tuple[str, str, Role]] = [
    ("family@example.com", "Maria Lopez", Role.FAMILY),
    ("family2@example.com", "James Carter", Role.FAMILY),
    ("physician@example.com", "Dr. Priya Shah", Role.PHYSICIAN),
    ("coordinator@example.com", "Alex Kim", Role.COORDINATOR),
    ("specialist@example.com", "Dr. Helen Park", Role.SPECIALIST),
    ("specialist2@example.com", "Dr. Omar Haddad", Role.SPECIALIST),
]


def _person(email: str, name: str, role: Role) -> User:
    user, created = User.objects.get_or_create(email=email, defaults={"full_name": name})
    if created:
        user.set_password(settings.DEMO_PASSWORD)
        user.save(update_fields=["password"])
    if user.role != role or user.is_staff != (role == Role.COORDINATOR):
        user_set_role(user=user, role=role)
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    if (
        role in (Role.COORDINATOR, Role.SPECIALIST)
        and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    ):
        TOTP.activate(user, settings.DEMO_TOTP_SECRET)
        RecoveryCodes.activate(user)
    return user


@transaction.atomic
def demo_people_ensure() -> dict[str, User]:
    people = {email: _person(email, name, role) for email, name, role in DEMO_PEOPLE}
    PhysicianProfile.objects.get_or_create(
        user=people["physician@example.com"],
        defaults={
            "full_name": "Priya Shah",
            "credentials": "MD",
            "practice": "Riverside Pediatrics",
            "phone": "503-555-0142",
            "licence_state": "OR",
        },
    )
    for email, title, specialties in [
        ("specialist@example.com", "Attending Cardiologist", ["cardiology", "cardiac-surgery"]),
        ("specialist2@example.com", "Attending Neurologist", ["neurology"]),
    ]:
        profile, _ = SpecialistProfile.objects.get_or_create(
            user=people[email], defaults={"title": title, "credentials": "MD"}
        )
        profile.specialties.set(Specialty.objects.filter(slug__in=specialties))
    return people


# More specialists, so that a coordinator can assign a demo request in every specialty a family
# can choose (specialist@ and specialist2@ above cover cardiology and neurology).
DEMO_MORE_SPECIALISTS: list[tuple[str, str, str, list[str]]] = [
    (
        "specialist3@example.com",
        "Dr. Grace Liu",
        "Attending Physician, Endocrinology, Gastroenterology and Nephrology",
        ["endocrinology", "gastroenterology", "nephrology"],
    ),
    (
        "specialist4@example.com",
        "Dr. Samuel Okafor",
        "Attending Surgeon",
        ["general-surgery", "orthopaedic-surgery", "urology", "neurosurgery"],
    ),
    (
        "specialist5@example.com",
        "Dr. Ana Ruiz",
        "Attending Physician, Hematology, Oncology and Rheumatology",
        ["hematology-and-oncology", "rheumatology"],
    ),
    (
        "specialist6@example.com",
        "Dr. Daniel Weiss",
        "Attending Physician, Otolaryngology and Pulmonology",
        ["otolaryngology", "pulmonology"],
    ),
]


@transaction.atomic
def demo_specialists_ensure() -> dict[str, User]:
    """Create the extra demo specialists; adds specialties, never removes an edited one."""
    people = {}
    for email, name, title, slugs in DEMO_MORE_SPECIALISTS:
        user = _person(email, name, Role.SPECIALIST)
        profile, _ = SpecialistProfile.objects.get_or_create(
            user=user, defaults={"title": title, "credentials": "MD"}
        )
        profile.specialties.add(*Specialty.objects.filter(slug__in=slugs))
        people[email] = user
    return people
