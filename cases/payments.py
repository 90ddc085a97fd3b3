"""What the case kernel and the request form need from billing, declared here so that neither
imports it: billing sits above them and fills this port when Django is ready
(``billing.apps``). Confirm → charge → assign then runs down one way: ``cases.services``
asks the port to charge, and billing, once paid, calls ``cases.services`` to finish the
assignment.
"""

from typing import Protocol

from django.core.exceptions import ImproperlyConfigured

from accounts.models import User

from .models import Case


class PaymentsUnavailable(Exception):
    """The payment service did not answer: nothing was changed."""


class Payments(Protocol):
    def card_step_needed(self, case: Case) -> bool:
        """Whether the request form asks for a card: the specialty costs something today."""
        ...

    def missing_for_submit(self, case: Case) -> str | None:
        """Why a request cannot be submitted yet for billing reasons, or None."""
        ...

    def fee_fix(self, *, case: Case) -> None:
        """Fix today's fee on a case being submitted (once; later schedules never change it)."""
        ...

    def charge(self, *, case: Case, by: User | None) -> None:
        """Charge a case the family has just confirmed; billing moves it to assigned or to
        payment needed. Refusals are ``core.refusals.Refused``."""
        ...

    def card_drop(self, *, case: Case) -> bool:
        """Remove the saved card of a case that will never be charged; False when there was
        none. Raises ``PaymentsUnavailable`` when the payment service did not answer."""
        ...


_provider: Payments | None = None


def payments_provide(provider: Payments) -> None:
    global _provider  # filled once, from billing's AppConfig.ready()
    _provider = provider


def payments() -> Payments:
    if _provider is None:
        raise ImproperlyConfigured("No payments provider: is billing in INSTALLED_APPS?")
    return _provider
