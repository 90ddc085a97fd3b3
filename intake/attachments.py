"""A message's file through the records pipeline: what intake provides to the case kernel's
messages (``cases.messaging.provide_attachments``) at start-up."""

from django.core.files.uploadedfile import UploadedFile

from accounts.models import User
from cases.messaging import AttachmentRefused, Attachments
from cases.models import Case

from .filetypes import ACCEPTED_DESCRIPTION, Rejected
from .models import Record
from .records import DuplicateRecord, record_create_from_upload


def _store(case: Case, by: User, uploaded: UploadedFile, kind: str) -> int:
    try:
        return record_create_from_upload(case=case, by=by, uploaded=uploaded, kind=kind).pk
    except Rejected as refusal:
        raise AttachmentRefused(refusal.message, code=refusal.code) from refusal
    except DuplicateRecord as duplicate:
        raise AttachmentRefused(str(duplicate), code="duplicate") from duplicate


ATTACHMENTS = Attachments(
    kinds=Record.Kind.choices,
    default_kind=Record.Kind.OTHER,
    accepted=ACCEPTED_DESCRIPTION,
    store=_store,
)
