"""Billing's side of ``cases.payments``: what the case kernel and the request form ask of
billing, answered by the billing services. Registered in ``BillingConfig.ready``."""

from accounts.models import User
from cases.models import Case
from cases.payments import PaymentsUnavailable

from . import stripe_client
from .cards import card_drop
from .charges import billing_missing_for_submit, fee_fix_at_submission, payment_charge
from .fees import fee_for


class BillingPayments:
    def card_step_needed(self, case: Case) -> bool:
        return fee_for(case.specialty).amount_cents > 0

    def missing_for_submit(self, case: Case) -> str | None:
        return billing_missing_for_submit(case)

    def fee_fix(self, *, case: Case) -> None:
        fee_fix_at_submission(case=case)

    def charge(self, *, case: Case, by: User | None) -> None:
        payment_charge(case=case, by=by)

    def card_drop(self, *, case: Case) -> bool:
        try:
            return card_drop(case=case)
        except stripe_client.StripeFailure as failure:
            raise PaymentsUnavailable(failure.message) from failure
