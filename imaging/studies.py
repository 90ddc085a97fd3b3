"""A case's imaging studies, read once per request for every panel that lists them.

The study links (``{% study_links %}``, the console's studies panel) and the PACS panels
(``{% pacs_case_panel %}``, the console's) list the same case's studies, side by side on the
specialist's workspace and the coordinator's console page, and each read them with a query
of its own. ``case_studies`` reads them once
(with their counts, whether a record that scanned clean holds any of their images, and what
the apps above ask to join: the PACS transfer) and keeps the list on that request's case
object, which came through the access gate; nothing is kept between requests.
"""

from django.db.models import Exists, OuterRef

from accounts.models import Role
from cases.models import Case
from intake.models import Record

from .models import Study

# Who may open the study viewer (and so is shown the links to it).
VIEWER_ROLES = (Role.SPECIALIST, Role.COORDINATOR, Role.PHYSICIAN)

# Relations of Study the apps above show beside it, joined in the same query.
_RELATED: list[str] = []
_ATTRIBUTE = "_imaging_studies"


def register_related(*names: str) -> None:
    """Called by an app's ``ready`` (pacs: the study's transfer)."""
    _RELATED.extend(name for name in names if name not in _RELATED)


def case_studies(case: Case) -> list[Study]:
    """Every study of ``case``, oldest first (``study_date``, then id), each with
    ``viewable``: whether the viewer would open it (an image from a cleared record)."""
    studies: list[Study] | None = getattr(case, _ATTRIBUTE, None)
    if studies is None:
        # Correlated by the study: the cleared records of its own images, not a list of every
        # cleared record there is.
        cleared = Record.objects.cleared().filter(dicom_instances__study=OuterRef("pk"))
        studies = list(
            Study.objects.filter(case=case)
            .with_counts()
            .annotate(viewable=Exists(cleared))
            .select_related(*_RELATED)
            .order_by("study_date", "pk")
        )
        setattr(case, _ATTRIBUTE, studies)
    return studies
