"""Demo requests (``seed_demo``) save Stripe's test card through the same services as a
family's browser, so a demo request can be submitted, confirmed and charged like a real one.

Only with a test key (``sk_test_…``: localstripe under ``make run``, or Stripe's test mode);
without Stripe configured nothing is created and the caller is told so.
"""

from django.conf import settings

from accounts.models import User
from cases.lifecycle import case_transition
from cases.models import Case, Status
from intake.demo import CHILDREN, demo_request_submit
from intake.models import Intake

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
    if setup_intent is None:
        raise RuntimeError("card_setup_start left no SetupIntent on the demo request")
    stripe_client.setup_intent_confirm(setup_intent, payment_method=TEST_CARD)
    services.card_setup_complete(case=case, setup_intent_id=setup_intent, by=by)
    return True


def demo_billing_ensure(people: dict[str, User]) -> list[Case]:
    """family@: a cardiac-surgery request (no charge) and, when Stripe is there, a paid one
    (reviewed, confirmed and charged; receipt and superbill available)."""
    family = people["family@example.com"]
    coordinator = people["coordinator@example.com"]
    child = CHILDREN["family@example.com"]
    made: list[Case] = []
    if not Intake.objects.filter(case__family=family, child_legal_first_name="Lucia").exists():
        made.append(
            demo_request_submit(
                family=family,
                child=child,
                first="Lucia",
                specialty="cardiac-surgery",
            )
        )
    paid_exists = Intake.objects.filter(
        case__family=family, child_legal_first_name="Diego"
    ).exists()
    if (
        not paid_exists
        and stripe_client.configured()
        and settings.STRIPE_SECRET_KEY.startswith("sk_test_")
    ):
        case = demo_request_submit(
            family=family,
            child=child,
            first="Diego",
            specialty="cardiology",
            card_save=demo_card_save,
        )
        case_transition(case=case, to=Status.IN_TRIAGE, by=coordinator)
        Case.objects.filter(pk=case.pk).update(assigned_specialist=people["specialist@example.com"])
        case_transition(case=case, to=Status.AWAITING_FAMILY_CONFIRMATION, by=coordinator)
        services.payment_charge(case=case, by=family)
        CaseBilling.objects.filter(case=case).update(cpt_codes="99358", icd10_codes="Q21.0")
        made.append(case)
    return made
