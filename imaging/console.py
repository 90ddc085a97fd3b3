"""Imaging's part of the coordinator console's case page, registered from
``ImagingConfig.ready``: links to the study viewer for the case's studies."""

from cases.admin import hooks


def register() -> None:
    hooks.case_panel(
        hooks.CasePanel(
            key="studies",
            order=60,
            template="admin/imaging/_console_studies.html",
            # The template tag (imaging.templatetags.study_viewer) reads the studies.
            context=lambda request, case: {},
        )
    )
