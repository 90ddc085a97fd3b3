"""The audit log is append-only, in the application and (on PostgreSQL) in the database."""

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from cases.models import AccessEvent
from tests.conftest import login
from tests.factories import CaseFactory
from tests.services import need_postgres


@pytest.fixture
def event(family: Any) -> AccessEvent:
    case = CaseFactory(family=family)
    login(Client(), family).get(reverse("case_detail", args=[case.reference]))
    return AccessEvent.objects.get()


def test_a_view_writes_who_what_when_and_where(event: AccessEvent, family: Any) -> None:
    assert event.user == family
    assert event.role == "family"
    assert event.action == "view"
    assert event.ip == "127.0.0.1"
    assert len(event.request_id) == 32
    assert event.at is not None


def test_the_application_cannot_change_or_delete_rows(event: AccessEvent) -> None:
    event.action = "tampered"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AccessEvent.objects.filter(pk=event.pk).update(action="tampered")
    with pytest.raises(PermissionError):
        AccessEvent.objects.all().delete()
    assert AccessEvent.objects.get(pk=event.pk).action == "view"


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE cases_accessevent SET action = 'tampered'",
        "DELETE FROM cases_accessevent",
    ],
)
def test_the_database_refuses_update_and_delete(event: AccessEvent, sql: str) -> None:
    need_postgres()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert AccessEvent.objects.get(pk=event.pk).action == "view"


def test_coordinator_reads_the_log_in_admin_filtered(
    event: AccessEvent, coordinator: Any, other_family: Any
) -> None:
    other_case = CaseFactory(family=other_family)
    login(Client(), other_family).get(reverse("case_detail", args=[other_case.reference]))
    client = login(Client(), coordinator)
    url = reverse("admin:cases_accessevent_changelist")
    response = client.get(url, {"q": event.case.reference})
    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert rows == [event]
    response = client.get(url, {"q": other_family.email, "when": "today"})
    assert [r.user for r in response.context["cl"].result_list] == [other_family]
    # Read-only: no add, no change, no delete.
    assert client.get(reverse("admin:cases_accessevent_add")).status_code == 403
    change = client.post(
        reverse("admin:cases_accessevent_change", args=[event.pk]), {"action": "x"}
    )
    assert change.status_code == 403
    assert (
        client.post(
            reverse("admin:cases_accessevent_delete", args=[event.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert AccessEvent.objects.filter(pk=event.pk, action="view").exists()


def test_coordinator_filters_the_log_by_any_date_range(
    event: AccessEvent, coordinator: Any
) -> None:
    from datetime import timedelta

    client = login(Client(), coordinator)
    url = reverse("admin:cases_accessevent_changelist")
    from django.utils import timezone

    day = timezone.localdate(event.at)  # the coordinator's (Pacific) calendar day
    inside = client.get(url, {"at_from": str(day), "at_to": str(day)})
    assert inside.status_code == 200
    assert event in inside.context["cl"].result_list
    before = client.get(
        url, {"at_from": str(day - timedelta(days=9)), "at_to": str(day - timedelta(days=1))}
    )
    assert event not in before.context["cl"].result_list
