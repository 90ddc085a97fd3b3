"""The portal's case page, composed from the panels the apps register (``cases.panels``).

Here, not in ``cases.views``, so the apps whose actions re-show the page with a failed
form's errors (questions, records, guardians, messages) call it without importing a view
module. The kernel's own panels (the family's lifecycle, messages, history) are defined
here; the request, its questions, records and people, the report and the money documents
come from the apps above.
"""

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render

from accounts.models import Role, User
from accounts.typing import AuthedRequest

from .message_panel import messages_panel
from .models import Case, CaseHold, Status
from .panels import Panel, PanelRequest, Shown, registered
from .rows import CaseRows, case_rows, read_with_case
from .services import due_reasons
from .stages import stage_for

# What the case page shows of the case's relations, read with the case by the access gate.
CASE_PAGE_RELATED = ("intake", "intake__residence", "specialty", "billing")

# The statuses in which the family sees when to expect the report.
_DUE_SHOWN = (Status.ASSIGNED, Status.IN_REVIEW, Status.ON_HOLD)

# The holds behind that date: the family's only.
HOLDS = CaseRows(
    "holds",
    lambda user: (
        CaseHold.objects.order_by("started_at", "pk") if user.role == Role.FAMILY else None
    ),
)


def case_page_rows(user: User) -> dict[str, Any]:
    """What the case page's panels list, to read with the case (``case_for_user``'s
    ``annotate``)."""
    return read_with_case(user, (rows for panel in registered() for rows in panel.rows))


def _lifecycle(panel: PanelRequest) -> Shown | None:
    """The family's: when to expect the report, why a request was declined, in person."""
    case = panel.case
    if panel.user.role != Role.FAMILY:
        return None
    contents = []
    due_shown = case.due_at is not None and case.status in _DUE_SHOWN
    if due_shown:
        contents.append(("due-section", "When to expect the report"))
    if case.status == Status.DECLINED and case.decline_reason:
        contents.append(("declined-section", "Why we cannot give this opinion"))
    if case.status not in (Status.DRAFT, Status.WITHDRAWN):
        contents.append(("in-person-section", "In-person appointment"))
    # The holds behind the date are needed only when the date is shown.
    reasons = due_reasons(case, holds=case_rows(case, HOLDS, panel.user)) if due_shown else []
    context = {"due_reasons": reasons, "proposal_at_top": True}
    return Shown(context, contents)


def _history(panel: PanelRequest) -> Shown:
    timeline = list(panel.case.timeline.select_related("actor").filter(kind="status"))
    return Shown({"timeline": timeline}, [("history-section", "History")])


KERNEL_PANELS = (
    Panel("lifecycle", 600, "cases/_lifecycle_panel.html", _lifecycle, rows=(HOLDS,)),
    Panel("messages", 700, "cases/_messages_panel.html", messages_panel),
    Panel("history", 1000, "cases/_history_panel.html", _history),
)


def case_page(
    request: AuthedRequest, case: Case, *, status: int = 200, **extra: Any
) -> HttpResponse:
    """The case page for family, physician, coordinator and specialist; forms from a failed
    POST (and the messages thread asked for) come in ``extra``, so the page shows their
    errors and keeps what was typed."""
    user = request.user
    asked = PanelRequest(request=request, user=user, case=case, extra=extra)
    context: dict[str, Any] = {
        "case": case,
        "intake": getattr(case, "intake", None),
        "stage": stage_for(case, physician=user.role == Role.PHYSICIAN),
    }
    templates: list[str] = []
    contents: list[tuple[str, str]] = []
    for panel in registered():
        shown = panel.build(asked)
        if shown is None:
            continue
        context.update(shown.context)
        templates.append(panel.template)
        contents.extend(shown.contents)
    context["panel_templates"] = templates
    context["page_contents"] = contents
    return render(request, "cases/case_detail.html", context, status=status)
