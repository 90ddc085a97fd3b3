"""What the drafting, signing, delivery and follow-up services share: the refusal they
raise and the locks (the case row first, then the report: the order every path takes, so
two of them never deadlock). Who may do what is the table of actions' (``cases.access``).
"""

from cases.models import Status
from core.refusals import Refused

from .models import Report

S = Status


class ReportRefused(Refused):
    """A step the report's or the case's state does not allow; shown as it is."""

    def __init__(self, message: str, code: str = "report") -> None:
        super().__init__(message, code=code)


def lock_report(report: Report) -> Report:
    return Report.objects.select_for_update().select_related("case").get(pk=report.pk)
