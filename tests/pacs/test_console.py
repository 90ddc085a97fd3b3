"""The console's "Send to PACS": who may, when it is offered, what it saves and records."""

from typing import Any

import pytest
from django.urls import reverse

from cases.models import AccessEvent, TimelineEvent, TurnaroundPolicy
from intake.models import Record
from pacs.models import PacsPolicy, PacsTransfer

from .builders import build_study

T = PacsTransfer.State
CHANGELIST = reverse("admin:pacs_studyforpacs_changelist")


def send_url(study: Any) -> str:
    return reverse("admin:pacs_studyforpacs_send", args=[study.pk])


def queued_notes(study: Any) -> int:
    return TimelineEvent.objects.filter(
        case=study.case, kind=TimelineEvent.Kind.NOTE, note__endswith="queued for the PACS."
    ).count()


def pacs_audit(study: Any, outcome: str) -> int:
    return AccessEvent.objects.filter(
        case=study.case,
        object_type="imaging_study",
        object_id=str(study.pk),
        action="pacs_send",
        outcome=outcome,
    ).count()


def test_the_coordinator_confirms_and_queues_one_transfer(
    pacs_unused: str, study: Any, coordinator: Any, as_user: Any
) -> None:
    client = as_user(coordinator)
    page = client.get(send_url(study))
    assert page.status_code == 200
    assert study.case.reference in page.text
    assert "2 series, 20 images" in page.text
    assert "PACS: not sent" in page.text
    assert (
        AccessEvent.objects.filter(
            user=coordinator, case=study.case, object_type="imaging_study", action="view"
        ).count()
        == 1
    )

    response = client.post(send_url(study))
    assert response.status_code == 302
    assert response["Location"] == f"{CHANGELIST}?q={study.case.reference}"
    transfer = PacsTransfer.objects.get(study=study)
    assert (transfer.state, transfer.total, transfer.queued_by) == (T.QUEUED, 20, coordinator)
    assert queued_notes(study) == 1
    assert pacs_audit(study, AccessEvent.Outcome.ALLOWED) == 1

    listing = client.get(response["Location"])
    assert "study queued for the PACS" in listing.text
    assert '<td class="field-pacs_status">queued</td>' in listing.text


def test_a_double_submit_queues_one_transfer(
    pacs_unused: str, study: Any, coordinator: Any, as_user: Any
) -> None:
    client = as_user(coordinator)
    client.post(send_url(study))
    second = client.post(send_url(study), follow=True)
    assert second.status_code == 200
    assert "already queued or sent" in second.text
    assert PacsTransfer.objects.filter(study=study).count() == 1
    assert queued_notes(study) == 1


def test_a_failed_transfer_can_be_sent_again_on_the_same_row(
    pacs_unused: str, study: Any, coordinator: Any, as_user: Any
) -> None:
    failed = PacsTransfer.objects.create(
        study=study, state=T.FAILED, sent=5, total=20, reason="HTTP 500", attempts=9
    )
    as_user(coordinator).post(send_url(study))
    failed.refresh_from_db()
    assert (failed.state, failed.reason, failed.attempts) == (T.QUEUED, "", 0)
    assert PacsTransfer.objects.count() == 1
    assert queued_notes(study) == 1


def test_without_a_pacs_nothing_is_offered_or_queued(
    pacs_off: None, study: Any, coordinator: Any, as_user: Any
) -> None:
    client = as_user(coordinator)
    listing = client.get(CHANGELIST)
    assert listing.status_code == 200
    assert "PACS forwarding is off" in listing.text
    assert "Send to PACS" not in listing.text
    assert "send_to_pacs" not in listing.text  # nor the bulk action
    page = client.get(send_url(study))
    assert "No PACS is configured." in page.text
    assert "<button" not in page.text.split('id="content-main"')[1]
    response = client.post(send_url(study), follow=True)
    assert "No PACS is configured." in response.text
    assert not PacsTransfer.objects.exists()
    assert queued_notes(study) == 0
    assert pacs_audit(study, AccessEvent.Outcome.DENIED) == 1


def test_a_study_not_cleared_by_the_scan_is_not_sent(
    pacs_unused: str, study: Any, coordinator: Any, as_user: Any
) -> None:
    Record.objects.filter(case=study.case).update(scan_status=Record.Scan.PENDING)
    client = as_user(coordinator)
    page = client.get(send_url(study))
    assert "not been cleared by the virus scan" in page.text
    response = client.post(send_url(study), follow=True)
    assert "not been cleared by the virus scan" in response.text
    assert not PacsTransfer.objects.exists()
    assert pacs_audit(study, AccessEvent.Outcome.DENIED) == 1


@pytest.mark.parametrize("persona", ["family", "physician", "specialist"])
def test_only_coordinators_reach_the_pacs_pages(
    pacs_unused: str, study: Any, persona: str, request: Any, as_user: Any
) -> None:
    client = as_user(request.getfixturevalue(persona))
    for url in (CHANGELIST, send_url(study), reverse("admin:pacs_pacstransfer_changelist")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    assert client.post(send_url(study)).status_code == 302
    assert not PacsTransfer.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(pacs_unused: str, study: Any, client: Any) -> None:
    response = client.post(send_url(study))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert not PacsTransfer.objects.exists()


def test_an_unknown_study_is_404_and_put_is_405(
    pacs_unused: str, study: Any, coordinator: Any, as_user: Any
) -> None:
    client = as_user(coordinator)
    assert (
        client.get(reverse("admin:pacs_studyforpacs_send", args=[study.pk + 999])).status_code
        == 404
    )
    assert client.put(send_url(study)).status_code == 405
    assert not PacsTransfer.objects.exists()


def test_the_bulk_action_queues_each_selected_study_once(
    pacs_unused: str, study: Any, coordinator: Any, as_user: Any
) -> None:
    client = as_user(coordinator)
    data = {"action": "send_to_pacs", "_selected_action": [study.pk]}
    response = client.post(CHANGELIST, data, follow=True)
    assert response.status_code == 200
    assert "1 study(ies) queued for the PACS." in response.text
    client.post(CHANGELIST, data)
    assert PacsTransfer.objects.filter(study=study).count() == 1
    assert queued_notes(study) == 1


def test_the_listing_shows_each_status(
    pacs_unused: str, study: Any, coordinator: Any, as_user: Any
) -> None:
    PacsTransfer.objects.create(
        study=study, state=T.FAILED, sent=5, total=20, reason="HTTP 403: Forbidden"
    )
    client = as_user(coordinator)
    listing = client.get(CHANGELIST)
    assert "failed: HTTP 403: Forbidden" in listing.text
    PacsTransfer.objects.filter(study=study).update(state=T.SENT, sent=20)
    assert "sent 20/20" in client.get(CHANGELIST).text
    assert "sent 20/20" in client.get(reverse("admin:pacs_pacstransfer_changelist")).text


def test_the_listing_costs_the_same_queries_for_more_studies(
    pacs_unused: str, study: Any, family: Any, coordinator: Any, as_user: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = as_user(coordinator)
    client.get(CHANGELIST)  # warm the session and the content types
    with CaptureQueriesContext(connection) as one:
        client.get(CHANGELIST)
    for _ in range(3):
        more = build_study(case=study.case, uploaded_by=family, series=1, per_series=1)
        PacsTransfer.objects.create(study=more, state=T.QUEUED, total=1)
    with CaptureQueriesContext(connection) as four:
        listing = client.get(CHANGELIST)
    assert listing.text.count('<td class="field-pacs_status">queued</td>') == 3
    assert len(four) == len(one)


def test_the_coordinator_turns_on_sending_at_assignment(coordinator: Any, as_user: Any) -> None:
    policy = TurnaroundPolicy.current()
    url = reverse("admin:cases_turnaroundpolicy_change", args=[policy.pk])
    client = as_user(coordinator)
    page = client.get(url)
    assert page.status_code == 200
    assert "Send every clean imaging study to the PACS" in page.text
    response = client.post(
        url,
        {
            "business_days": 10,
            "review_extension_days": 5,
            "at_risk_days": 2,
            "pacs-TOTAL_FORMS": 1,
            "pacs-INITIAL_FORMS": 0,
            "pacs-MIN_NUM_FORMS": 1,
            "pacs-MAX_NUM_FORMS": 1,
            "pacs-0-policy": policy.pk,
            "pacs-0-send_on_assignment": "on",
        },
    )
    assert response.status_code == 302
    assert PacsPolicy.send_on_assignment_enabled()


def test_the_imaging_study_list_has_the_action_and_the_status(
    pacs_unused: str, study: Any, coordinator: Any, as_user: Any
) -> None:
    client = as_user(coordinator)
    url = reverse("admin:imaging_study_changelist")
    listing = client.get(url)
    assert listing.status_code == 200
    assert '<td class="field-pacs_status">not sent</td>' in listing.text
    data = {"action": "send_to_pacs", "_selected_action": [study.pk]}
    response = client.post(url, data, follow=True)
    assert "1 study(ies) queued for the PACS." in response.text
    assert '<td class="field-pacs_status">queued</td>' in response.text
    assert PacsTransfer.objects.filter(study=study, state=T.QUEUED).count() == 1
    assert queued_notes(study) == 1
    assert pacs_audit(study, AccessEvent.Outcome.ALLOWED) == 1


def test_without_a_pacs_the_imaging_study_list_offers_nothing(
    pacs_off: None, study: Any, coordinator: Any, as_user: Any
) -> None:
    listing = as_user(coordinator).get(reverse("admin:imaging_study_changelist"))
    assert listing.status_code == 200
    assert "field-pacs_status" not in listing.text
    assert "send_to_pacs" not in listing.text
