"""Sending imaging studies to the PACS: queueing (console button, admin action, automatic
on assignment), the send itself (run by ``pacs.tasks.pacs_send``) and giving up.

A transfer is one row per study. Queueing locks the study row, so two clicks (or a click and
the assignment receiver) queue one transfer. The send records every instance the PACS's
STOW-RS answer confirms, batch by batch, so a send that broke off resumes with the missing
instances only and nothing is stored twice.
"""

import logging
from datetime import timedelta

import pydicom
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.dispatch import Signal
from django.utils import timezone

from accounts.models import User
from cases.lifecycle import timeline_note
from cases.models import Case
from imaging.models import Instance, Study
from imaging.storage import open_instance
from intake.models import Record

from .models import PacsSentInstance, PacsTransfer
from .stow import (
    PacsRefused,
    PacsUnavailable,
    batches,
    pacs_client,
    pacs_configured,
    read_dataset,
    stow_batch,
)

logger = logging.getLogger(__name__)
T = PacsTransfer.State

# Sent after each batch's confirmed instances are saved: transfer_id, sop_uids (a frozenset).
pacs_batch_stored = Signal()
# Sent once a queued transfer's transaction commits: transfer_id. pacs.receivers queues the
# send task (pacs.tasks imports this module, so this module imports nothing of it).
transfer_queued = Signal()


def study_label(study: Study) -> str:
    kind = f"{study.modalities} study" if study.modalities else "Imaging study"
    return f"{kind} “{study.description}”" if study.description else kind


def study_refusal(study: Study) -> str:
    """Why ``study`` cannot go to the PACS, or "" when it can."""
    instances = Instance.objects.filter(study=study)
    if not instances.exists():
        return "The study has no images."
    if instances.exclude(record__in=Record.objects.cleared()).exists():
        return "Some of the study's files have not been cleared by the virus scan."
    return ""


@transaction.atomic
def transfer_queue(*, study: Study, by: User | None) -> tuple[PacsTransfer, bool]:
    """Queue ``study`` for the PACS. Returns the transfer and whether this call queued it
    (False: it is already queued, on its way, or sent in full)."""
    if not pacs_configured():
        raise ValidationError("No PACS is configured.", code="pacs_off")
    # The study row is the lock: concurrent requests for one study queue one transfer.
    locked = Study.objects.select_for_update().select_related("case").get(pk=study.pk)
    refusal = study_refusal(locked)
    if refusal:
        raise ValidationError(refusal, code="not_clean")
    total = Instance.objects.filter(study=locked).count()
    transfer = PacsTransfer.objects.filter(study=locked).first()
    if transfer is None:
        transfer = PacsTransfer.objects.create(study=locked, total=total, queued_by=by)
    elif transfer.state in (T.QUEUED, T.SENDING) or (
        transfer.state == T.SENT and transfer.sent >= total
    ):
        return transfer, False  # on its way already, or nothing new to send
    else:
        # Failed, or sent before more images of the study arrived: the same row again;
        # instances already confirmed stay confirmed and are not sent again.
        transfer.state, transfer.reason, transfer.total = T.QUEUED, "", total
        transfer.attempts, transfer.queued_by = 0, by
        transfer.save(
            update_fields=["state", "reason", "total", "attempts", "queued_by", "updated_at"]
        )
    timeline_note(locked.case, by, f"{study_label(locked)} queued for the PACS.")
    transfer_id = transfer.pk
    transaction.on_commit(
        lambda: transfer_queued.send(sender=PacsTransfer, transfer_id=transfer_id)
    )
    return transfer, True


def case_studies_queue(*, case: Case, by: User | None) -> list[PacsTransfer]:
    """Queue every clean study of ``case`` (automatic sending on assignment); studies that
    cannot go (not clean, no images) are left for the coordinator to see."""
    queued = []
    for study in Study.objects.filter(case=case).order_by("pk"):
        try:
            transfer, fresh = transfer_queue(study=study, by=by)
        except ValidationError:
            continue
        if fresh:
            queued.append(transfer)
    return queued


@transaction.atomic
def transfer_fail(*, transfer_id: int, reason: str) -> bool:
    """Give up on a transfer (the PACS refused, or stayed unreachable through every retry)."""
    transfer = (
        PacsTransfer.objects.select_for_update()
        .select_related("study__case")
        .filter(pk=transfer_id, state__in=[T.QUEUED, T.SENDING])
        .first()
    )
    if transfer is None:
        return False
    transfer.state, transfer.reason = T.FAILED, reason[:300]
    transfer.save(update_fields=["state", "reason", "updated_at"])
    study = transfer.study
    timeline_note(study.case, None, f"Sending {study_label(study)} to the PACS failed: {reason}")
    logger.warning("PACS transfer %s failed", transfer_id)
    return True


@transaction.atomic
def _transfer_finish(*, transfer_id: int) -> None:
    transfer = PacsTransfer.objects.select_for_update().select_related("study__case")
    done = transfer.get(pk=transfer_id)
    if done.state != T.SENDING:
        return
    done.state, done.reason = T.SENT, ""
    done.save(update_fields=["state", "reason", "updated_at"])
    timeline_note(
        done.study.case,
        None,
        f"{study_label(done.study)} sent to the PACS ({done.sent}/{done.total} images).",
    )


def _read_batch(pks: list[int]) -> tuple[list[pydicom.Dataset], dict[str, Instance]]:
    datasets, by_uid = [], {}
    for instance in Instance.objects.filter(pk__in=pks).order_by("series_id", "sort_index", "pk"):
        with open_instance(instance) as fp:
            dataset = read_dataset(fp)
        datasets.append(dataset)
        by_uid[str(dataset.SOPInstanceUID)] = instance
    return datasets, by_uid


def transfer_send(*, transfer_id: int) -> str:
    """Send what the PACS has not confirmed yet. Raises PacsUnavailable (the task retries
    with backoff); a refusal by the PACS ends the transfer as failed with its reason."""
    # Claim: queued, or sending (a retry, or a task redelivered after a worker died).
    claimed = PacsTransfer.objects.filter(pk=transfer_id, state__in=[T.QUEUED, T.SENDING]).update(
        state=T.SENDING, attempts=F("attempts") + 1, updated_at=timezone.now()
    )
    if claimed != 1:
        return "skipped"
    transfer = PacsTransfer.objects.select_related("study").get(pk=transfer_id)
    study = transfer.study
    refusal = study_refusal(study)
    if refusal:
        transfer_fail(transfer_id=transfer_id, reason=refusal)
        return "failed"
    instances = Instance.objects.filter(study=study)
    confirmed = PacsSentInstance.objects.filter(transfer=transfer)
    todo = list(
        instances.exclude(pk__in=confirmed.values("instance_id"))
        .order_by("series_id", "sort_index", "pk")
        .values_list("pk", "size")
    )
    PacsTransfer.objects.filter(pk=transfer_id).update(
        total=instances.count(), sent=confirmed.count()
    )
    client = pacs_client()
    groups = batches(todo, count=settings.PACS_STOW_BATCH, max_bytes=settings.PACS_STOW_BATCH_BYTES)
    for group in groups:
        try:
            datasets, by_uid = _read_batch(group)
        except (OSError, pydicom.errors.InvalidDicomError):
            transfer_fail(transfer_id=transfer_id, reason="A stored image could not be read.")
            return "failed"
        try:
            outcome = stow_batch(client, study_uid=study.study_uid, datasets=datasets)
        except PacsRefused as refused:
            transfer_fail(transfer_id=transfer_id, reason=str(refused))
            return "failed"
        with transaction.atomic():
            PacsSentInstance.objects.bulk_create(
                [PacsSentInstance(transfer=transfer, instance=by_uid[u]) for u in outcome.stored],
                ignore_conflicts=True,
            )
            # updated_at moves with every batch: the sweep leaves a transfer in progress alone.
            PacsTransfer.objects.filter(pk=transfer_id).update(
                sent=confirmed.count(), updated_at=timezone.now()
            )
        pacs_batch_stored.send(
            sender=PacsTransfer, transfer_id=transfer_id, sop_uids=outcome.stored
        )
        if outcome.refused:
            first = next(iter(outcome.refused.values()))
            transfer_fail(
                transfer_id=transfer_id,
                reason=f"the PACS refused {len(outcome.refused)} image(s): {first}",
            )
            return "failed"
        unconfirmed = len(by_uid) - len(outcome.stored)
        if unconfirmed:
            # Neither stored nor refused: ask again later rather than assume either.
            raise PacsUnavailable(f"the PACS did not confirm {unconfirmed} image(s)")
    _transfer_finish(transfer_id=transfer_id)
    return "sent"


# Longer than the longest retry countdown (15 minutes) and any one batch: a transfer quiet
# for this long has no task on its way.
STALE_TRANSFER = timedelta(minutes=40)


def transfers_stale() -> list[int]:
    """Queued or sending transfers nobody has touched for STALE_TRANSFER (their task message
    was lost): the sweep sends them again; the claim in transfer_send keeps that safe."""
    cutoff = timezone.now() - STALE_TRANSFER
    stale = PacsTransfer.objects.filter(state__in=[T.QUEUED, T.SENDING], updated_at__lt=cutoff)
    return list(stale.values_list("pk", flat=True))
