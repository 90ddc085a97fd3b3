"""The specialist's written opinion: reports (version 1, amended versions) and addenda
(answers to follow-up questions), their answers, the PDF each one becomes, and who has read it.

A report is a draft until the specialist signs it (``reports.services.report_sign``); from
then on its content never changes: the services refuse, ``Report.save`` refuses, and on
PostgreSQL a trigger refuses (migration 0002). Corrections are a new version; the old one
stays, visible, with the reason for the new one.
"""

import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from cases.models import Case

# The sections of the report, in the order they are written, shown and printed:
# (field, heading, who it is for, required to sign).
SECTIONS: tuple[tuple[str, str, str, bool], ...] = (
    ("summary", "Summary for the family", "family", True),
    ("history_reviewed", "History reviewed", "physician", True),
    ("records_reviewed", "Records reviewed", "physician", True),
    ("diagnosis_assessment", "Assessment of the diagnosis", "physician", True),
    ("treatment_assessment", "Assessment of the recommended treatment", "physician", True),
    ("recommendations", "Recommendations", "physician", True),
    ("next_steps", "Next steps", "physician", True),
    ("clinical_trials", "Clinical-trial considerations", "physician", False),
)
SECTION_FIELDS: tuple[str, ...] = tuple(name for name, *_ in SECTIONS)
SECTION_MAX_CHARS = 20_000
ANSWER_MAX_CHARS = 10_000
# What never changes once signed (the trigger in migration 0002 lists the same columns).
SIGNED_CONTENT_FIELDS: tuple[str, ...] = (
    *SECTION_FIELDS,
    "amendment_reason",
    "kind",
    "version",
    "case_id",
    "author_id",
    "signed_at",
    "signed_name",
    "signed_credentials",
    "signed_title",
    "content_sha256",
    "signed_method",
    "supersedes_id",
    "uid",
)
# Filled in once after signing (the PDF, its delivery, the one reminder), never changed after.
SIGNED_SET_ONCE_FIELDS: tuple[str, ...] = (
    "pdf",
    "pdf_sha256",
    "pdf_size",
    "rendered_at",
    "delivered_at",
    "physician_reminded_at",
)


def report_pdf_key(instance: "Report", filename: str) -> str:
    # Random and meaningless, like record keys: nothing about the child in storage keys.
    return f"reports/{secrets.token_hex(16)}.pdf"


class Report(models.Model):
    class Kind(models.TextChoices):
        REPORT = "report", "Report"
        ADDENDUM = "addendum", "Addendum (answers to follow-up questions)"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="reports")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.REPORT)
    # Reports: 1, then 2, 3… for amended versions. Addenda: 1, 2… in their own series.
    version = models.PositiveSmallIntegerField(default=1)
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        help_text="The version this one corrects.",
    )
    amendment_reason = models.TextField(blank=True, max_length=2000)
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The coordinator who reopened the previous version for correction.",
    )
    reopen_note = models.TextField(blank=True, max_length=2000)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reports_written"
    )

    summary = models.TextField(blank=True, max_length=SECTION_MAX_CHARS)
    history_reviewed = models.TextField(blank=True, max_length=SECTION_MAX_CHARS)
    records_reviewed = models.TextField(blank=True, max_length=SECTION_MAX_CHARS)
    diagnosis_assessment = models.TextField(blank=True, max_length=SECTION_MAX_CHARS)
    treatment_assessment = models.TextField(blank=True, max_length=SECTION_MAX_CHARS)
    recommendations = models.TextField(blank=True, max_length=SECTION_MAX_CHARS)
    next_steps = models.TextField(blank=True, max_length=SECTION_MAX_CHARS)
    clinical_trials = models.TextField(blank=True, max_length=SECTION_MAX_CHARS)

    # Each autosave bumps the revision; a save that names an older one is refused, which
    # is how a second tab on the same draft is detected.
    revision = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    signed_at = models.DateTimeField(null=True, blank=True)
    signed_name = models.CharField(max_length=200, blank=True)
    signed_credentials = models.CharField(max_length=60, blank=True)
    signed_title = models.CharField(max_length=200, blank=True)
    signed_method = models.CharField(max_length=10, blank=True)  # "password" or "mfa"
    content_sha256 = models.CharField(max_length=64, blank=True)

    pdf = models.FileField(upload_to=report_pdf_key, max_length=200, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    pdf_size = models.PositiveIntegerField(default=0)
    rendered_at = models.DateTimeField(null=True, blank=True)
    render_attempts = models.PositiveSmallIntegerField(default=0)
    render_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    physician_reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["case", "kind", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "kind", "version"], name="report_one_per_version"
            ),
            # At most one draft per case and kind at a time.
            models.UniqueConstraint(
                fields=["case", "kind"],
                condition=Q(signed_at__isnull=True),
                name="report_one_open_draft",
            ),
        ]
        indexes = [
            models.Index(
                fields=["delivered_at"],
                condition=Q(physician_reminded_at__isnull=True, kind="report"),
                name="report_reminder_due",
            ),
        ]

    def __str__(self) -> str:
        label = "Addendum" if self.kind == self.Kind.ADDENDUM else "Report"
        return f"{self.case.reference} {label} v{self.version}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            guarded = (*SIGNED_CONTENT_FIELDS, *SIGNED_SET_ONCE_FIELDS)
            old = Report.objects.filter(pk=self.pk).values(*guarded).first()
            if old is not None and old["signed_at"] is not None:
                new = {f: getattr(self, f) for f in guarded}
                new["pdf"] = self.pdf.name or ""
                changed = [f for f in SIGNED_CONTENT_FIELDS if old[f] != new[f]]
                changed += [f for f in SIGNED_SET_ONCE_FIELDS if old[f] and old[f] != new[f]]
                if changed:
                    raise ValidationError(
                        "A signed report cannot be changed: issue a new version.",
                        code="signed",
                    )
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    @property
    def title(self) -> str:
        if self.kind == self.Kind.ADDENDUM:
            return f"Addendum {self.version}"
        return "Second opinion report" + (f", version {self.version}" if self.version > 1 else "")


class FollowUpQuestion(models.Model):
    """A question the family or physician asks after delivery; answered in an addendum."""

    MAX_PER_CASE = 3
    WINDOW_DAYS = 30
    MAX_LENGTH = 2000

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="follow_ups")
    position = models.PositiveSmallIntegerField()
    text = models.TextField(max_length=MAX_LENGTH)
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    asked_at = models.DateTimeField(auto_now_add=True)
    answered_in = models.ForeignKey(
        Report,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups_answered",
    )

    class Meta:
        ordering = ["case", "position"]
        constraints = [
            models.UniqueConstraint(fields=["case", "position"], name="follow_up_position"),
            models.CheckConstraint(
                condition=Q(position__gte=1, position__lte=3), name="follow_up_at_most_three"
            ),
        ]
        indexes = [
            # The unanswered ones (a handful, whatever the years of answered ones): the
            # specialist's workspace lists their cases.
            models.Index(
                fields=["case"], condition=Q(answered_in__isnull=True), name="follow_up_open_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case.reference} follow-up {self.position}"


class Answer(models.Model):
    """The answer to one submitted question (reports) or one follow-up question (addenda)."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(
        "intake.Question", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    follow_up = models.ForeignKey(
        FollowUpQuestion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The question's wording when the report was signed (questions can be clarified before).
    question_text = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField()
    text = models.TextField(blank=True, max_length=ANSWER_MAX_CHARS)

    class Meta:
        ordering = ["report", "position"]
        constraints = [
            models.UniqueConstraint(fields=["report", "position"], name="answer_position"),
            models.CheckConstraint(
                condition=Q(question__isnull=False) ^ Q(follow_up__isnull=False),
                name="answer_to_one_question",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.report} answer {self.position}"


class ReportOpening(models.Model):
    """When each family member or physician first opened a report (page or PDF)."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="openings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    role = models.CharField(max_length=20)
    first_opened_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["report", "first_opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["report", "user"], name="report_opening_once"),
        ]

    def __str__(self) -> str:
        return f"{self.report} opened by {self.user}"
