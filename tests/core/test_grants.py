"""Viewer grants: bound to kind, user and object; expire within minutes."""

import pytest
import time_machine

from core import grants

# Pure functions: no database (tests/conftest.py would otherwise give every test one).
pytestmark = pytest.mark.no_db


def test_grant_round_trip_returns_the_case():
    token = grants.issue(kind="study", user_id=7, case_id=42, object_id="1.2.3")
    assert grants.check(token, kind="study", user_id=7, object_id="1.2.3") == 42


@pytest.mark.parametrize(
    ("kind", "user_id", "object_id"),
    [("slide", 7, "1.2.3"), ("study", 8, "1.2.3"), ("study", 7, "1.2.4"), ("study", None, "1.2.3")],
)
def test_grant_never_works_for_another_kind_user_or_object(kind, user_id, object_id):
    token = grants.issue(kind="study", user_id=7, case_id=42, object_id="1.2.3")
    with pytest.raises(grants.GrantInvalid):
        grants.check(token, kind=kind, user_id=user_id, object_id=object_id)


@pytest.mark.parametrize("token", ["", None, "garbage", "a:b:c"])
def test_malformed_grants_are_refused(token):
    with pytest.raises(grants.GrantInvalid):
        grants.check(token, kind="study", user_id=7, object_id="1")


def test_grant_expires():
    with time_machine.travel("2026-12-01 10:00:00+00:00", tick=False):
        token = grants.issue(kind="study", user_id=7, case_id=42, object_id="x")
    with time_machine.travel("2026-12-01 10:09:00+00:00", tick=False):
        assert grants.check(token, kind="study", user_id=7, object_id="x") == 42
    with (
        time_machine.travel("2026-12-01 10:11:00+00:00", tick=False),
        pytest.raises(grants.GrantInvalid),
    ):
        grants.check(token, kind="study", user_id=7, object_id="x")
