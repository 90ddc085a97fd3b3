"""The request form's steps, in order. One place names them for views, templates and checks."""

from dataclasses import dataclass


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
    Step("review", "Review and submit"),
]
SLUGS = [s.slug for s in STEPS]
BY_SLUG = {s.slug: s for s in STEPS}


def next_step(slug: str) -> str:
    index = SLUGS.index(slug)
    return SLUGS[min(index + 1, len(SLUGS) - 1)]


def previous_step(slug: str) -> str | None:
    index = SLUGS.index(slug)
    return SLUGS[index - 1] if index > 0 else None
