"""Which real services this test run has, and what a test does when one is missing.

Without the service URLs the suite still runs on the embedded stack and skips the tests
that need a real service, saying why. With REQUIRE_REAL_SERVICES=1 (as .ci/run sets) a
missing service fails the test instead: nothing may skip in CI.
"""

import os
import shutil
from urllib.parse import urlparse

import pytest
from django.db import connection

REQUIRE_REAL_SERVICES = os.environ.get("REQUIRE_REAL_SERVICES", "") == "1"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def need(available: bool, what: str) -> None:
    if available:
        return
    if REQUIRE_REAL_SERVICES:
        pytest.fail(f"REQUIRE_REAL_SERVICES=1 but {what}", pytrace=False)
    pytest.skip(what)


def need_postgres() -> None:
    need(connection.vendor == "postgresql", "needs PostgreSQL (set DATABASE_URL)")


def redis_url() -> str:
    return os.environ.get("REDIS_URL", "")


def need_redis() -> str:
    url = redis_url()
    need(bool(url) and urlparse(url).scheme.startswith("redis"), "needs Redis (set REDIS_URL)")
    return url


def need_chromium() -> str:
    need(bool(shutil.which(CHROMIUM)), f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


def need_clamd() -> str:
    host = os.environ.get("CLAMD_HOST", "")
    need(bool(host), "needs clamd (set CLAMD_HOST)")
    return host


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    import socket
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port}")
