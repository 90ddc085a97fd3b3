"""The report in the coordinator console: the case page's Report panel, "Reopen for
correction…" and "Close case" (Moves calling reports.services)."""

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import User
from cases.models import Case, Status, TimelineEvent
from core.models import OutboundEmail
from reports import services
from reports.models import FollowUpQuestion, Report
from tests.conftest import login
from tests.reports.helpers import case_in_review, code, fill
from tests.reports.matrix_reports import delivered_report

S = Status


@pytest.fixture
def staff(coordinator: User) -> Client:
    return login(Client(), coordinator)


@pytest.fixture
def delivered(family: User, specialist: User, physician: User) -> tuple[Case, Report]:
    case = case_in_review(family, specialist, physician_email=physician.email)
    Case.objects.filter(pk=case.pk).update(status=S.DELIVERED)
    case.refresh_from_db()
    return case, delivered_report(case)


def _page(client: Client, case: Case) -> Any:
    response = client.get(reverse("admin:cases_case_change", args=[case.pk]))
    assert response.status_code == 200
    return response


def _move(client: Client, case: Case, action: str, data: Any = None) -> Any:
    url = reverse("admin:cases_case_transition", args=[case.pk, action])
    return client.post(url, data or {}, follow=True)


def test_panel_shows_each_report_and_who_opened_it(
    staff: Client, delivered: tuple[Case, Report], family: User, physician: User
) -> None:
    case, report = delivered
    html = _page(staff, case).content.decode()
    assert 'id="case-report"' in html
    assert report.pdf_sha256 in html
    assert "Family: not opened yet" in html and "Physician: not opened yet" in html

    services.report_opened(report, family)
    Report.objects.filter(pk=report.pk).update(physician_reminded_at=report.delivered_at)
    response = _page(staff, case)
    html = response.content.decode()
    assert f"{family.full_name} (family)" in html
    assert "Family: not opened yet" not in html
    assert "Physician: not opened yet (reminded" in html
    row = response.context["console"]["panel"]["report"]["rows"][0]
    assert row["state"] == "Delivered" and [o.user for o in row["openings"]] == [family]

    services.report_opened(report, physician)
    html = _page(staff, case).content.decode()
    assert f"{physician.full_name} (physician)" in html and "not opened yet" not in html


def test_report_buttons_show_only_when_delivered(
    staff: Client, delivered: tuple[Case, Report], family: User
) -> None:
    case, _report = delivered
    actions = [m["move"].action for m in _page(staff, case).context["console"]["moves"]]
    assert actions == ["reopen_report", "close"]
    in_review = case_in_review(family, case.assigned_specialist)
    actions = [m["move"].action for m in _page(staff, in_review).context["console"]["moves"]]
    assert "reopen_report" not in actions and "close" not in actions


def test_reopen_then_version_two_is_delivered_and_version_one_kept(
    staff: Client,
    delivered: tuple[Case, Report],
    coordinator: User,
    specialist: User,
    family: User,
    physician: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    case, first = delivered
    url = reverse("admin:cases_case_transition", args=[case.pk, "reopen_report"])
    assert staff.get(url).status_code == 200
    assert staff.post(url, {"note": ""}).status_code == 400
    assert not Report.objects.filter(case=case, version=2).exists()

    response = _move(staff, case, "reopen_report", {"note": "The echo date in the history."})
    assert "the specialist is asked to write version 2" in response.content.decode()
    draft = Report.objects.get(case=case, version=2)
    assert (draft.supersedes, draft.reopened_by, draft.signed_at) == (first, coordinator, None)
    assert TimelineEvent.objects.filter(
        case=case, actor=coordinator, note__startswith="Report reopened for correction"
    ).exists()
    assert list(
        OutboundEmail.objects.filter(case=case, kind="report_reopened").values_list("to", flat=True)
    ) == [specialist.email]
    # While the correction is being written, there is nothing more to reopen.
    actions = [m["move"].action for m in _page(staff, case).context["console"]["moves"]]
    assert "reopen_report" not in actions
    response = _move(staff, case, "reopen_report", {"note": "Again"})
    assert Report.objects.filter(case=case).count() == 2

    draft = services.report_draft_for(case=case, by=specialist)
    assert draft.version == 2
    fill(draft, specialist, "corrected")
    draft.refresh_from_db()
    services.draft_save(
        report=draft,
        by=specialist,
        revision=draft.revision,
        amendment_reason="The echo was on March 3, not March 13.",
    )
    draft.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.report_sign(report=draft, by=specialist, code=code())
    draft.refresh_from_db()
    assert draft.delivered_at is not None
    updated = set(
        OutboundEmail.objects.filter(case=case, kind="report_updated").values_list("to", flat=True)
    )
    assert updated == {family.email, physician.email}
    first_again = Report.objects.get(pk=first.pk)
    assert (first_again.content_sha256, first_again.pdf_sha256, first_again.summary) == (
        first.content_sha256,
        first.pdf_sha256,
        first.summary,
    )
    html = _page(staff, case).content.decode()
    assert "replaced by version 2" in html
    assert "The echo was on March 3, not March 13." in html
    case.refresh_from_db()
    assert case.status == S.DELIVERED


def test_close_waits_for_follow_ups_and_addenda(
    staff: Client,
    delivered: tuple[Case, Report],
    coordinator: User,
    family: User,
    specialist: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    case, _report = delivered
    services.follow_up_ask(case=case, by=family, text="Can she swim?")
    response = _move(staff, case, "close")
    assert "A follow-up question is not answered yet." in response.content.decode()
    case.refresh_from_db()
    assert case.status == S.DELIVERED

    addendum = services.addendum_draft_for(case=case, by=specialist)
    services.draft_save(
        report=addendum, by=specialist, revision=addendum.revision, answers={1: "Yes."}
    )
    response = _move(staff, case, "close")
    assert "still being written or delivered" in response.content.decode()
    case.refresh_from_db()
    assert case.status == S.DELIVERED

    addendum.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.report_sign(report=addendum, by=specialist, password=settings.DEMO_PASSWORD)
    assert FollowUpQuestion.objects.get(case=case).answered_in == addendum
    html = _page(staff, case).content.decode()
    assert "answered in Addendum 1" in html

    response = _move(staff, case, "close")
    assert f"{case.reference}: Case closed." in response.content.decode()
    case.refresh_from_db()
    assert case.status == S.CLOSED
    event = TimelineEvent.objects.filter(case=case, kind=TimelineEvent.Kind.STATUS).latest("pk")
    assert (event.to_status, event.actor) == (S.CLOSED, coordinator)
    assert _page(staff, case).context["console"]["moves"] == []
    # The family still reads the report after the case is closed.
    assert (
        login(Client(), family).get(reverse("report_read", args=[case.reference])).status_code
        == 200
    )


def test_close_is_post_only(staff: Client, delivered: tuple[Case, Report]) -> None:
    case, _report = delivered
    url = reverse("admin:cases_case_transition", args=[case.pk, "close"])
    assert staff.get(url).status_code == 405
    case.refresh_from_db()
    assert case.status == S.DELIVERED


def test_reports_are_read_only_lists_for_coordinators(
    staff: Client, delivered: tuple[Case, Report]
) -> None:
    _case, report = delivered
    assert staff.get(reverse("admin:reports_report_changelist")).status_code == 200
    change = staff.get(reverse("admin:reports_report_change", args=[report.pk]))
    assert change.status_code == 200
    html = change.content.decode()
    assert report.summary not in html  # the text is read in the audited portal page
    assert 'name="_save"' not in html
    response = staff.post(reverse("admin:reports_report_change", args=[report.pk]), {})
    assert response.status_code == 403
    assert staff.get(reverse("admin:reports_followupquestion_changelist")).status_code == 200
    assert staff.get(reverse("admin:reports_reportopening_changelist")).status_code == 200
