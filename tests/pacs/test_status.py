"""The status a study shows (console and workspace) and the sweep for lost task messages."""

from datetime import timedelta
from typing import Any

from django.template import Context, Template
from django.utils import timezone

from imaging.models import Study
from pacs.models import PacsTransfer
from pacs.stow import pacs_client, qido_instance_uids
from pacs.tasks import pacs_sweep
from tests.factories import CaseFactory

from .builders import build_study

T = PacsTransfer.State


def shown(study: Any) -> str:
    fresh = Study.objects.get(pk=study.pk)  # no cached transfer from an earlier render
    return Template("{% load pacs %}{% pacs_status study %}").render(Context({"study": fresh}))


def test_each_state_reads_as_the_coordinator_and_specialist_see_it(
    pacs_unused: str, study: Any
) -> None:
    assert shown(study) == "not sent"
    transfer = PacsTransfer.objects.create(study=study, total=20)
    assert shown(study) == "queued"
    PacsTransfer.objects.filter(pk=transfer.pk).update(state=T.SENDING, sent=5)
    assert shown(study) == "sending 5/20"
    PacsTransfer.objects.filter(pk=transfer.pk).update(state=T.SENT, sent=20)
    assert shown(study) == "sent 20/20"
    PacsTransfer.objects.filter(pk=transfer.pk).update(state=T.FAILED, reason="HTTP 403: No")
    assert shown(study) == "failed: HTTP 403: No"


def test_without_a_pacs_no_status_is_shown(pacs_off: None, study: Any) -> None:
    PacsTransfer.objects.create(study=study, total=20)
    assert shown(study) == ""


def test_the_sweep_sends_a_transfer_whose_task_was_lost(
    pacs: str, family: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = CaseFactory(family=family, status="in_review")
    lost = build_study(case=case, uploaded_by=family, series=1, per_series=3)
    fresh = build_study(case=case, uploaded_by=family, series=1, per_series=2)
    old = PacsTransfer.objects.create(study=lost, total=3)
    PacsTransfer.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    recent = PacsTransfer.objects.create(study=fresh, total=2)

    assert pacs_sweep.delay().get() == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.state, old.sent) == (T.SENT, 3)
    assert recent.state == T.QUEUED  # its task may still be on its way: left alone
    assert len(qido_instance_uids(pacs_client(), study_uid=lost.study_uid)) == 3
    assert qido_instance_uids(pacs_client(), study_uid=fresh.study_uid) == []


def test_the_console_case_page_shows_each_study_with_its_status_and_a_send_link(
    pacs_unused: str, study: Any, coordinator: Any
) -> None:
    from django.test import Client
    from django.urls import reverse

    from tests.conftest import login

    PacsTransfer.objects.create(study=study, total=20, sent=5, state=T.SENDING)
    response = login(Client(), coordinator).get(
        reverse("admin:cases_case_change", args=[study.case.pk])
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="case-pacs"' in body
    assert "sending 5/20" in body
    assert reverse("admin:pacs_studyforpacs_send", args=[study.pk]) in body


def test_without_a_pacs_the_console_says_so_instead_of_a_dead_end(
    pacs_off: None, study: Any, coordinator: Any
) -> None:
    from django.test import Client
    from django.urls import reverse

    from tests.conftest import login

    body = (
        login(Client(), coordinator)
        .get(reverse("admin:cases_case_change", args=[study.case.pk]))
        .content.decode()
    )
    assert "No PACS is configured here" in body
    assert "Send to PACS…" not in body


def test_the_specialist_workspace_shows_the_status_without_a_send_link(
    pacs_unused: str, study: Any, specialist: Any
) -> None:
    from django.test import Client
    from django.urls import reverse

    from tests.conftest import login

    PacsTransfer.objects.create(study=study, total=20, sent=20, state=T.SENT)
    response = login(Client(), specialist).get(
        reverse("workspace_case", args=[study.case.reference])
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "sent 20/20" in body
    assert "Send to PACS" not in body


def test_the_workspace_reads_the_studies_once_for_its_study_links_and_its_pacs_panel(
    pacs_unused: str, study: Any, specialist: Any
) -> None:
    """The study links list only studies the viewer opens (an image from a record that
    scanned clean); the PACS panel lists every study with its transfer. One query serves
    both (imaging.studies)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from tests.conftest import login

    from .builders import build_study

    waiting = build_study(
        case=study.case, uploaded_by=specialist, series=1, per_series=2, scan="pending"
    )
    waiting.description = "CT waiting"
    waiting.save()
    PacsTransfer.objects.create(study=study, total=20, sent=20, state=T.SENT)
    client = login(Client(), specialist)
    url = reverse("workspace_case", args=[study.case.reference])
    with CaptureQueriesContext(connection) as captured:
        body = client.get(url).content.decode()
    studies = [q for q in captured.captured_queries if 'FROM "imaging_study"' in q["sql"]]
    assert len(studies) == 1
    links, pacs_panel = body.split('id="case-pacs"')
    assert reverse("study_viewer", args=[study.case.reference, study.pk]) in links
    assert "(2 series, 20 images)" in links
    assert "CT waiting" not in links
    assert "“CT chest”: sent 20/20" in pacs_panel
    assert "“CT waiting”: not sent" in pacs_panel
    assert pacs_panel.index("CT chest") < pacs_panel.index("CT waiting")
