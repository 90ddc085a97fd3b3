"""The coordinator console's billing pages: the fee schedule (a new price is a new row, so
history is kept), each case's billing (read-only, with a refund form), and the records of
charge attempts, refunds and Stripe events (read-only: ``ReadOnlyAdmin``, records written
by the billing services only)."""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from cases.admin.base import AuditedAdmin, ReadOnlyAdmin
from cases.admin.labels import console_status

from . import services
from .fees import fee_for, format_cents
from .models import CaseBilling, Fee, PaymentAttempt, Refund, StripeCustomer, WebhookEvent


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def dollars(cents: int | None) -> str:
    """Money as the coordinator reads it ("$875.00"), never a count of cents. Decimal, so
    no amount is ever rounded through a float."""
    if cents is None:
        return "—"
    return f"${Decimal(cents) / 100:,.2f}"


# --- the fee schedule -------------------------------------------------------------------


class FeeForm(forms.ModelForm):
    # Coordinators type dollars; the database keeps integer cents.
    amount = forms.DecimalField(
        label="Amount (USD)",
        min_value=Decimal("0.00"),
        max_digits=9,
        decimal_places=2,
        help_text="0.00 means no charge.",
    )

    class Meta:
        model = Fee
        fields = ["specialty", "amount", "effective_from", "note"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["amount"].initial = (Decimal(self.instance.amount_cents) / 100).quantize(
                Decimal("0.01")
            )

    def clean_effective_from(self) -> Any:
        day = self.cleaned_data["effective_from"]
        if day < timezone.localdate():
            # The past is history: submitted cases were priced from it.
            raise ValidationError("A new price starts today or later.")
        return day

    def save(self, commit: bool = True) -> Fee:
        self.instance.amount_cents = _cents(self.cleaned_data["amount"])
        return super().save(commit=commit)


@admin.register(Fee)
class FeeAdmin(admin.ModelAdmin):
    """A price change is a new row from a date on; rows already in force are history and
    stay as they are. Submitted cases keep the fee fixed on them at submission."""

    form = FeeForm
    list_display = ["specialty_name", "price", "effective_from", "note", "created_by", "in_force"]
    list_filter = ["specialty"]
    list_select_related = ["specialty", "created_by"]
    ordering = ["specialty__name", "-effective_from"]

    @admin.display(description="Specialty", ordering="specialty__name")
    def specialty_name(self, obj: Fee) -> str:
        return str(obj.specialty) if obj.specialty else "Default (every other specialty)"

    @admin.display(description="Price", ordering="amount_cents")
    def price(self, obj: Fee) -> str:
        return format_cents(obj.amount_cents)

    @admin.display(description="In force today", boolean=True)
    def in_force(self, obj: Fee) -> bool:
        try:
            current = fee_for(obj.specialty)
        except LookupError:
            return False
        return current.pk == obj.pk

    def has_change_permission(self, request: HttpRequest, obj: Fee | None = None) -> bool:
        if obj is not None and obj.effective_from <= timezone.localdate():
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Fee | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Fee, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


# --- each case's billing, and refunds -----------------------------------------------------


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label="Amount to refund (USD)", min_value=Decimal("0.01"), max_digits=9, decimal_places=2
    )
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept in our records and shown on the case timeline; not sent to Stripe.",
    )


@admin.register(CaseBilling)
class CaseBillingAdmin(AuditedAdmin):
    """Read-only except the superbill codes; refunds go through billing.services."""

    audit_object_type = "billing"

    list_display = ["case", "case_status", "state", "fee_amount", "paid", "refunded", "card"]
    list_filter = ["state", "case__status"]
    list_select_related = ["case", "fee", "customer"]
    search_fields = ["=case__reference", "=case__family__email"]
    readonly_fields = [
        "case",
        "case_status",
        "state",
        "fee_amount",
        "fee",
        "fee_fixed_at",
        "paid",
        "paid_at",
        "refunded",
        "card",
        "customer",
        "setup_intent_id",
        "payment_method_id",
        "attempts",
        "refunds",
        "refund_link",
    ]
    fields = [*readonly_fields, "cpt_codes", "icd10_codes"]
    actions = ["refund_action"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("billing.add_refund"))

    @admin.display(description="Case status", ordering="case__status")
    def case_status(self, obj: CaseBilling) -> str:
        return console_status(obj.case.status)

    @admin.display(description="Fee", ordering="fee_cents")
    def fee_amount(self, obj: CaseBilling) -> str:
        return "Not fixed yet" if obj.fee_cents is None else format_cents(obj.fee_cents)

    @admin.display(description="Paid", ordering="paid_cents")
    def paid(self, obj: CaseBilling) -> str:
        return format_cents(obj.paid_cents) if obj.paid_cents else "—"

    @admin.display(description="Refunded", ordering="refunded_cents")
    def refunded(self, obj: CaseBilling) -> str:
        return format_cents(obj.refunded_cents) if obj.refunded_cents else "—"

    @admin.display(description="Card")
    def card(self, obj: CaseBilling) -> str:
        return services.card_label(obj.card_brand, obj.card_last4) or "—"

    @admin.display(description="Charge attempts")
    def attempts(self, obj: CaseBilling) -> str:
        rows = PaymentAttempt.objects.filter(case_id=obj.case_id).order_by("number")
        return (
            format_html_join(
                "",
                "<div>{}. {} {}{} {}</div>",
                (
                    (
                        a.number,
                        format_cents(a.amount_cents),
                        a.get_status_display(),
                        " (on the pay page)" if a.on_session else "",
                        a.failure_code,
                    )
                    for a in rows
                ),
            )
            or "None"
        )

    @admin.display(description="Refunds")
    def refunds(self, obj: CaseBilling) -> str:
        rows = Refund.objects.filter(case_id=obj.case_id).select_related("created_by")
        return (
            format_html_join(
                "",
                "<div>{:%Y-%m-%d} {} {} by {}: {}</div>",
                (
                    (r.created_at, format_cents(r.amount_cents), r.status, r.created_by, r.reason)
                    for r in rows.order_by("created_at")
                ),
            )
            or "None"
        )

    @admin.display(description="Refund")
    def refund_link(self, obj: CaseBilling) -> str:
        if obj.state not in (CaseBilling.State.PAID, CaseBilling.State.PARTIALLY_REFUNDED):
            return "Only a paid case can be refunded."
        url = reverse("admin:billing_casebilling_refund", args=[obj.pk])
        return format_html('<a class="button" href="{}">Refund…</a>', url)

    @admin.action(description="Refund the selected case…", permissions=["refund"])
    def refund_action(
        self, request: HttpRequest, queryset: QuerySet[CaseBilling]
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one case to refund.", messages.WARNING)
            return None
        billing = queryset.get()
        return HttpResponseRedirect(reverse("admin:billing_casebilling_refund", args=[billing.pk]))

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<int:object_id>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="billing_casebilling_refund",
            )
        ]
        return own + super().get_urls()

    def refund_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The intermediate page of the refund action: amount and reason, then Stripe."""
        billing = get_object_or_404(CaseBilling.objects.select_related("case"), pk=object_id)
        if not self.has_refund_permission(request):
            raise PermissionDenied("No permission to refund.")
        if request.method == "GET":
            # The page shows what the family paid: a look at the case's billing.
            self.audit(request, billing, "view")
        refundable = billing.paid_cents - billing.refunded_cents
        form = RefundForm(
            request.POST or None,
            initial={"amount": (Decimal(max(refundable, 0)) / 100).quantize(Decimal("0.01"))},
        )
        if request.method == "POST" and form.is_valid():
            try:
                refund = services.refund_create(
                    case=billing.case,
                    amount_cents=_cents(form.cleaned_data["amount"]),
                    reason=form.cleaned_data["reason"],
                    by=request.user,  # type: ignore[arg-type]
                )
            except ValidationError as refused:
                form.add_error(None, refused)
            else:
                self.message_user(
                    request,
                    f"Refunded {format_cents(refund.amount_cents)} on {billing.case} "
                    f"({refund.status}). The family has been emailed.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:billing_casebilling_change", args=[billing.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Refund {billing.case}",
            "opts": self.model._meta,
            "billing": billing,
            "form": form,
            "paid": format_cents(billing.paid_cents),
            "refundable": format_cents(max(refundable, 0)),
        }
        return render(
            request,
            "billing/admin_refund.html",
            context,
            status=400 if form.errors else 200,
        )


# --- records (read-only) ----------------------------------------------------------------


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(AuditedAdmin, ReadOnlyAdmin):
    audit_object_type = "payment_attempt"
    # The page shows the amount in dollars (``amount``), not the stored cents.
    exclude = ["amount_cents"]
    readonly_fields = ["amount"]
    list_display = [
        "case",
        "number",
        "status",
        "amount",
        "on_session",
        "failure_code",
        "created_at",
    ]
    list_filter = ["status", "on_session"]
    list_select_related = ["case"]
    search_fields = ["=case__reference", "=payment_intent_id"]

    @admin.display(description="Amount", ordering="amount_cents")
    def amount(self, obj: PaymentAttempt) -> str:
        return format_cents(obj.amount_cents)


@admin.register(Refund)
class RefundAdmin(AuditedAdmin, ReadOnlyAdmin):
    audit_object_type = "refund"
    exclude = ["amount_cents"]
    readonly_fields = ["amount"]
    list_display = ["case", "amount", "status", "created_by", "created_at"]
    list_filter = ["status"]
    list_select_related = ["case", "created_by"]
    search_fields = ["=case__reference", "=refund_id"]

    @admin.display(description="Amount", ordering="amount_cents")
    def amount(self, obj: Refund) -> str:
        return format_cents(obj.amount_cents)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "object_id", "received_at", "processed_at"]
    list_filter = ["type"]
    search_fields = ["=event_id", "=object_id"]


@admin.register(StripeCustomer)
class StripeCustomerAdmin(ReadOnlyAdmin):
    list_display = ["user", "customer_id", "created_at"]
    list_select_related = ["user"]
    search_fields = ["=user__email", "=customer_id"]
