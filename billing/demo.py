"""Demo requests (``seed_demo``) save Stripe's test card through the same services as a
family's browser, so a demo request can be submitted, confirmed and charged like a real one.

Only with a test key (``sk_test_…``: localstripe under ``make run``, or Stripe's test mode);
without Stripe configured nothing is created and the caller is told so.
"""

from django.conf import settings

from accounts.models import User
from cases.models import Case

from . import services, stripe_client
from .models import CaseBilling

TEST_CARD = "pm_card_visa"  # Stripe's (and localstripe's) test Visa ending in 4242


def demo_card_save(*, case: Case, by: User) -> bool:
    """Save the test card on a demo request. False when Stripe is not configured with a
    test key: then the request cannot have a card (use a free specialty instead)."""
    if not stripe_client.configured() or not settings.STRIPE_SECRET_KEY.startswith("sk_test_"):
        return False
    services.card_setup_start(case=case, by=by)
    setup_intent = CaseBilling.objects.get(case=case).setup_intent_id
    assert setup_intent is not None
    stripe_client.setup_intent_confirm(setup_intent, payment_method=TEST_CARD)
    services.card_setup_complete(case=case, setup_intent_id=setup_intent, by=by)
    return True
