"""The record gate: the only way a download or viewer gets hold of an uploaded record.

Built on the kernel's gate (``cases.access``): a record of a case the user may not see, a
record that is not on that case, and one that may not be handed out yet get the same 404 as
a case that does not exist, and every decision is written to the audit log.
"""

from django.http import HttpRequest

from cases.access import cases_visible_to, refuse_audited
from cases.audit import access_record

from .models import Record


def record_for_user(
    request: HttpRequest, reference: str, record_uid: str, *, action: str = "download"
) -> Record:
    """Return a record of a case the user may see, if it may be handed out, else 404.

    Never a quarantined file, nor one still being checked; until the scan has cleared it,
    only to the person who uploaded it (``Record.downloadable_by``).
    """
    user = request.user
    case = cases_visible_to(user).filter(reference=reference).first()  # type: ignore[arg-type]
    record = None
    if case is not None:
        record = Record.objects.filter(case=case, uid=record_uid).first()
    if record is None or not record.downloadable_by(user):
        refuse_audited(
            request, reference, action=action, object_type="record", object_id=str(record_uid)
        )
    access_record(
        request=request,
        case=case,
        object_type="record",
        object_id=str(record.uid),
        action=action,
        allowed=True,
    )
    return record
