"""The case page's short lists read with the gated case (cases.rows) are the rows, and the
page, that reading each list on its own gives; and only the case's own, for whom they are
shown."""

import re
from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.db import connection
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from cases.access import case_for_user
from cases.models import Case, CaseHold, CaseMember, RecordRequest, Status
from cases.page import HOLDS, case_page_rows
from cases.rows import CaseRows, case_rows
from intake.models import Question
from intake.panels import GUARDIANS, QUESTIONS, RECORD_REQUESTS
from tests.conftest import login
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db

LISTS: list[CaseRows[Any]] = [QUESTIONS, RECORD_REQUESTS, GUARDIANS, HOLDS]


def _fill(case: Case, family: User) -> None:
    now = timezone.now()
    for position, text in enumerate(["Is surgery needed now?", "What else could we try?"], 1):
        Question.objects.create(case=case, position=position, text=text, asked_by=family)
    RecordRequest.objects.create(
        case=case,
        what="MRI of the spine",
        requested_from=RecordRequest.From.PROVIDER,
        provider_name="County Imaging",
        due_date=(now + timedelta(days=5)).date(),
        created_by=family,
    )
    RecordRequest.objects.create(
        case=case,
        what="Clinic letter",
        requested_from=RecordRequest.From.FAMILY,
        by_mail=True,
        received_at=now,
        created_by=family,
    )
    CaseMember.objects.create(
        case=case, role=CaseMember.Role.GUARDIAN, email="second@example.com", invited_by=family
    )
    CaseMember.objects.create(
        case=case,
        role=CaseMember.Role.GUARDIAN,
        email="revoked@example.com",
        invited_by=family,
        revoked_at=now,
    )
    CaseHold.objects.create(
        case=case,
        started_at=now - timedelta(days=4),
        ended_at=now - timedelta(days=2),
        reason="Waiting for the MRI",
        started_by=family,
    )


def _world(family: User, other_family: User) -> Case:
    case = CaseFactory(family=family, status=Status.IN_REVIEW, due_at=timezone.now())
    _fill(case, family)
    _fill(CaseFactory(family=other_family, status=Status.IN_REVIEW), other_family)
    return case


def _gated(user: User, case: Case, *, with_rows: bool) -> Case:
    request = RequestFactory().get("/")
    request.user = user
    annotate = case_page_rows(user) if with_rows else None
    return case_for_user(request, case.reference, annotate=annotate)


def _as_fields(rows: list[Any]) -> list[tuple[type, dict[str, Any]]]:
    return [
        (type(row), {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields})
        for row in rows
    ]


def test_each_list_read_with_the_case_is_the_one_read_on_its_own(
    family: User, other_family: User
) -> None:
    case = _world(family, other_family)
    with_rows = _gated(family, case, with_rows=True)
    plain = _gated(family, case, with_rows=False)
    for rows in LISTS:
        read_with = case_rows(with_rows, rows, family)
        read_alone = case_rows(plain, rows, family)
        assert read_with, rows.name  # each list has rows here
        assert _as_fields(read_with) == _as_fields(read_alone), rows.name
        # Equal datetimes could still differ in awareness; and each row knows its case.
        for a, b in zip(read_with, read_alone, strict=True):
            for field in a._meta.concrete_fields:
                value = getattr(a, field.attname)
                assert type(value) is type(getattr(b, field.attname)), field
                if hasattr(value, "utcoffset") and hasattr(value, "hour"):
                    assert value.utcoffset() == timedelta(0)
            assert a.case is with_rows
    # The other family's rows never come with this case.
    assert {q.case_id for q in case_rows(with_rows, QUESTIONS, family)} == {case.pk}


def test_the_lists_come_with_the_case_in_one_query(family: User, other_family: User) -> None:
    from django.test.utils import CaptureQueriesContext

    case = _world(family, other_family)
    with_rows = _gated(family, case, with_rows=True)
    with CaptureQueriesContext(connection) as captured:
        for rows in LISTS:
            case_rows(with_rows, rows, family)
    assert len(captured) == 0


def test_a_second_guardian_is_never_read_the_guardians(family: User, other_family: User) -> None:
    case = _world(family, other_family)
    EmailAddress.objects.update_or_create(
        user=other_family, email=other_family.email, defaults={"verified": True}
    )
    CaseMember.objects.create(
        case=case, role=CaseMember.Role.GUARDIAN, email=other_family.email, invited_by=family
    )
    seen_by_guardian = _gated(other_family, case, with_rows=True)
    assert case_rows(seen_by_guardian, GUARDIANS, other_family) == []
    assert len(case_rows(_gated(family, case, with_rows=True), GUARDIANS, family)) == 2


def _page(client: Client, case: Case) -> str:
    html = client.get(reverse("case_detail", args=[case.reference])).content.decode()
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def test_the_page_is_the_same_with_the_lists_read_on_their_own(
    client: Client, family: User, other_family: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = _world(family, other_family)
    login(client, family)
    lean = _page(client, case)
    assert "MRI of the spine" in lean and "second@example.com" in lean
    assert "What else could we try?" in lean and "revoked@example.com" not in lean
    monkeypatch.setattr("cases.views.case_page_rows", lambda user: {})
    assert _page(client, case) == lean


def test_the_lists_read_for_one_person_are_never_given_to_another(
    family: User, other_family: User
) -> None:
    """The guardians are read only for their manager: the same case object asked for
    another person reads that person's list afresh (here: none)."""
    case = _world(family, other_family)
    EmailAddress.objects.update_or_create(
        user=other_family, email=other_family.email, defaults={"verified": True}
    )
    CaseMember.objects.create(
        case=case, role=CaseMember.Role.GUARDIAN, email=other_family.email, invited_by=family
    )
    read_for_owner = _gated(family, case, with_rows=True)
    assert len(case_rows(read_for_owner, GUARDIANS, family)) == 2
    assert case_rows(read_for_owner, GUARDIANS, other_family) == []
