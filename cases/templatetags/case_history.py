"""The case page's history, written as sentences that say who did what.

A status label with the actor in brackets ("Assigned to a specialist (Maria Lopez)") reads as
if Maria were the specialist; "Maria Lopez (parent) confirmed the specialist" cannot be
misread. People are named by their name and role, never by their email address.
"""

from django import template

from accounts.models import Role, User
from cases.models import Status, TimelineEvent

register = template.Library()

ROLE_WORD = {
    Role.FAMILY: "parent",
    Role.PHYSICIAN: "local physician",
    Role.COORDINATOR: "coordinator",
    Role.SPECIALIST: "specialist",
}

# to_status: (what the person did, what happened when nobody in particular did it)
DONE: dict[str, tuple[str, str]] = {
    Status.SUBMITTED: ("submitted the request", "The request was submitted"),
    Status.IN_TRIAGE: (
        "started reviewing the request",
        "Our coordinator started reviewing the request",
    ),
    Status.AWAITING_RECORDS: ("asked for more records", "More records were asked for"),
    Status.DECLINED: ("declined the request", "The request was declined"),
    Status.AWAITING_FAMILY_CONFIRMATION: (
        "proposed a specialist and the fee",
        "A specialist and the fee were proposed",
    ),
    Status.WITHDRAWN: ("withdrew the request", "The request was withdrawn"),
    Status.PAYMENT_NEEDED: (
        "confirmed, but the card payment did not go through",
        "The card payment did not go through",
    ),
    Status.ASSIGNED: ("assigned the specialist", "The specialist was assigned"),
    Status.IN_REVIEW: ("started the review", "The specialist started the review"),
    Status.REPORT_FINAL: ("signed the report", "The report was signed"),
    Status.DELIVERED: ("delivered the report", "The report was delivered"),
    Status.CLOSED: ("closed the request", "The request was closed"),
    Status.ON_HOLD: ("put the request on hold", "The request was put on hold"),
}
# Where the same new status means something else depending on where the case came from.
DONE_FROM: dict[tuple[str, str], tuple[str, str]] = {
    (Status.AWAITING_FAMILY_CONFIRMATION, Status.ASSIGNED): (
        "confirmed the specialist",
        "The specialist was confirmed",
    ),
    (Status.PAYMENT_NEEDED, Status.ASSIGNED): (
        "paid, and the specialist was assigned",
        "The payment went through and the specialist was assigned",
    ),
    (Status.AWAITING_RECORDS, Status.IN_TRIAGE): (
        "marked the records as received",
        "The records arrived",
    ),
}


def person(user: User) -> str:
    role = ROLE_WORD.get(user.role, "")  # type: ignore[call-overload]
    name = user.full_name.strip()
    if name:
        return f"{name} ({role})" if role else name
    return f"The {role}" if role else "Someone"


@register.simple_tag
def history_line(event: TimelineEvent) -> str:
    if event.from_status == Status.ON_HOLD and event.to_status != Status.CLOSED:
        active, passive = "took the request off hold", "The request was taken off hold"
    else:
        active, passive = DONE_FROM.get(
            (event.from_status, event.to_status),
            DONE.get(event.to_status, ("", "")),
        )
    if not active:
        status = event.get_to_status_display()
        return f"{person(event.actor)}: {status}" if event.actor else status
    return f"{person(event.actor)} {active}" if event.actor else passive
