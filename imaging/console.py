"""Imaging's part of the coordinator console's case page, registered from
``ImagingConfig.ready``: links to the study viewer for the case's studies.

The PACS panel lists the same studies: both read them through ``imaging.studies``, one
query per page."""

from datetime import date
from typing import Any

from django.http import HttpRequest

from cases.admin import hooks
from cases.models import Case

from .studies import VIEWER_ROLES, case_studies


def _studies_panel(request: HttpRequest, case: Case) -> dict[str, Any]:
    # As the {% study_links %} tag of the portal's pages: for the people who may open the
    # viewer, the studies it shows, by date (none last) then id.
    if getattr(request.user, "role", None) not in VIEWER_ROLES:
        return {"studies": [], "reference": case.reference}
    shown = [study for study in case_studies(case) if study.viewable]  # type: ignore[attr-defined]
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
