"""The case page's panels: what each app shows on the portal's case page, registered by the
app at start-up (its ``AppConfig.ready``), so the kernel's page names no intake form,
billing document or report.

A panel is a template and a function that builds its context from the request, the case
(already through the access gate) and the forms of a failed POST; the function returns None
when the panel has nothing to show this person. The short lists of the case's rows it shows
(``rows``, ``cases.rows``) come with the gated case in its one query; the panel takes them
with ``case_rows``. The page includes the panels in ``order``
and lists their sections in its "On this page" box. Context keys are the panel's own: the
page merges them, so two panels must not use the same name for different things.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Expression

from accounts.models import User
from accounts.typing import AuthedRequest

from .models import Case
from .rows import CaseRows


@dataclass(frozen=True)
class PanelRequest:
    request: AuthedRequest
    user: User
    case: Case
    # Forms from a failed POST (by context name: "question_form", "message_form", ...) and
    # the messages thread asked for; a panel takes what is addressed to it.
    extra: Mapping[str, Any]


@dataclass(frozen=True)
class Shown:
    """A panel's context, and the sections it adds to the page's contents: (anchor, label)."""

    context: Mapping[str, Any]
    contents: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Panel:
    name: str
    order: int
    template: str
    build: Callable[[PanelRequest], Shown | None]
    rows: tuple[CaseRows[Any], ...] = ()


_PANELS: dict[str, Panel] = {}


def register(*panels: Panel) -> None:
    """Add panels to the case page (an app's ``ready``); the same name again replaces it."""
    for panel in panels:
        _PANELS[panel.name] = panel


def registered() -> list[Panel]:
    return sorted(_PANELS.values(), key=lambda panel: panel.order)


# The family's and physician's list of cases shows counts the apps above own (questions,
# records): each registers the annotation, evaluated only for the rows the list shows.
_LIST_COUNTS: dict[str, Callable[[], Expression]] = {}


def register_list_count(name: str, expression: Callable[[], Expression]) -> None:
    _LIST_COUNTS[name] = expression


def list_counts() -> dict[str, Expression]:
    return {name: expression() for name, expression in _LIST_COUNTS.items()}
