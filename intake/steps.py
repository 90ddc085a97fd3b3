"""The request form's steps, in order. One place names them for views, templates and checks.

The card step is there only when the chosen specialty costs something: a free opinion
(cardiac surgery) goes from records straight to review and creates nothing at Stripe.
"""

from dataclasses import dataclass

from cases.models import Case
from cases.payments import payments


@dataclass(frozen=True)
class Step:
    slug: str
    title: str


STEPS: list[Step] = [
    Step("start", "Before you start"),
    Step("eligibility", "Where your child lives"),
    Step("child", "Your child"),
    Step("physician", "Local physician"),
    Step("question", "Medical question"),
    Step("questions", "Your questions"),
    Step("records", "Records"),
    Step("card", "Payment card"),
    Step("review", "Review and submit"),
]
BY_SLUG = {s.slug: s for s in STEPS}


def needs_card(case: Case) -> bool:
    return payments().card_step_needed(case)


def steps_for(case: Case) -> list[Step]:
    if needs_card(case):
        return STEPS
    return [s for s in STEPS if s.slug != "card"]


def next_step(case: Case, slug: str) -> str:
    slugs = [s.slug for s in steps_for(case)]
    if slug not in slugs:
        return "review"
    index = slugs.index(slug)
    return slugs[min(index + 1, len(slugs) - 1)]


def previous_step(case: Case, slug: str) -> str | None:
    slugs = [s.slug for s in steps_for(case)]
    if slug not in slugs:
        return None
    index = slugs.index(slug)
    return slugs[index - 1] if index > 0 else None
