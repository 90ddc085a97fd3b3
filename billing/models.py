"""Money: the fee schedule, the card on file, every charge attempt, refunds, webhook events.

Amounts are integer cents (USD). Every Stripe id is unique in our tables.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from cases.models import Case


class Fee(models.Model):
    """One row of the fee schedule: the price for a specialty (or the default, when the
    specialty is empty) from a date on. History is kept: a new price is a new row."""

    specialty = models.ForeignKey(
        "accounts.Specialty",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text="Empty: the default price for every specialty without its own row.",
    )
    amount_cents = models.PositiveIntegerField(help_text="In cents: 87500 is $875.00.")
    effective_from = models.DateField()
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )

    class Meta:
        ordering = ["specialty__name", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["specialty", "effective_from"], name="fee_one_per_specialty_and_date"
            ),
            models.UniqueConstraint(
                fields=["effective_from"],
                condition=Q(specialty__isnull=True),
                name="fee_one_default_per_date",
            ),
        ]

    def __str__(self) -> str:
        who = self.specialty or "Default"
        return f"{who}: ${self.amount_cents / 100:,.2f} from {self.effective_from}"


class StripeCustomer(models.Model):
    """One Stripe Customer per family account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="stripe_customer"
    )
    customer_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.customer_id


class CaseBilling(models.Model):
    """What a case costs and how it is paid: the fee fixed at submission and the card saved
    for it. Card data never reaches us: only Stripe ids, brand and last 4."""

    class State(models.TextChoices):
        NO_CARD = "no_card", "No card yet"
        CARD_SAVED = "card_saved", "Card saved, not charged"
        NOT_CHARGEABLE = "free", "No charge"
        PAID = "paid", "Paid"
        PAYMENT_NEEDED = "payment_needed", "Payment needed"
        REFUNDED = "refunded", "Refunded"
        PARTIALLY_REFUNDED = "partially_refunded", "Partly refunded"

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="billing")
    fee_cents = models.PositiveIntegerField(null=True, blank=True)
    fee = models.ForeignKey(Fee, on_delete=models.PROTECT, null=True, blank=True)
    fee_fixed_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.NO_CARD)
    setup_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    # The Stripe Customer the saved card is attached to (the account of the parent or
    # guardian who saved it): a charge must name it with the card.
    customer = models.ForeignKey(
        StripeCustomer, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payment_method_id = models.CharField(max_length=255, blank=True)
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    paid_cents = models.PositiveIntegerField(default=0)
    refunded_cents = models.PositiveIntegerField(default=0)
    paid_at = models.DateTimeField(null=True, blank=True)
    # Filled in by the coordinator for the superbill.
    cpt_codes = models.CharField("CPT code(s)", max_length=100, blank=True)
    icd10_codes = models.CharField("ICD-10 code(s)", max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.case} {self.get_state_display()}"


class PaymentAttempt(models.Model):
    """One try at charging a case. The idempotency key is derived from the case and the
    attempt number, so a retry after a timeout reaches Stripe as the same request."""

    class Status(models.TextChoices):
        PENDING = "pending", "Sent"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Declined"
        REQUIRES_ACTION = "requires_action", "Needs authentication"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="payment_attempts")
    number = models.PositiveIntegerField()
    idempotency_key = models.CharField(max_length=100, unique=True)
    payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    amount_cents = models.PositiveIntegerField()
    on_session = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    failure_code = models.CharField(max_length=100, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["case", "number"]
        constraints = [
            models.UniqueConstraint(fields=["case", "number"], name="attempt_number_per_case")
        ]

    def __str__(self) -> str:
        return f"{self.case} attempt {self.number} {self.status}"


class Refund(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="refunds")
    attempt = models.ForeignKey(PaymentAttempt, on_delete=models.PROTECT)
    amount_cents = models.PositiveIntegerField()
    reason = models.TextField(help_text="Kept in our records; not sent to Stripe.")
    refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    status = models.CharField(max_length=20, default="pending")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.case} refund ${self.amount_cents / 100:,.2f}"


class WebhookEvent(models.Model):
    """Each Stripe event id once: a replay finds its row and changes nothing."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
