"""The console's case page reads its panels' lists (records, record requests, reports and
who opened them, follow-up questions, studies and their PACS transfers) in a fixed number
of queries however long the lists grow, and shows the same page whether the lists come
with the case (PostgreSQL, ``cases.admin.rows``) or are read apart (SQLite's path)."""

import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from cases.admin.rows import unfold
from cases.models import AccessEvent, Case, CaseMessage, RecordRequest, Status
from imaging.models import Instance, Series, Study
from intake.models import Record
from pacs.models import PacsTransfer
from reports.models import FollowUpQuestion, Report, ReportOpening
from tests.cases.budgets import BUDGETS
from tests.conftest import login
from tests.reports.helpers import case_in_review
from tests.reports.matrix_reports import delivered_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(family: User, specialist: User, physician: User) -> Case:
    case = case_in_review(family, specialist, physician_email=physician.email)
    Case.objects.filter(pk=case.pk).update(status=Status.DELIVERED)
    case.refresh_from_db()
    return case


def _record(case: Case, by: User, n: int, scan: str = Record.Scan.CLEAN) -> Record:
    return Record.objects.create(
        case=case,
        kind=Record.Kind.IMAGING,
        description=f"Record {n}",
        original_name=f"record{n}.zip",
        file=f"records/console{case.pk:08d}{n:024d}",
        size=1000 + n,
        sha256=f"{case.pk:032x}{n:032x}",
        state=Record.State.AVAILABLE,
        scan_status=scan,
        uploaded_by=by,
    )


def _grow(case: Case, family: User, coordinator: User, start: int, n: int) -> None:
    """``n`` more of each list of the page: records (one in three still waiting for its
    scan), record requests, messages, and studies (one in two sent to the PACS, one in three
    from a record not cleared, which the viewer does not show)."""
    for i in range(start, start + n):
        record = _record(case, family, i, Record.Scan.PENDING if i % 3 == 0 else Record.Scan.CLEAN)
        RecordRequest.objects.create(
            case=case,
            what=f"Request {i}",
            requested_from=RecordRequest.From.PROVIDER if i % 2 else RecordRequest.From.FAMILY,
            provider_name=f"Clinic {i}" if i % 2 else "",
            due_date=date(2026, 12, 1) + timedelta(days=i) if i % 2 else None,
            received_at=timezone.now() if i % 4 == 0 else None,
            created_by=coordinator,
        )
        CaseMessage.objects.create(case=case, author=family, body=f"Message {i}")
        study = Study.objects.create(
            case=case,
            study_uid=f"1.2.840.{case.pk}.{i}",
            description=f"Study {i}",
            modalities="CT",
            study_date=date(2026, 1, 1 + i % 28) if i % 5 else None,
        )
        series = Series.objects.create(
            study=study, series_uid=f"{study.study_uid}.1", instance_count=2
        )
        for k in range(2):
            Instance.objects.create(
                study=study,
                series=series,
                record=record,
                sop_uid=f"{series.series_uid}.{k}",
                storage_key=f"dicom/console{study.pk:08d}{k:08d}",
            )
        if i % 2:
            PacsTransfer.objects.create(study=study, total=2, sent=i % 3)


def _reports(case: Case, family: User, physician: User, coordinator: User, more: bool) -> None:
    """A delivered report opened by the family and one follow-up question; with ``more``, a
    corrected second version opened by both readers, an addendum answering the first
    question and two more questions."""
    if not more:
        first = delivered_report(case)
        ReportOpening.objects.create(report=first, user=family, role="family")
        FollowUpQuestion.objects.create(
            case=case, position=1, text="Can she swim?", asked_by=family
        )
        return
    first = Report.objects.get(case=case, kind=Report.Kind.REPORT, version=1)
    second = delivered_report(case, version=2, supersedes=first, amendment_reason="The date.")
    Report.objects.filter(pk=second.pk).update(reopened_by=coordinator, reopen_note="Fix it")
    addendum = Report.objects.create(
        case=case, kind=Report.Kind.ADDENDUM, version=1, author=case.assigned_specialist
    )
    FollowUpQuestion.objects.filter(case=case).update(answered_in=addendum)
    ReportOpening.objects.create(report=first, user=physician, role="physician")
    ReportOpening.objects.create(report=second, user=physician, role="physician")
    ReportOpening.objects.create(report=second, user=family, role="family")
    for position in (2, 3):
        FollowUpQuestion.objects.create(
            case=case, position=position, text=f"Question {position}?", asked_by=physician
        )


def _count(client: Client, url: str) -> tuple[int, list[str], Any]:
    client.get(url)  # a first request may store the session's or the policy's rows
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), [q["sql"] for q in captured.captured_queries], response


def test_the_case_page_reads_every_list_in_a_fixed_number_of_queries(
    case: Case, family: User, physician: User, coordinator: User, settings: Any
) -> None:
    settings.PACS_DICOMWEB_URL = "http://127.0.0.1:9/dicom-web"  # the panel lists statuses
    client = login(Client(), coordinator)
    url = reverse("admin:cases_case_change", args=[case.pk])
    _grow(case, family, coordinator, 1, 1)
    _reports(case, family, physician, coordinator, more=False)
    small, _, _ = _count(client, url)

    _grow(case, family, coordinator, 2, 9)
    _reports(case, family, physician, coordinator, more=True)
    views = AccessEvent.objects.filter(case=case, user=coordinator, action="view").count()
    large, sql, response = _count(client, url)
    assert large == small, "\n".join(sql)
    assert large <= BUDGETS["console-case"], f"{large} queries\n" + "\n".join(sql)
    # The view's one write: its audit row, inserted with nothing read for it first.
    writes = [q for q in sql if not q.startswith(("SELECT", "(SELECT"))]
    assert len(writes) == 1 and writes[0].startswith('INSERT INTO "cases_accessevent"'), writes
    # Each view of the case still leaves its audit row (two requests).
    assert AccessEvent.objects.filter(case=case, user=coordinator, action="view").count() == (
        views + 2
    )

    # And every row is on the page.
    html = response.content.decode()
    panel = response.context["console"]["panel"]
    assert len(panel["records"]["rows"]) == 11  # the case's labs and ten more
    assert html.count('class="report-row"') == 3
    assert [len(row["openings"]) for row in panel["report"]["rows"]] == [0, 2, 2]
    assert len(re.findall(r"Asked by .+? on ", html)) == 3
    assert html.count("answered in Addendum 1") == 1
    assert len(panel["record_requests"]["rows"]) == 10
    # The viewer's links: the studies whose images came from a record cleared by the scan.
    shown = panel["studies"]["studies"]
    assert len(shown) == 7 and len(re.findall(r'href="/workspace/[^"]+/studies/', html)) == 7
    assert html.count("Send to PACS…") == 10
    assert html.count(": not sent ·") == 5


def _page(client: Client, url: str) -> str:
    # The path of the case alone: each view adds an access row to the full timeline.
    html = client.get(url, {"timeline": "status"}).content.decode()
    html = re.sub(r'nonce="[^"]+"', "", html)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_lists_read_with_the_case_show_the_page_they_show_read_apart(
    case: Case,
    family: User,
    physician: User,
    coordinator: User,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.PACS_DICOMWEB_URL = "http://127.0.0.1:9/dicom-web"
    _grow(case, family, coordinator, 1, 4)
    _reports(case, family, physician, coordinator, more=False)
    _reports(case, family, physician, coordinator, more=True)
    client = login(Client(), coordinator)
    url = reverse("admin:cases_case_change", args=[case.pk])
    client.get(url)
    together = _page(client, url)
    # On SQLite (``make run``) nothing is folded into the case: each list is its own query.
    monkeypatch.setattr(connection, "vendor", "sqlite")
    apart = _page(client, url)
    assert "Can she swim?" in together and "Request 4" in together and "Study 4" in together
    assert together == apart


def test_a_folded_row_is_the_model_row(case: Case, family: User, physician: User) -> None:
    _reports(case, family, physician, physician, more=False)
    _reports(case, family, physician, physician, more=True)
    from reports.admin import follow_up_rows

    folded = Case.objects.annotate(**follow_up_rows()).get(pk=case.pk)
    rows = unfold(folded, "console_follow_ups", FollowUpQuestion, list)
    read = list(
        FollowUpQuestion.objects.filter(case=case).select_related("asked_by", "answered_in")
    )
    assert [
        (
            q.pk,
            q.position,
            q.text,
            q.asked_at,
            q.asked_by,
            q.asked_by.get_full_name(),
            q.answered_in,
        )
        for q in rows
    ] == [
        (
            q.pk,
            q.position,
            q.text,
            q.asked_at,
            q.asked_by,
            q.asked_by.get_full_name(),
            q.answered_in,
        )
        for q in read
    ]
    assert rows[0].answered_in is not None and rows[0].answered_in.title == "Addendum 1"
    assert rows[1].answered_in is None  # a link left empty is None, not a row of nulls
    # Without the folded list (a plain read of the case), the list is read apart.
    plain = Case.objects.get(pk=case.pk)
    assert unfold(plain, "console_follow_ups", FollowUpQuestion, lambda: read) == read


def test_the_timeline_reads_each_source_apart_where_a_union_cannot_be_limited(
    case: Case, family: User, coordinator: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cases.admin.timeline import case_timeline

    _grow(case, family, coordinator, 1, 3)  # messages
    client = login(Client(), coordinator)
    client.get(reverse("admin:cases_case_change", args=[case.pk]))  # an access row
    together = case_timeline(case)
    assert {row["kind"] for row in together} >= {"message", "access"}
    # SQLite (``make run``) refuses LIMIT in the parts of a UNION: one query per source.
    monkeypatch.setattr(connection.features, "supports_slicing_ordering_in_compound", False)
    with CaptureQueriesContext(connection) as captured:
        apart = case_timeline(case)
    assert len(captured) == 4
    assert apart == together
