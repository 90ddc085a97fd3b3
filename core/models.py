from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models


class OutboundEmail(models.Model):
    """The outbox: every email is a row first, then a Celery task sends it by id.

    Keeping the row makes sending retryable and idempotent (``dedupe_key`` is unique, so an
    event never mails the same person twice) and lets the app the email is about show what
    was sent. Bodies never hold medical detail; they may hold sign-in or verification links.

    ``about`` is a generic reference to the row the email concerns (a case, today): the outbox
    stays ignorant of what that is, and the app that owns it declares a ``GenericRelation``
    to query its emails and listens to ``core.signals.email_sent``.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    created_at = models.DateTimeField(auto_now_add=True)
    to = models.EmailField()
    subject = models.CharField(max_length=255)
    text = models.TextField()
    html = models.TextField(blank=True)
    kind = models.CharField(max_length=80)
    about_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    about_id = models.PositiveBigIntegerField(null=True, blank=True)
    about = GenericForeignKey("about_type", "about_id")
    dedupe_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)

    class Meta:
        # The outbox was born in the cases app; its table keeps that name so that moving the
        # model here moved no row (see core/migrations/0001_initial.py).
        db_table = "cases_outboundemail"
        indexes = [
            models.Index(fields=["state", "created_at"], name="outbox_state_created_idx"),
            models.Index(fields=["about_type", "about_id"], name="outbox_about_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.to} ({self.state})"
