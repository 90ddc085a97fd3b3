"""The family's view of where a request stands: a few plain stages, and what is needed
from them now. Derived from the status; nothing stored."""

from dataclasses import dataclass

from .models import Case, Status


@dataclass(frozen=True)
class Stage:
    index: int
    label: str
    needed: str  # what the family must do now, or ""

    @property
    def steps(self) -> list[tuple[str, str]]:
        """(label, "done" | "current" | "todo") for each stage of the tracker."""
        return [
            (label, "done" if i < self.index else "current" if i == self.index else "todo")
            for i, label in enumerate(TRACK)
        ]


TRACK = [
    "Draft",
    "Submitted",
    "Under review",
    "Records",
    "Confirm charges",
    "Specialist review",
    "Report ready",
]

_BY_STATUS: dict[str, tuple[int, str]] = {
    Status.DRAFT: (0, "Finish and submit your request."),
    Status.SUBMITTED: (1, ""),
    Status.IN_TRIAGE: (2, ""),
    Status.AWAITING_RECORDS: (3, "Send the records the coordinator asked for."),
    Status.AWAITING_FAMILY_CONFIRMATION: (
        4,
        "Review the charges and the specialist, then confirm.",
    ),
    Status.PAYMENT_NEEDED: (4, "Your card was not charged: please pay to continue."),
    Status.ASSIGNED: (5, ""),
    Status.IN_REVIEW: (5, ""),
    Status.REPORT_FINAL: (5, ""),
    Status.DELIVERED: (6, "Read the report, and review it with your physician."),
    Status.CLOSED: (6, ""),
    Status.DECLINED: (2, ""),
    Status.WITHDRAWN: (4, ""),
    Status.ON_HOLD: (2, "The coordinator is waiting for information from you or your physician."),
}


# What the child's physician must do, where it differs from the family's: the family alone
# confirms and pays, and the physician is the one the family reviews the report with.
_PHYSICIAN_NEEDS: dict[str, str] = {
    Status.DRAFT: "Finish and submit the request.",
    Status.AWAITING_FAMILY_CONFIRMATION: "",
    Status.PAYMENT_NEEDED: "",
    Status.DELIVERED: "Read the report, and go over it with the family.",
    Status.ON_HOLD: "The coordinator is waiting for information from you or the family.",
}


def stage_for(case: Case, *, physician: bool = False) -> Stage:
    """The stage and what is needed now, in the family's words, or the physician's."""
    status = case.status
    index, needed = _BY_STATUS[status]
    if status == Status.ON_HOLD and case.status_before_hold:
        index, _ = _BY_STATUS[case.status_before_hold]
    if physician:
        needed = _PHYSICIAN_NEEDS.get(status, needed)
    return Stage(index, TRACK[index], needed)
