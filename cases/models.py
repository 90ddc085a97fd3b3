import secrets

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.core.cache import cache
from django.db import connection, models, transaction
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone

from .audit_hash import chain_for, content_hash
from .clock_cache import CACHE_SECONDS, POLICY_KEY

# No 0/O or 1/I: references are read aloud on the phone with the coordinator.
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_reference() -> str:
    part = lambda: "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(4))  # noqa: E731
    return f"OSO-{part()}-{part()}"


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    IN_TRIAGE = "in_triage", "Under review by the coordinator"
    AWAITING_RECORDS = "awaiting_records", "Waiting for records"
    DECLINED = "declined", "Declined"
    AWAITING_FAMILY_CONFIRMATION = "awaiting_family_confirmation", "Waiting for your confirmation"
    WITHDRAWN = "withdrawn", "Withdrawn"
    PAYMENT_NEEDED = "payment_needed", "Payment needed"
    ASSIGNED = "assigned", "Assigned to a specialist"
    IN_REVIEW = "in_review", "Specialist reviewing"
    REPORT_FINAL = "report_final", "Report signed"
    DELIVERED = "delivered", "Report delivered"
    CLOSED = "closed", "Closed"
    ON_HOLD = "on_hold", "On hold"


class CaseManager(models.Manager["Case"]):
    def lock(self, case: "Case | int") -> "Case":
        """The case's row, fresh from the database and locked until the transaction ends.

        The one way to lock a case: every service that decides on a case's state takes it
        through here (inside ``transaction.atomic``), decides on what it returns, and hands
        that fresh object back to its caller instead of patching the caller's copy.
        """
        pk = case if isinstance(case, int) else case.pk
        return self.select_for_update(of=("self",)).get(pk=pk)


class Case(models.Model):
    """One second-opinion request: the aggregate everything else hangs off.

    ``status`` is changed only by ``cases.lifecycle.case_transition``.
    """

    reference = models.CharField(max_length=13, unique=True, default=new_reference, editable=False)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.DRAFT)
    # Where a case on hold returns to when it resumes.
    status_before_hold = models.CharField(max_length=32, choices=Status.choices, blank=True)
    family = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="family_cases",
        help_text="The parent or guardian who owns the request.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="created_cases"
    )
    physician_email = models.EmailField(
        blank=True, help_text="The local physician; matched against verified emails."
    )
    specialty = models.ForeignKey(
        "accounts.Specialty", on_delete=models.PROTECT, null=True, blank=True
    )
    assigned_specialist = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_cases",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    # The coordinator's lifecycle (cases.services) and the turnaround clock (cases.clock).
    proposed_specialist = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proposed_cases",
    )
    proposal_note = models.TextField(blank=True, help_text="Shown to the family with the proposal.")
    decline_reason = models.TextField(blank=True, help_text="Shown to the family.")
    assigned_at = models.DateTimeField(null=True, blank=True)
    records_complete_at = models.DateTimeField(null=True, blank=True)
    review_extension = models.BooleanField(
        default=False, help_text="Imaging or pathology review needed: more business days."
    )
    due_at = models.DateTimeField(null=True, blank=True)
    # The last clock threshold the coordinators were emailed about ("", at_risk, overdue).
    clock_alerted = models.CharField(max_length=10, blank=True)
    in_person_requested_at = models.DateTimeField(null=True, blank=True)
    # The child's legal name as the intake holds it (``intake.Intake.save`` keeps it), copied
    # here so that the coordinator queue shows and searches it without joining the intakes.
    child_first_name = models.CharField(
        max_length=100, blank=True, default="", db_default="", editable=False
    )
    child_last_name = models.CharField(
        max_length=100, blank=True, default="", db_default="", editable=False
    )
    # The outbox (core) points at its subject generically; this is the case's side of it, so
    # ``case.emails`` and ``OutboundEmail.objects.filter(case=...)`` read as they did.
    emails = GenericRelation(
        "core.OutboundEmail",
        content_type_field="about_type",
        object_id_field="about_id",
        related_query_name="case",
    )

    objects = CaseManager()

    class Meta:
        indexes = [
            # The coordinator queue's default order (most urgent due, then oldest submitted),
            # unfiltered and filtered by status. The child's name rides along, so that a
            # search by a common name prefix walks this index alone for the first rows of
            # that order (``page_candidates``), not a case row per entry.
            models.Index(
                fields=["due_at", "submitted_at", "id"],
                include=["child_first_name", "child_last_name"],
                name="case_queue_order_names_idx",
            ),
            models.Index(
                fields=["status", "due_at", "submitted_at", "id"], name="case_status_queue_idx"
            ),
            models.Index(fields=["status", "created_at"], name="case_status_created_idx"),
            models.Index(fields=["physician_email"], name="case_physician_email_idx"),
            # The specialist's workspace: work in hand by status, and the newest finished
            # cases, each read from the specialist's own rows whatever the years of history.
            models.Index(
                fields=["assigned_specialist", "status"], name="case_specialist_status_idx"
            ),
            models.Index(
                fields=["assigned_specialist", "-updated_at"], name="case_specialist_recent_idx"
            ),
            # The queue's default view: open work only (no drafts, no ended cases), sorted by
            # urgency. Urgency is a CASE over status and due date that no index can order, so
            # this partial index makes the filter read only the open cases (a working set of
            # hundreds, whatever the years of closed cases), which are then sorted in memory.
            models.Index(
                fields=["due_at", "submitted_at", "id"],
                condition=~models.Q(status__in=["draft", "closed", "declined", "withdrawn"]),
                name="case_open_work_idx",
            ),
            # The queue's search by the child's first or last name, by prefix, upper-cased as
            # Django's ``istartswith`` compares (``UPPER(name) LIKE 'MAR%'``); on PostgreSQL
            # the migration (0014) builds them with the text_pattern_ops operator class,
            # which LIKE needs under any collation other than C.
            models.Index(Upper("child_first_name"), name="case_child_first_prefix_idx"),
            models.Index(Upper("child_last_name"), name="case_child_last_prefix_idx"),
        ]

    def __str__(self) -> str:
        return self.reference

    def save(self, *args, **kwargs) -> None:
        self.physician_email = self.physician_email.strip().lower()
        super().save(*args, **kwargs)


class TimelineEvent(models.Model):
    """Something that happened to a case, shown to the coordinator (and, in part, the family)."""

    class Kind(models.TextChoices):
        STATUS = "status", "Status change"
        NOTE = "note", "Note"
        EMAIL = "email", "Email sent"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    from_status = models.CharField(max_length=32, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=32, choices=Status.choices, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["case", "at"], name="timeline_case_at_idx")]

    def __str__(self) -> str:
        if self.kind == self.Kind.STATUS:
            return f"{self.case} {self.from_status} → {self.to_status}"
        return f"{self.case} {self.get_kind_display()}"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("The audit log is append-only.")

    def delete(self):
        raise PermissionError("The audit log is append-only.")


class AccessEvent(models.Model):
    """One view, download or refused attempt on case data. Append-only.

    The application refuses updates and deletes here, and on PostgreSQL a trigger
    (migration 0002) refuses them in the database too, whoever asks. Each row is a link of a
    hash chain (``cases.audit_chain``, migration 0008), so a row changed or removed by
    someone who can get past the trigger is found by ``manage.py audit_verify``.
    """

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", "Allowed"
        DENIED = "denied", "Denied"

    # A default rather than auto_now_add: the SQLite path hashes the row before the INSERT,
    # and auto_now_add would stamp a new time after the hash was taken.
    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    role = models.CharField(max_length=20, blank=True)
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="access_events"
    )
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=40)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    # The chain. On PostgreSQL the insert trigger fills seq, prev_hash and row_hash under the
    # head's row lock; ``db_default`` keeps them out of Django's INSERT and brings the
    # trigger's values back through RETURNING.
    chain = models.PositiveSmallIntegerField(default=0)
    seq = models.PositiveBigIntegerField(db_default=0)
    prev_hash = models.CharField(max_length=64, db_default="")
    row_hash = models.CharField(max_length=64, db_default="")

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["case", "at"], name="accessevent_case_at_idx")]
        constraints = [
            models.UniqueConstraint(fields=["chain", "seq"], name="accessevent_chain_seq_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.user_id} {self.action} {self.object_type}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionError("The audit log is append-only.")
        self.chain = chain_for(case_id=self.case_id, user_id=self.user_id)
        if connection.vendor == "postgresql":
            super().save(*args, **kwargs)
            return
        self._save_linked(*args, **kwargs)

    def _save_linked(self, *args, **kwargs) -> None:
        """What the PostgreSQL trigger does, for SQLite (which serialises writers anyway)."""
        with transaction.atomic():
            head, _ = AuditChainHead.objects.select_for_update().get_or_create(chain=self.chain)
            self.seq, self.prev_hash = head.seq + 1, head.last_hash
            self.row_hash = content_hash(self)
            super().save(*args, **kwargs)
            head.seq, head.last_hash = self.seq, self.row_hash
            head.save(update_fields=["seq", "last_hash"])

    def delete(self, *args, **kwargs):
        raise PermissionError("The audit log is append-only.")


class AuditChainHead(models.Model):
    """The last link of one audit chain: the lock concurrent writers of that chain queue on,
    and what ``audit_verify`` compares the chain's last row with (a removed last row)."""

    chain = models.PositiveSmallIntegerField(primary_key=True)
    seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return f"audit chain {self.chain} at {self.seq}"


class CaseMember(models.Model):
    """Someone invited onto a case besides its owner: a second guardian, or a physician linked
    by a coordinator's approval. Access follows the invited email once it is verified."""

    class Role(models.TextChoices):
        GUARDIAN = "guardian", "Second parent or guardian"
        PHYSICIAN = "physician", "Local physician"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="members")
    role = models.CharField(max_length=10, choices=Role.choices)
    email = models.EmailField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    invited_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case", "email", "role"],
                condition=Q(revoked_at__isnull=True),
                name="casemember_one_active_invite",
            )
        ]
        # The access gate looks invitations up by the signed-in person's verified emails.
        indexes = [models.Index(fields=["email", "role"], name="casemember_email_role_idx")]

    def __str__(self) -> str:
        return f"{self.case} {self.role} {self.email}"

    def save(self, *args, **kwargs) -> None:
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)


class HospitalClosure(models.Model):
    """A day the hospital is closed (beyond weekends and US federal holidays): not a
    business day for the turnaround clock. Coordinators edit these in admin."""

    date = models.DateField(unique=True)
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date}: {self.reason}"


class TurnaroundPolicy(models.Model):
    """The turnaround promise, as data: one row (admin-editable)."""

    business_days = models.PositiveSmallIntegerField(default=10)
    review_extension_days = models.PositiveSmallIntegerField(
        default=5, help_text="Added when imaging or pathology review is needed."
    )
    at_risk_days = models.PositiveSmallIntegerField(
        default=2, help_text="A case with this many business days left or fewer is at risk."
    )

    class Meta:
        verbose_name_plural = "turnaround policy"

    def __str__(self) -> str:
        return f"{self.business_days} business days (+{self.review_extension_days} for review)"

    @classmethod
    def current(cls) -> "TurnaroundPolicy":
        """The one policy row (made with its defaults if missing), from the cache when it has
        it; ``cases.clock``'s receivers drop the cached row when the policy is edited."""
        policy = cache.get(POLICY_KEY)
        if policy is None:
            policy, _ = TurnaroundPolicy.objects.get_or_create(pk=1)
            cache.set(POLICY_KEY, policy, CACHE_SECONDS)
        return policy


class CaseHold(models.Model):
    """A time the clock stood still, waiting on the family or the physician."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="holds")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)

    class Meta:
        ordering = ["started_at"]

    def __str__(self) -> str:
        return f"{self.case} on hold from {self.started_at:%Y-%m-%d}"


class RecordRequest(models.Model):
    """Something the coordinator asked for: a checklist item the family and physician see."""

    class From(models.TextChoices):
        FAMILY = "family", "The family"
        PHYSICIAN = "physician", "The local physician"
        PROVIDER = "provider", "An outside provider"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="record_requests")
    what = models.CharField(max_length=300)
    requested_from = models.CharField(max_length=10, choices=From.choices)
    provider_name = models.CharField(max_length=200, blank=True)
    provider_contact = models.CharField(max_length=300, blank=True)
    due_date = models.DateField(null=True, blank=True)
    by_mail = models.BooleanField(default=False, help_text="A CD or slides sent by post.")
    received_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.case}: {self.what}"


class CaseMessage(models.Model):
    """A secure message on a case between the family or physician and the coordinator (the
    single point of contact), or, when the coordinator opens one, between the specialist and
    the local physician (``thread`` physician_specialist; the coordinator reads it too)."""

    class Thread(models.TextChoices):
        COORDINATOR = "coordinator", "With the coordinator"
        PHYSICIAN_SPECIALIST = "physician_specialist", "Physician to physician"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages")
    thread = models.CharField(max_length=30, choices=Thread.choices, default=Thread.COORDINATOR)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    body = models.TextField(max_length=5000)
    # Attachments go through the records pipeline (checked, hashed, scanned).
    records = models.ManyToManyField("intake.Record", blank=True, related_name="messages")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["case", "thread", "created_at"], name="message_case_idx")]

    def __str__(self) -> str:
        return f"{self.case} message {self.pk}"


class CaseReadMarker(models.Model):
    """Up to when a person has read a case's messages: unread = newer messages by others."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="read_markers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    last_read_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "user"], name="read_marker_one_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.case} to {self.last_read_at:%Y-%m-%d %H:%M}"
