"""Automatic sending: when a case is assigned and the turnaround policy says so, its clean
studies are queued for the PACS. Listens to the state machine; cases knows nothing of it.
And the send task for each transfer queued, once its transaction commits."""

from typing import Any

from django.dispatch import receiver

from accounts.models import User
from cases.lifecycle import case_transitioned
from cases.models import Case, Status

from .models import PacsPolicy, PacsTransfer
from .services import case_studies_queue, transfer_queued
from .stow import pacs_configured
from .tasks import pacs_send


@receiver(case_transitioned, dispatch_uid="pacs_send_on_assignment")
def send_on_assignment(
    sender: Any, case_id: int, to_status: str, actor_id: int | None, **kwargs: Any
) -> None:
    if to_status != Status.ASSIGNED or not pacs_configured():
        return
    if not PacsPolicy.send_on_assignment_enabled():
        return
    case = Case.objects.get(pk=case_id)
    by = User.objects.filter(pk=actor_id).first() if actor_id else None
    case_studies_queue(case=case, by=by)


@receiver(transfer_queued, sender=PacsTransfer, dispatch_uid="pacs_send_queued")
def send_when_queued(sender: Any, transfer_id: int, **kwargs: Any) -> None:
    pacs_send.delay(transfer_id)
