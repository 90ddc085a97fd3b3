"""What the apps above ``cases`` add to the coordinator console, registered at app-ready time.

``cases`` is the kernel: intake, billing, reports, imaging and PACS import it, never the
reverse. The console's queue and case page still show their parts (the child's name, the
payment, the report, the studies), so each app fills this registry from its ``apps.py``
``ready()`` (``<app>/console.py``) and the console reads it when it renders:

- ``case_panel``: a panel of the case page (a template and the context it needs);
- ``case_move``: a button of the case page (reopening and closing belong to reports);
- ``queue_column``, ``queue_filter``, ``queue_search``: a column, a sidebar filter and a
  kind of match of the queue's search box (the child's name is the case's own column and
  the queue's own match);
- ``admin_extend``: inlines, a column, an action and joins added to another app's admin (the
  PACS switch on the turnaround policy's page, "Send to PACS" on the imaging studies).

Nothing here imports an app above ``cases``; registering twice under one key replaces the
first (the test settings reload nothing, but a key keeps the registry honest).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django import forms
from django.contrib.admin import ListFilter
from django.db.models import Model, Q
from django.http import HttpRequest

from ..models import Case

# --- the case page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CasePanel:
    """One module of the case page, below the buttons: ``context(request, case)`` gives
    what ``template`` reads as ``panel``. ``order`` places it (the timeline is last)."""

    key: str
    order: int
    template: str
    context: Callable[[HttpRequest, Case], Any]
    # select_related paths from the case that ``context`` reads, and annotations (a short
    # list as a subquery): read with the case, in its one query.
    select_related: tuple[str, ...] = ()
    annotations: Callable[[], dict[str, Any]] = dict


@dataclass(frozen=True)
class Move:
    """One console button: when it shows, its input form, and the service it calls (which
    returns the message shown after it)."""

    action: str
    label: str
    available: Callable[[Case], bool]
    run: Callable[[Case, Any, dict[str, Any]], str]
    form: type[forms.Form] | None = None
    # The form takes the case (a list of specialists to choose from).
    form_needs_case: bool = False
    # What ``available`` reads beyond the case's columns, as annotations read with the case
    # on its page (``available`` reads them apart for a case read without them).
    annotations: Callable[[], dict[str, Any]] = dict


# --- the queue ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueColumn:
    """A column of the queue: ``cell(case, today)`` is its text, from the columns that
    ``only`` loads through the joins in ``select_related``, or from ``annotations`` (a
    correlated subquery each, which PostgreSQL runs for the page's rows only, after the
    sort: a join is made before it, for every row the filters keep)."""

    key: str
    label: str
    # The column it follows ("reference", "specialty", "status", "records_complete").
    after: str
    cell: Callable[[Case, date], str]
    select_related: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    annotations: Callable[[], dict[str, Any]] = dict


@dataclass(frozen=True)
class QueueFilter:
    key: str
    # The sidebar filter it follows, by parameter name.
    after: str
    filter: type[ListFilter]


# A kind of match of the search box: the case ids one word finds, or, when they are too
# many to list, a condition the queue tests while it walks its order index.
QueueSearch = Callable[[str], "list[int] | Q"]


# --- other apps' admins --------------------------------------------------------------------


@dataclass(frozen=True)
class AdminExtension:
    key: str
    inlines: tuple[Any, ...] = ()
    column: Callable[..., Any] | None = None
    actions: tuple[Callable[..., Any], ...] = ()
    select_related: tuple[str, ...] = ()
    # Whether the column shows and the actions are offered, for this request.
    allowed: Callable[[HttpRequest], bool] = lambda request: True
    shown: Callable[[HttpRequest], bool] = lambda request: True


@dataclass
class _Registry:
    panels: dict[str, CasePanel] = field(default_factory=dict)
    moves: dict[str, Move] = field(default_factory=dict)
    columns: dict[str, QueueColumn] = field(default_factory=dict)
    filters: dict[str, QueueFilter] = field(default_factory=dict)
    searches: dict[str, QueueSearch] = field(default_factory=dict)
    extensions: dict[tuple[type[Model], str], AdminExtension] = field(default_factory=dict)


_registry = _Registry()


def case_panel(panel: CasePanel) -> None:
    _registry.panels[panel.key] = panel


def case_move(move: Move) -> None:
    _registry.moves[move.action] = move


def queue_column(column: QueueColumn) -> None:
    _registry.columns[column.key] = column


def queue_filter(entry: QueueFilter) -> None:
    _registry.filters[entry.key] = entry


def queue_search(key: str, search: QueueSearch) -> None:
    _registry.searches[key] = search


def admin_extend(model: type[Model], extension: AdminExtension) -> None:
    _registry.extensions[(model, extension.key)] = extension


def panels() -> list[CasePanel]:
    return sorted(_registry.panels.values(), key=lambda panel: panel.order)


def moves() -> dict[str, Move]:
    return dict(_registry.moves)


def columns() -> list[QueueColumn]:
    return list(_registry.columns.values())


def filters() -> list[QueueFilter]:
    return list(_registry.filters.values())


def searches() -> list[QueueSearch]:
    return list(_registry.searches.values())


def extensions_for(model: type[Model]) -> list[AdminExtension]:
    return [ext for (on, _), ext in _registry.extensions.items() if on is model]
