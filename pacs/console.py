"""PACS's parts of the coordinator console, registered from ``PacsConfig.ready``: the case
page's PACS panel, the automatic-sending switch on the turnaround policy's page, and the
"Send to PACS" action and column on the imaging app's study list."""

from typing import Any

from django.http import HttpRequest

from cases.admin import hooks
from cases.models import Case, TurnaroundPolicy
from imaging.models import Study
from imaging.studies import case_studies

from .admin import PacsPolicyInline, may_send_to_pacs, pacs_status, send_to_pacs
from .stow import pacs_configured


def _pacs_panel(request: HttpRequest, case: Case) -> dict[str, Any]:
    # The studies the imaging panel read (one query for both, imaging.studies), each with
    # its transfer: the join registered in PacsConfig.ready.
    studies = sorted(case_studies(case), key=lambda study: study.pk)
    return {"studies": studies, "configured": pacs_configured()}


def register() -> None:
    hooks.case_panel(
        hooks.CasePanel(
            key="pacs",
            order=70,
            template="admin/pacs/_console_pacs.html",
            context=_pacs_panel,
        )
    )
    hooks.admin_extend(
        TurnaroundPolicy, hooks.AdminExtension(key="pacs", inlines=(PacsPolicyInline,))
    )
    hooks.admin_extend(
        Study,
        hooks.AdminExtension(
            key="pacs",
            column=pacs_status,
            actions=(send_to_pacs,),
            # The status column reads the transfer: one join, not a query per row.
            select_related=("pacs_transfer",),
            allowed=may_send_to_pacs,
            shown=lambda request: pacs_configured(),
        ),
    )
