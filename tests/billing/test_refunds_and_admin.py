"""Refunds (full and partial, the reason kept in our records, on the timeline, the family
emailed) through billing.services, from the coordinator console's refund form; and the fee
schedule in the console (a new price is a new row; history is never edited or deleted)."""

import datetime
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.models import CaseBilling, Fee, Refund
from cases.models import Case, TimelineEvent
from core.models import OutboundEmail
from tests.billing.conftest import case_to_charge, ls_get
from tests.conftest import login

pytestmark = pytest.mark.usefixtures("stripe_on")

S = CaseBilling.State


def paid(base: str, family: Any) -> Case:
    case = case_to_charge(base, family)
    services.payment_charge(case=case, by=None)
    return case


def stripe_refunds(base: str, case: Case) -> list[dict[str, Any]]:
    return [
        r
        for r in ls_get(base, "/v1/refunds")["data"]
        if r["metadata"].get("case_reference") == case.reference
    ]


def test_full_refund(stripe_on: str, family: Any, coordinator: Any) -> None:
    case = paid(stripe_on, family)
    refund = services.refund_create(
        case=case, amount_cents=87500, reason="Specialist unavailable", by=coordinator
    )
    assert (refund.amount_cents, refund.status, refund.created_by) == (
        87500,
        "succeeded",
        coordinator,
    )
    billing = CaseBilling.objects.get(case=case)
    assert (billing.state, billing.refunded_cents) == (S.REFUNDED, 87500)
    [at_stripe] = stripe_refunds(stripe_on, case)
    assert (at_stripe["id"], at_stripe["amount"]) == (refund.refund_id, 87500)
    assert "reason" not in at_stripe or not at_stripe.get("reason")  # ours stays with us
    note = TimelineEvent.objects.get(case=case, note__startswith="Refund of $875.00")
    assert "Specialist unavailable" in note.note and note.actor == coordinator
    email = OutboundEmail.objects.get(case=case, kind="refund_issued")
    assert email.to == family.email and "$875.00" in email.text
    assert "Specialist unavailable" not in email.text
    with pytest.raises(services.BillingError, match="Only a paid request"):
        services.refund_create(case=case, amount_cents=1, reason="again", by=coordinator)


@pytest.mark.parametrize("who", ["family", "specialist", "physician"])
def test_only_a_coordinator_may_refund_whoever_calls_the_service(
    stripe_on: str, family: Any, who: str, request: pytest.FixtureRequest
) -> None:
    case = paid(stripe_on, family)
    with pytest.raises(PermissionDenied):
        services.refund_create(
            case=case, amount_cents=100, reason="asked", by=request.getfixturevalue(who)
        )
    assert not Refund.objects.filter(case=case).exists()
    assert stripe_refunds(stripe_on, case) == []
    assert CaseBilling.objects.get(case=case).state == S.PAID


def test_partial_refunds_up_to_what_was_paid(stripe_on: str, family: Any, coordinator: Any) -> None:
    case = paid(stripe_on, family)
    services.refund_create(case=case, amount_cents=12500, reason="Goodwill", by=coordinator)
    billing = CaseBilling.objects.get(case=case)
    assert (billing.state, billing.refunded_cents) == (S.PARTIALLY_REFUNDED, 12500)
    with pytest.raises(services.BillingError, match=r"between \$0.01 and \$750.00"):
        services.refund_create(case=case, amount_cents=75001, reason="Too much", by=coordinator)
    services.refund_create(case=case, amount_cents=75000, reason="Withdrawn later", by=coordinator)
    billing.refresh_from_db()
    assert (billing.state, billing.refunded_cents) == (S.REFUNDED, 87500)
    assert sorted(r["amount"] for r in stripe_refunds(stripe_on, case)) == [12500, 75000]
    keys = list(Refund.objects.filter(case=case).order_by("pk").values_list("amount_cents"))
    assert keys == [(12500,), (75000,)]


@pytest.mark.parametrize(("amount", "reason"), [(0, "zero"), (100, "  ")])
def test_refund_needs_an_amount_and_a_reason(
    stripe_on: str, family: Any, coordinator: Any, amount: int, reason: str
) -> None:
    case = paid(stripe_on, family)
    with pytest.raises(services.BillingError):
        services.refund_create(case=case, amount_cents=amount, reason=reason, by=coordinator)
    assert not Refund.objects.exists()
    assert stripe_refunds(stripe_on, case) == []


def test_an_unpaid_case_cannot_be_refunded(stripe_on: str, family: Any, coordinator: Any) -> None:
    case = case_to_charge(stripe_on, family)
    with pytest.raises(services.BillingError, match="Only a paid request"):
        services.refund_create(case=case, amount_cents=100, reason="No", by=coordinator)


def _console(coordinator: Any) -> Client:
    codenames = ["view_casebilling", "change_casebilling", "add_refund", "view_fee", "add_fee"]
    coordinator.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="billing", codename__in=codenames)
    )
    return login(Client(), coordinator)


def test_refund_from_the_console(stripe_on: str, family: Any, coordinator: Any) -> None:
    case = paid(stripe_on, family)
    billing = CaseBilling.objects.get(case=case)
    client = _console(coordinator)
    change = client.get(reverse("admin:billing_casebilling_change", args=[billing.pk]))
    assert change.status_code == 200
    assert b"Refund\xe2\x80\xa6" in change.content
    # The changelist action leads to the same form.
    action = client.post(
        reverse("admin:billing_casebilling_changelist"),
        {"action": "refund_action", "_selected_action": [billing.pk]},
    )
    url = reverse("admin:billing_casebilling_refund", args=[billing.pk])
    assert action.status_code == 302 and action["Location"] == url
    form = client.get(url)
    assert form.status_code == 200 and b'value="875.00"' in form.content
    missing = client.post(url, {"amount": "100.00", "reason": ""})
    assert missing.status_code == 400
    response = client.post(url, {"amount": "100.00", "reason": "Delay in our review"})
    assert response.status_code == 302
    refund = Refund.objects.get(case=case)
    assert (refund.amount_cents, refund.reason) == (10000, "Delay in our review")
    too_much = client.post(url, {"amount": "800.00", "reason": "More"})
    assert too_much.status_code == 400
    assert b"between $0.01 and $775.00" in too_much.content


def test_refund_needs_the_permission(stripe_on: str, family: Any, coordinator: Any) -> None:
    case = paid(stripe_on, family)
    billing = CaseBilling.objects.get(case=case)
    coordinator.groups.clear()  # a staff member who may look at billing but not refund
    coordinator.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="billing", codename="view_casebilling")
    )
    client = login(Client(), coordinator)
    url = reverse("admin:billing_casebilling_refund", args=[billing.pk])
    assert client.post(url, {"amount": "1.00", "reason": "x"}).status_code == 403
    assert not Refund.objects.exists()


def test_the_fee_schedule_in_the_console(coordinator: Any) -> None:
    client = _console(coordinator)
    listing = client.get(reverse("admin:billing_fee_changelist"))
    assert listing.status_code == 200
    assert b"$875.00" in listing.content and b"No charge" in listing.content
    start = timezone.localdate() + datetime.timedelta(days=30)
    response = client.post(
        reverse("admin:billing_fee_add"),
        {"specialty": "", "amount": "900.00", "effective_from": start.isoformat(), "note": "2027"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    new = Fee.objects.get(effective_from=start)
    assert (new.amount_cents, new.created_by, new.specialty) == (90000, coordinator, None)
    past = client.post(
        reverse("admin:billing_fee_add"),
        {"specialty": "", "amount": "1.00", "effective_from": "2026-02-01", "note": ""},
    )
    assert past.status_code == 200 and b"starts today or later" in past.content
    # History in force is neither edited nor deleted.
    in_force = Fee.objects.get(specialty=None, effective_from=datetime.date(2026, 1, 1))
    from billing.admin import FeeAdmin

    admin = FeeAdmin(Fee, None)  # type: ignore[arg-type]
    request = listing.wsgi_request
    assert not admin.has_change_permission(request, in_force)
    assert not admin.has_delete_permission(request, in_force)
