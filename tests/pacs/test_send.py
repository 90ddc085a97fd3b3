"""Sending studies to a real PACS (Orthanc with its DICOMweb plugin), checked with QIDO-RS."""

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from cases.lifecycle import case_transition
from cases.models import Status, TimelineEvent, TurnaroundPolicy
from imaging.models import Instance
from pacs.models import PacsPolicy, PacsSentInstance, PacsTransfer
from pacs.services import pacs_batch_stored, transfer_queue
from pacs.stow import pacs_client, qido_instance_uids
from pacs.tasks import pacs_send
from tests.factories import CaseFactory

from .builders import build_study
from .orthanc import PASSWORD, USER, Orthanc, need_orthanc_binary

T = PacsTransfer.State


def wait_for_end(transfer: PacsTransfer, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        transfer.refresh_from_db()
        if transfer.state in (T.SENT, T.FAILED):
            return
        time.sleep(0.2)


def notes(case: Any) -> list[str]:
    return list(
        TimelineEvent.objects.filter(case=case, kind=TimelineEvent.Kind.NOTE).values_list(
            "note", flat=True
        )
    )


def test_a_two_series_study_arrives_in_full(
    pacs: str, study: Any, coordinator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        transfer, queued = transfer_queue(study=study, by=coordinator)
    assert queued
    transfer.refresh_from_db()
    assert (transfer.state, transfer.sent, transfer.total) == (T.SENT, 20, 20)
    assert transfer.status_label == "sent 20/20"
    assert PacsSentInstance.objects.filter(transfer=transfer).count() == 20

    in_pacs = qido_instance_uids(pacs_client(), study_uid=study.study_uid)
    ours = set(Instance.objects.filter(study=study).values_list("sop_uid", flat=True))
    assert len(in_pacs) == 20
    assert set(in_pacs) == ours

    assert notes(study.case) == [
        "CT study “CT chest” queued for the PACS.",
        "CT study “CT chest” sent to the PACS (20/20 images).",
    ]
    # Sent in full: queueing again sends nothing and writes nothing.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again, queued = transfer_queue(study=study, by=coordinator)
    assert (queued, again.pk, callbacks) == (False, transfer.pk, [])
    assert len(notes(study.case)) == 2


def test_a_resumed_send_posts_only_the_missing_instances(
    pacs: str, study: Any, coordinator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """A transfer that broke off after 7 confirmed instances sends the other 13 only."""
    first = list(Instance.objects.filter(study=study).order_by("pk")[:7])
    transfer = PacsTransfer.objects.create(
        study=study, state=T.FAILED, sent=7, total=20, reason="the PACS could not be reached"
    )
    PacsSentInstance.objects.bulk_create(
        PacsSentInstance(transfer=transfer, instance=i) for i in first
    )
    posted: list[str] = []

    def collect(sop_uids: frozenset[str], **kwargs: Any) -> None:
        posted.extend(sop_uids)

    pacs_batch_stored.connect(collect, dispatch_uid="resume-test")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            _, queued = transfer_queue(study=study, by=coordinator)
    finally:
        pacs_batch_stored.disconnect(dispatch_uid="resume-test")
    assert queued
    transfer.refresh_from_db()
    assert (transfer.state, transfer.sent, transfer.reason) == (T.SENT, 20, "")
    assert len(posted) == 13
    assert not set(posted) & {i.sop_uid for i in first}
    assert len(qido_instance_uids(pacs_client(), study_uid=study.study_uid)) == 13


def test_a_refusal_by_the_pacs_fails_with_its_reason(
    pacs: str, settings: Any, study: Any, coordinator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.PACS_USERNAME, settings.PACS_PASSWORD = "someone", "wrong-password"
    with django_capture_on_commit_callbacks(execute=True):
        transfer, _ = transfer_queue(study=study, by=coordinator)
    transfer.refresh_from_db()
    assert transfer.state == T.FAILED
    assert transfer.reason.startswith("HTTP 401")
    assert transfer.status_label == f"failed: {transfer.reason}"
    assert transfer.attempts == 1  # a refusal is final: no retries
    assert notes(study.case)[-1] == (
        f"Sending CT study “CT chest” to the PACS failed: {transfer.reason}"
    )


def test_instances_the_pacs_refuses_fail_the_transfer_with_its_reason(
    pacs: str, settings: Any, study: Any, coordinator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """A file that claims another study is refused by Orthanc in its STOW-RS answer (Failed
    SOP Sequence); what it stored in that batch is kept as confirmed."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from pydicom.uid import generate_uid

    from .builders import dicom_slice

    settings.PACS_STOW_BATCH = 5
    stray = Instance.objects.filter(study=study).order_by("series_id", "sort_index", "pk")[1]
    default_storage.delete(stray.storage_key)
    default_storage.save(
        stray.storage_key,
        ContentFile(
            dicom_slice(
                study_uid=generate_uid(), series_uid=generate_uid(), series_number=9, index=0
            )
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        transfer, _ = transfer_queue(study=study, by=coordinator)
    transfer.refresh_from_db()
    assert transfer.state == T.FAILED
    assert transfer.reason == "the PACS refused 1 image(s): Failure Reason 0x0110"
    assert transfer.status_label == "failed: the PACS refused 1 image(s): Failure Reason 0x0110"
    assert transfer.sent == 4  # the rest of that first batch of five
    assert len(qido_instance_uids(pacs_client(), study_uid=study.study_uid)) == 4
    assert notes(study.case)[-1] == (
        f"Sending CT study “CT chest” to the PACS failed: {transfer.reason}"
    )


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_pacs_is_retried_then_the_transfer_fails(
    settings: Any, celery_worker: Any, family: Any, coordinator: Any
) -> None:
    from tests.services import free_port

    settings.PACS_DICOMWEB_URL = f"http://127.0.0.1:{free_port()}/dicom-web"
    settings.PACS_RETRY_MAX, settings.PACS_RETRY_BACKOFF_SECONDS = 2, 1
    case = CaseFactory(family=family, status=Status.IN_REVIEW)
    study = build_study(case=case, uploaded_by=family, series=1, per_series=2)
    with transaction.atomic():
        transfer, _ = transfer_queue(study=study, by=coordinator)
    wait_for_end(transfer)
    assert transfer.state == T.FAILED
    assert transfer.attempts == 3  # the first try and two retries
    assert transfer.reason == "the PACS could not be reached after 3 attempts (ConnectionError)."
    assert transfer.status_label == f"failed: {transfer.reason}"
    assert notes(case)[-1] == f"Sending CT study “CT chest” to the PACS failed: {transfer.reason}"
    assert PacsSentInstance.objects.count() == 0


def test_run_in_process_an_unreachable_pacs_fails_at_once(
    settings: Any, study: Any, coordinator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.services import free_port

    settings.PACS_DICOMWEB_URL = f"http://127.0.0.1:{free_port()}/dicom-web"
    with django_capture_on_commit_callbacks(execute=True):
        transfer, _ = transfer_queue(study=study, by=coordinator)
    transfer.refresh_from_db()
    assert (transfer.state, transfer.attempts) == (T.FAILED, 1)
    assert "could not be reached" in transfer.reason


def test_a_transfer_not_queued_is_never_sent(pacs: str, study: Any) -> None:
    transfer = PacsTransfer.objects.create(study=study, state=T.SENT, sent=20, total=20)
    assert pacs_send.delay(transfer.pk).get() == "skipped"
    assert qido_instance_uids(pacs_client(), study_uid=study.study_uid) == []


def test_assignment_sends_clean_studies_when_the_policy_says_so(
    pacs: str,
    family: Any,
    specialist: Any,
    coordinator: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    PacsPolicy.objects.create(policy=TurnaroundPolicy.current(), send_on_assignment=True)
    case = CaseFactory(family=family, status=Status.AWAITING_FAMILY_CONFIRMATION)
    clean = build_study(case=case, uploaded_by=family, series=1, per_series=3)
    waiting = build_study(case=case, uploaded_by=family, series=1, per_series=2, scan="pending")
    with django_capture_on_commit_callbacks(execute=True):
        case_transition(case=case, to=Status.ASSIGNED, by=coordinator)
    sent = PacsTransfer.objects.get(study=clean)
    assert (sent.state, sent.sent, sent.queued_by) == (T.SENT, 3, coordinator)
    assert not PacsTransfer.objects.filter(study=waiting).exists()
    assert len(qido_instance_uids(pacs_client(), study_uid=clean.study_uid)) == 3


def test_assignment_sends_nothing_when_the_policy_is_off(
    pacs: str, family: Any, coordinator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    PacsPolicy.objects.create(policy=TurnaroundPolicy.current(), send_on_assignment=False)
    case = CaseFactory(family=family, status=Status.AWAITING_FAMILY_CONFIRMATION)
    build_study(case=case, uploaded_by=family, series=1, per_series=2)
    with django_capture_on_commit_callbacks(execute=True):
        case_transition(case=case, to=Status.ASSIGNED, by=coordinator)
    assert not PacsTransfer.objects.exists()


@pytest.fixture
def private_orthanc(tmp_path: Path, settings: Any) -> Any:
    """An Orthanc of this test's own, so killing it disturbs no other test."""
    orthanc = Orthanc(need_orthanc_binary(), tmp_path / "orthanc")
    orthanc.start()
    settings.PACS_DICOMWEB_URL = orthanc.url
    settings.PACS_USERNAME, settings.PACS_PASSWORD = USER, PASSWORD
    try:
        yield orthanc
    finally:
        orthanc.stop()


@pytest.mark.django_db(transaction=True)
def test_a_send_cut_off_by_a_pacs_restart_resumes_without_duplicates(
    private_orthanc: Orthanc, settings: Any, celery_worker: Any, family: Any, coordinator: Any
) -> None:
    """The PACS dies after the first batch; the worker's retries (backoff shortened to a
    second) find it back and send the rest; every instance is stored exactly once."""
    settings.PACS_RETRY_BACKOFF_SECONDS = 1
    case = CaseFactory(family=family, status=Status.IN_REVIEW)
    study = build_study(case=case, uploaded_by=family)
    stored: list[str] = []
    restarted = threading.Event()

    def after_batch(sop_uids: frozenset[str], **kwargs: Any) -> None:
        stored.extend(sop_uids)
        if private_orthanc.process is not None and not restarted.is_set():
            private_orthanc.kill()

            def back_later() -> None:
                time.sleep(1.5)
                private_orthanc.start()
                restarted.set()

            threading.Thread(target=back_later, daemon=True).start()

    pacs_batch_stored.connect(after_batch, dispatch_uid="restart-test")
    try:
        with transaction.atomic():
            transfer, _ = transfer_queue(study=study, by=coordinator)
        wait_for_end(transfer)
    finally:
        pacs_batch_stored.disconnect(dispatch_uid="restart-test")
    assert restarted.is_set()
    assert (transfer.state, transfer.sent, transfer.total) == (T.SENT, 20, 20), transfer.reason
    assert transfer.attempts >= 2  # the cut-off attempt and at least one retry
    assert len(stored) == 20
    assert len(set(stored)) == 20  # nothing the PACS confirmed was posted again
    in_pacs = qido_instance_uids(pacs_client(), study_uid=study.study_uid)
    assert len(in_pacs) == 20
    assert set(in_pacs) == set(
        Instance.objects.filter(study=study).values_list("sop_uid", flat=True)
    )
    assert notes(case)[-1] == "CT study “CT chest” sent to the PACS (20/20 images)."
