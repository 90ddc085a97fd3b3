"""A user's admin permissions come from the cache (accounts.backends), and any change to
them counts from the next request."""

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from accounts.roles import COORDINATOR_GROUP, user_set_role
from tests.conftest import login

pytestmark = pytest.mark.django_db

QUEUE = "admin:cases_case_changelist"


def _permission_reads(client: Client, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    reads = sum('FROM "auth_permission"' in q["sql"] for q in captured.captured_queries)
    return response.status_code, reads


def test_a_coordinators_permissions_are_read_once_then_cached(coordinator: Any) -> None:
    client = login(Client(), coordinator)
    url = reverse(QUEUE)
    assert _permission_reads(client, url) == (200, 2)  # their own and their groups'
    assert _permission_reads(client, url) == (200, 0)


def test_leaving_the_group_takes_the_console_away_at_the_next_request(coordinator: Any) -> None:
    client = login(Client(), coordinator)
    url = reverse(QUEUE)
    assert client.get(url).status_code == 200
    coordinator.groups.remove(Group.objects.get(name=COORDINATOR_GROUP))
    assert client.get(url).status_code == 403


def test_a_permission_taken_from_the_group_counts_at_the_next_request(coordinator: Any) -> None:
    client = login(Client(), coordinator)
    url = reverse(QUEUE)
    assert client.get(url).status_code == 200
    group = Group.objects.get(name=COORDINATOR_GROUP)
    group.permissions.remove(
        Permission.objects.get(content_type__app_label="cases", codename="view_case"),
        Permission.objects.get(content_type__app_label="cases", codename="change_case"),
    )
    assert client.get(url).status_code == 403


def test_a_role_changed_away_from_coordinator_loses_the_console(coordinator: Any) -> None:
    client = login(Client(), coordinator)
    url = reverse(QUEUE)
    assert client.get(url).status_code == 200
    user_set_role(user=coordinator, role=Role.PHYSICIAN)
    response = client.get(url)
    # No longer staff: the admin sends them to its login page.
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
