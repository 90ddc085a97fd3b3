"""Forwarding imaging studies to the hospital's PACS: one transfer per study, and which of
its instances the PACS has confirmed, so a send that broke off resumes where it stopped."""

from django.conf import settings
from django.db import models

from cases.models import TurnaroundPolicy
from imaging.models import Instance, Study


class PacsTransfer(models.Model):
    """The sending of one study to the PACS. One row per study for its whole life: a failed
    transfer is queued again on the same row, so a double click can never make two."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    study = models.OneToOneField(Study, on_delete=models.CASCADE, related_name="pacs_transfer")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    sent = models.PositiveIntegerField(default=0, help_text="Instances the PACS confirmed.")
    total = models.PositiveIntegerField(default=0, help_text="Instances in the study.")
    # The PACS's own words when it refused, or why we gave up; never text read from a file.
    reason = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    queued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "pk"]
        verbose_name = "PACS transfer"

    def __str__(self) -> str:
        return f"{self.study_id}: {self.status_label}"

    @property
    def status_label(self) -> str:
        """What the console and the workspace show: "queued", "sent 12/20", "failed: …"."""
        if self.state == self.State.QUEUED:
            return "queued"
        if self.state == self.State.SENDING:
            return f"sending {self.sent}/{self.total}"
        if self.state == self.State.SENT:
            return f"sent {self.sent}/{self.total}"
        return f"failed: {self.reason}" if self.reason else "failed"


class PacsSentInstance(models.Model):
    """One instance the PACS confirmed in its STOW-RS answer; skipped when a send resumes."""

    transfer = models.ForeignKey(PacsTransfer, on_delete=models.CASCADE, related_name="instances")
    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["transfer", "instance"], name="pacs_sent_instance_once")
        ]

    def __str__(self) -> str:
        return f"{self.transfer_id}/{self.instance_id}"


class PacsPolicy(models.Model):
    """The PACS part of the turnaround policy (edited on the policy's page in the console)."""

    policy = models.OneToOneField(
        TurnaroundPolicy, on_delete=models.CASCADE, primary_key=True, related_name="pacs"
    )
    send_on_assignment = models.BooleanField(
        default=False,
        help_text="Send every clean imaging study to the PACS when a case is assigned "
        "(only when a PACS is configured).",
    )

    class Meta:
        verbose_name = "PACS forwarding"
        verbose_name_plural = "PACS forwarding"

    def __str__(self) -> str:
        return "send on assignment" if self.send_on_assignment else "send by hand"

    @classmethod
    def send_on_assignment_enabled(cls) -> bool:
        # The turnaround policy is a single row, so any row here is its PACS part; reading
        # it this way costs one query and never creates the policy as a side effect.
        return cls.objects.filter(send_on_assignment=True).exists()


class StudyForPacs(Study):
    """Imaging studies as the console's "Send to PACS" list shows them (the imaging app
    keeps its own admin of studies)."""

    class Meta:
        proxy = True
        verbose_name = "study for the PACS"
        verbose_name_plural = "studies for the PACS"
