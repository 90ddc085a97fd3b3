"""What a family (or physician) tells us in a request: eligibility, the child, the local
physician, the clinical question, the questions, and the records."""

import secrets
import uuid
from datetime import date
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from localflavor.us.models import USStateField

from accounts.models import phone_validator
from cases.models import Case


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class StateEligibility(models.Model):
    """Where the service is offered. One row per US state, DC, territory, plus "outside the
    US"; administrators change availability and the reason families see without a deploy."""

    OUTSIDE_US = "XX"

    code = models.CharField(max_length=2, primary_key=True)
    name = models.CharField(max_length=80)
    is_available = models.BooleanField(default=True)
    reason = models.TextField(
        blank=True, help_text="Shown to families when the service is not available there."
    )
    sort_order = models.PositiveIntegerField(default=100)

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name = "state eligibility rule"

    def __str__(self) -> str:
        return f"{self.name} ({'available' if self.is_available else 'not available'})"


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    INTERSEX = "intersex", "Intersex"
    UNKNOWN = "unknown", "Prefer not to say"


class Relationship(models.TextChoices):
    MOTHER = "mother", "Mother"
    FATHER = "father", "Father"
    PARENT = "parent", "Parent"
    LEGAL_GUARDIAN = "legal_guardian", "Legal guardian"
    PATIENT = "patient", "The patient (18 or older)"


# The fields copied onto the case (see ``Intake.save``).
CHILD_NAME_FIELDS = ("child_legal_first_name", "child_legal_last_name")


class Intake(models.Model):
    """The request form's answers, one per case, filled step by step while in draft."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="intake")
    current_step = models.CharField(max_length=20, default="start")
    started_by_physician = models.BooleanField(default=False)

    # 1. Before you start
    not_urgent_attested_at = models.DateTimeField(null=True, blank=True)
    english_acknowledged = models.BooleanField(default=False)
    # 2. Eligibility
    residence = models.ForeignKey(StateEligibility, on_delete=models.PROTECT, null=True, blank=True)
    # 3. The child
    child_legal_first_name = models.CharField(max_length=100, blank=True)
    child_legal_last_name = models.CharField(max_length=100, blank=True)
    child_preferred_name = models.CharField(max_length=100, blank=True)
    child_date_of_birth = models.DateField(null=True, blank=True)
    child_sex = models.CharField(max_length=10, choices=Sex.choices, blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    address_city = models.CharField(max_length=100, blank=True)
    address_state = USStateField(blank=True)
    address_zip = models.CharField(max_length=10, blank=True)
    guardian_name = models.CharField(max_length=200, blank=True)
    guardian_relationship = models.CharField(
        max_length=20, choices=Relationship.choices, blank=True
    )
    guardian_phone = models.CharField(max_length=30, blank=True, validators=[phone_validator])
    guardian_attested_at = models.DateTimeField(null=True, blank=True)
    # 4. The local physician (the email lives on Case.physician_email: the access gate uses it)
    physician_name = models.CharField(max_length=200, blank=True)
    physician_phone = models.CharField(max_length=30, blank=True, validators=[phone_validator])
    physician_practice = models.CharField(max_length=200, blank=True)
    physician_specialty = models.CharField(max_length=120, blank=True)
    physician_licence_state = USStateField(blank=True)
    # 5. The medical question (Case.specialty is the specialty wanted)
    diagnosis = models.TextField(blank=True)
    recommended_treatment = models.TextField(blank=True)
    tried_so_far = models.TextField(blank=True)
    preferred_specialist = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    preferred_specialist_text = models.CharField(max_length=200, blank=True)
    # 6. Records that come another way
    records_from_physician = models.BooleanField(default=False)
    mailing_imaging_cd = models.BooleanField(default=False)
    mailing_pathology_slides = models.BooleanField(default=False)
    # 7. Consents
    terms_accepted_at = models.DateTimeField(null=True, blank=True)
    records_use_authorised_at = models.DateTimeField(null=True, blank=True)
    no_relationship_acknowledged_at = models.DateTimeField(null=True, blank=True)

    updated_at = models.DateTimeField(auto_now=True)

    # No index on the child's name: the coordinator queue searches the case's copy of it
    # (``cases.Case.child_first_name``, cases migration 0014), and nothing else looks the
    # intakes up by name (migration 0005 dropped the prefix indexes of 0003).

    def __str__(self) -> str:
        return f"Intake for {self.case}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Saves, and keeps the case's copy of the child's name (the coordinator queue shows
        and searches it there, without joining the intakes) when the name has changed.

        Every write of the name goes through here: the request form's child step
        (``ChildForm``), the demo data, the console. Writes that bypass ``save`` (a queryset
        ``update``, ``bulk_create``) set the case's copy themselves."""
        super().save(*args, **kwargs)
        fields = kwargs.get("update_fields")
        if fields is not None and not set(CHILD_NAME_FIELDS) & set(fields):
            return
        name = self._loaded_child_name()
        if name is None or name == self._case_child_name:
            return
        first, last = name
        Case.objects.filter(pk=self.case_id).update(child_first_name=first, child_last_name=last)
        self._case_child_name = name
        case = self._state.fields_cache.get("case")  # the case this intake was read with
        if case is not None:
            case.child_first_name, case.child_last_name = first, last

    # The child's name as the case's copy holds it (``Case.child_first_name``, last name):
    # blank for a new case, the loaded name for an intake read from the database.
    _case_child_name: tuple[str, str] | None = ("", "")

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any, **kwargs: Any) -> "Intake":
        intake = super().from_db(db, field_names, values, **kwargs)
        intake._case_child_name = intake._loaded_child_name()
        return intake

    def _loaded_child_name(self) -> tuple[str, str] | None:
        if self.get_deferred_fields() & set(CHILD_NAME_FIELDS):
            return None
        return (self.child_legal_first_name, self.child_legal_last_name)

    ADULT_FLAG_AGE = 21

    @property
    def child_age(self) -> int | None:
        born = self.child_date_of_birth
        return None if born is None else age_on(born, timezone.localdate())

    @property
    def flag_adult(self) -> bool:
        """A "child" of 21 or more: the coordinator checks the request is still right for us."""
        age = self.child_age
        return age is not None and age >= self.ADULT_FLAG_AGE

    @property
    def child_name(self) -> str:
        return f"{self.child_legal_first_name} {self.child_legal_last_name}".strip()


class Question(models.Model):
    MAX_PER_CASE = 10
    MIN_LENGTH = 10
    MAX_LENGTH = 1000

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField()
    text = models.TextField(max_length=MAX_LENGTH)
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"{self.case} Q{self.position}"


def record_storage_key(instance: "Record", filename: str) -> str:
    # Random and meaningless: no names, dates of birth or references in storage keys.
    return f"records/{secrets.token_hex(16)}"


class RecordQuerySet(models.QuerySet["Record"]):
    def cleared(self) -> "RecordQuerySet":
        """Records a specialist may see: received and cleared by the virus scan (or, under
        the local settings only, passed by the development scanner mode)."""
        return self.filter(state=Record.State.AVAILABLE, scan_status__in=Record.CLEARED_SCANS)


class Record(models.Model):
    class Kind(models.TextChoices):
        CLINICAL_NOTES = "clinical_notes", "Clinical notes"
        LAB_RESULTS = "lab_results", "Lab results"
        IMAGING = "imaging", "Imaging (DICOM study or images)"
        IMAGING_REPORT = "imaging_report", "Imaging report"
        PATHOLOGY_REPORT = "pathology_report", "Pathology report"
        PATHOLOGY_SLIDES = "pathology_slides", "Pathology slides (scanned)"
        PHOTO = "photo", "Photo"
        OTHER = "other", "Other"

    class State(models.TextChoices):
        UPLOADING = "uploading", "Uploading"
        VERIFYING = "verifying", "Checking"
        AVAILABLE = "available", "Received"
        REJECTED = "rejected", "Refused"

    class Scan(models.TextChoices):
        PENDING = "pending", "Waiting for virus scan"
        CLEAN = "clean", "Scanned clean"
        INFECTED = "infected", "Quarantined"
        ERROR = "error", "Scan failed"
        # Only under the local settings (`make run`), where no clamd runs: an explicit
        # development mode, shown as such wherever records are listed. Production refuses to
        # start without a scanner, so this state never exists there.
        DEVELOPMENT = "dev", "Not scanned — development"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="records")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    description = models.CharField(max_length=300, blank=True)
    original_name = models.CharField(max_length=200)
    file = models.FileField(upload_to=record_storage_key, max_length=200, blank=True)
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    detected_kind = models.CharField(max_length=40, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.UPLOADING)
    rejection_reason = models.CharField(max_length=300, blank=True)
    scan_status = models.CharField(max_length=10, choices=Scan.choices, default=Scan.PENDING)
    scanned_at = models.DateTimeField(null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    # Direct-to-S3 multipart uploads: the upload id S3 gave us, kept to resume or abort.
    multipart_upload_id = models.CharField(max_length=300, blank=True)

    objects = RecordQuerySet.as_manager()

    # The one definition of "cleared by the scanner": what specialists, the viewers and the
    # imaging indexer may use.
    CLEARED_SCANS = (Scan.CLEAN, Scan.DEVELOPMENT)

    class Meta:
        ordering = ["uploaded_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "sha256"],
                condition=~Q(sha256="") & ~Q(state="rejected"),
                name="record_unique_content_per_case",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case} {self.get_kind_display()} {self.original_name}"

    @property
    def is_downloadable(self) -> bool:
        return self.state == self.State.AVAILABLE and self.scan_status != self.Scan.INFECTED

    @property
    def is_cleared(self) -> bool:
        return self.state == self.State.AVAILABLE and self.scan_status in self.CLEARED_SCANS

    def downloadable_by(self, user: Any) -> bool:
        """Whether ``user`` (already let through to the case) may have the file. Before the
        scan has cleared it, only the person who uploaded it, who has it anyway: nobody
        else receives a file that may carry a virus. An infected file goes to nobody."""
        if not self.is_downloadable:
            return False
        return self.is_cleared or (user.is_authenticated and self.uploaded_by_id == user.pk)


class PhysicianLinkRequest(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Waiting for the coordinator"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="link_requests")
    physician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.physician} → {self.case} ({self.state})"
