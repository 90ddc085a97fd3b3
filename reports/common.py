"""What the drafting, signing, delivery and follow-up services share: the refusal they
raise, who reads a report, and the locks (the case row first, then the report: the order
every path takes, so two of them never deadlock).
"""

from accounts.models import Role, User
from cases.access import can_see_case
from cases.models import Case, Status
from core.refusals import Refused

from .models import Report

S = Status


class ReportRefused(Refused):
    """A step the report's or the case's state does not allow; shown as it is."""

    def __init__(self, message: str, code: str = "report") -> None:
        super().__init__(message, code=code)


def is_reader(user: User, case: Case) -> bool:
    """The family (owner or invited guardian) or a physician on the case."""
    return (
        user.is_authenticated
        and user.is_active
        and user.role in (Role.FAMILY, Role.PHYSICIAN)
        and can_see_case(user, case)
    )


def lock_report(report: Report) -> Report:
    return Report.objects.select_for_update().select_related("case").get(pk=report.pk)
