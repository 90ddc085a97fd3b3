"""Imaging's part of the coordinator console's case page, registered from
``ImagingConfig.ready``: links to the study viewer for the case's studies.

The PACS panel lists the same studies: both read them through ``case_studies``, one query
per page."""

from datetime import date
from typing import Any

from django.db.models import Exists, OuterRef
from django.http import HttpRequest

from cases.admin import hooks
from cases.models import Case
from intake.models import Record

from .models import Study


def case_studies(request: HttpRequest, case: Case) -> list[Study]:
    """The case's studies for the console's case page, by id, read once per request: each
    with its series and image counts, whether the study viewer shows it (``viewable``: an
    image from a record that scanned clean, as the viewer requires), and the joins other
    apps register for the studies they show (the PACS transfer)."""
    read: dict[int, list[Study]] = request.__dict__.setdefault("_console_studies", {})
    if case.pk not in read:
        # Correlated by the study: the cleared records of its own images, not a list of
        # every cleared record there is.
        cleared = Record.objects.cleared().filter(dicom_instances__study=OuterRef("pk"))
        joins = [r for ext in hooks.extensions_for(Study) for r in ext.select_related]
        read[case.pk] = list(
            Study.objects.filter(case=case)
            .with_counts()
            .annotate(viewable=Exists(cleared))
            .select_related(*joins)
            .order_by("pk")
        )
    return read[case.pk]


def _studies_panel(request: HttpRequest, case: Case) -> dict[str, Any]:
    # As the {% study_links %} tag of the portal's pages: for the people who may open the
    # viewer, the studies it shows, by date (none last) then id.
    from .viewer_views import VIEWER_ROLES

    if getattr(request.user, "role", None) not in VIEWER_ROLES:
        return {"studies": [], "reference": case.reference}
    shown = [study for study in case_studies(request, case) if study.viewable]  # type: ignore[attr-defined]
    shown.sort(key=lambda s: (s.study_date is None, s.study_date or date.min, s.pk))
    return {"studies": shown, "reference": case.reference}


def register() -> None:
    hooks.case_panel(
        hooks.CasePanel(
            key="studies",
            order=60,
            template="admin/imaging/_console_studies.html",
            context=_studies_panel,
        )
    )
