"""The audit log is a hash chain: a row changed or removed behind the triggers' back is found."""

import threading
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.test import Client, RequestFactory
from django.urls import reverse

from cases.audit import access_record_many
from cases.audit_chain import CHAINS, chain_for, content_hash, verify
from cases.models import AccessEvent, AuditChainHead
from tests.conftest import login
from tests.factories import CaseFactory
from tests.services import need_postgres


def _view(client: Client, reference: str, times: int = 1) -> None:
    for _ in range(times):
        assert client.get(reverse("case_detail", args=[reference])).status_code == 200


@pytest.fixture
def viewed(family: Any) -> list[AccessEvent]:
    """Three views of one case and two of another, through the portal."""
    client = login(Client(), family)
    first, second = CaseFactory(family=family), CaseFactory(family=family)
    _view(client, first.reference, 3)
    _view(client, second.reference, 2)
    return list(AccessEvent.objects.order_by("pk"))


def _tamper(sql: str, params: list[Any]) -> None:
    """What a database superuser can do: switch the append-only triggers off for a moment."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def test_each_row_links_to_the_one_before_in_its_chain(viewed: list[AccessEvent]) -> None:
    need_postgres()
    assert len(viewed) == 5
    by_chain: dict[int, list[AccessEvent]] = {}
    for row in viewed:
        assert row.chain == chain_for(case_id=row.case_id, user_id=row.user_id)
        assert len(row.row_hash) == 64
        # The trigger's hash and the Python one agree, so audit_verify can recompute it.
        assert row.row_hash == content_hash(row)
        by_chain.setdefault(row.chain, []).append(row)
    assert len(by_chain) == 2
    for rows in by_chain.values():
        assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
        assert rows[0].prev_hash == ""
        assert [r.prev_hash for r in rows[1:]] == [r.row_hash for r in rows[:-1]]
        head = AuditChainHead.objects.get(chain=rows[0].chain)
        assert (head.seq, head.last_hash) == (len(rows), rows[-1].row_hash)
    call_command("audit_verify")


def test_the_written_row_carries_the_triggers_values(family: Any) -> None:
    # db_default brings the trigger's seq and hashes back through RETURNING.
    case = CaseFactory(family=family)
    event = AccessEvent.objects.create(
        user=family, role="family", case=case, object_type="case", action="view", outcome="allowed"
    )
    assert event.seq == 1
    assert event.row_hash == AccessEvent.objects.get(pk=event.pk).row_hash != ""


def test_a_changed_row_is_named(viewed: list[AccessEvent]) -> None:
    need_postgres()
    changed = viewed[1]
    _tamper("UPDATE cases_accessevent SET user_id = NULL WHERE id = %s", [changed.pk])
    with pytest.raises(CommandError, match=f"chain {changed.chain}, row {changed.pk}: content"):
        call_command("audit_verify")
    # The other chain is intact and not reported.
    assert [b.chain for b in verify()] == [changed.chain]


def test_a_row_whose_hash_was_rewritten_too_breaks_the_next_link(
    viewed: list[AccessEvent],
) -> None:
    need_postgres()
    changed, following = viewed[0], viewed[1]
    assert following.chain == changed.chain
    changed.action = "nothing to see"
    _tamper(
        "UPDATE cases_accessevent SET action = %s, row_hash = %s WHERE id = %s",
        [changed.action, content_hash(changed), changed.pk],
    )
    with pytest.raises(CommandError, match=f"row {following.pk}: does not link"):
        call_command("audit_verify")


def test_a_deleted_row_is_named_by_the_row_after_the_gap(viewed: list[AccessEvent]) -> None:
    need_postgres()
    deleted, following = viewed[1], viewed[2]
    _tamper("DELETE FROM cases_accessevent WHERE id = %s", [deleted.pk])
    with pytest.raises(CommandError, match=f"row {following.pk}: row.s. before it missing"):
        call_command("audit_verify")


def test_a_deleted_last_row_is_found_by_the_head(viewed: list[AccessEvent]) -> None:
    need_postgres()
    last = viewed[2]
    _tamper("DELETE FROM cases_accessevent WHERE id = %s", [last.pk])
    with pytest.raises(CommandError, match=f"chain {last.chain}, its head: last row"):
        call_command("audit_verify")


def test_truncate_is_refused_outside_test_sessions(viewed: list[AccessEvent]) -> None:
    need_postgres()
    for table in ("cases_accessevent", "cases_auditchainhead"):
        with (
            pytest.raises(DatabaseError, match="TRUNCATE refused"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            # The test's own inserts leave deferred key checks pending; run them first.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            # What every session but the test runner's has: no permission setting.
            cursor.execute("SET LOCAL oso.audit_truncate = ''")
            cursor.execute(f"TRUNCATE {table} CASCADE")
    assert AccessEvent.objects.count() == 5
    call_command("audit_verify")


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_every_chain_whole(family: Any) -> None:
    need_postgres()
    cases = [CaseFactory(family=family) for _ in range(3)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def write(n: int) -> None:
        try:
            barrier.wait()
            if n % 2:
                # A console search: one multi-row insert over the three cases' chains.
                request = RequestFactory().get("/admin/cases/case/")
                request.user = family
                for _ in range(5):
                    seen = [(c, "case", c.reference) for c in cases]
                    access_record_many(request=request, seen=seen, action="search")
                return
            for i in range(15):
                AccessEvent.objects.create(
                    user=family,
                    role="family",
                    case=cases[(n + i) % len(cases)],
                    object_type="case",
                    action="view",
                    outcome="allowed",
                )
        except BaseException as error:  # reported below, the thread cannot raise into pytest
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert AccessEvent.objects.count() == 90
    assert AuditChainHead.objects.filter(chain__lt=CHAINS).count() == len(
        {chain_for(case_id=c.pk, user_id=None) for c in cases}
    )
    assert list(verify()) == []
    call_command("audit_verify")
