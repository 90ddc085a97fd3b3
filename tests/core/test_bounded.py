"""The bounded child runner: results, refusals, crashes and the time limit."""

import pytest

from core import bounded

# Pure functions: no database (tests/conftest.py would otherwise give every test one).
pytestmark = pytest.mark.no_db


def test_runs_the_target_and_returns_its_bytes():
    out = bounded.run_script(
        "tests.core.child_targets:echo", {"text": "hi"}, seconds=20, memory_bytes=512 << 20
    )
    assert out == b"hi"


def test_a_refusal_carries_its_message():
    with pytest.raises(bounded.ChildRefused) as info:
        bounded.run_script(
            "tests.core.child_targets:refuse", {}, seconds=20, memory_bytes=512 << 20
        )
    assert info.value.message == "not this one"


def test_a_crash_names_only_the_exception_type():
    with pytest.raises(bounded.ChildFailed) as info:
        bounded.run_script("tests.core.child_targets:crash", {}, seconds=20, memory_bytes=512 << 20)
    assert info.value.reason == "ValueError"
    assert "secret" not in str(info.value)


def test_memory_limit_kills_a_greedy_child():
    with pytest.raises(bounded.ChildFailed):
        bounded.run_script(
            "tests.core.child_targets:greedy", {}, seconds=20, memory_bytes=256 << 20
        )


def test_time_limit_kills_a_slow_child():
    with pytest.raises(bounded.ChildFailed) as info:
        bounded.run_script("tests.core.child_targets:sleepy", {}, seconds=1, memory_bytes=512 << 20)
    assert info.value.timed_out


def test_the_child_gets_no_secrets(monkeypatch):
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_live_do_not_leak")
    out = bounded.run_script(
        "tests.core.child_targets:environ", {}, seconds=20, memory_bytes=512 << 20
    )
    assert b"STRIPE_SECRET_KEY" not in out
