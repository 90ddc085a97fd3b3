import logging
from typing import Any

from django.test import Client

from config.logging import RedactingFilter


def test_healthz_reports_each_dependency_without_secrets(client: Client, settings: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "status": "ok",
        "checks": {"database": True, "cache": True, "broker": True, "storage": True},
    }
    assert settings.SECRET_KEY not in response.content.decode()


def test_healthz_says_which_dependency_is_down(client: Client, monkeypatch: Any) -> None:
    from config import health

    def broken() -> bool:
        raise ConnectionError("cache down")

    monkeypatch.setitem(health.CHECKS, "cache", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["cache"] is False
    assert response.json()["status"] == "fail"


def test_healthz_refuses_writes(client: Client) -> None:
    assert client.post("/healthz").status_code == 405


def test_log_records_lose_the_request_and_email_addresses() -> None:
    record = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1, "Error for %s at %s", ("a@b.org", "/x"), None
    )
    record.request = object()
    assert RedactingFilter().filter(record)
    assert record.request is None
    assert record.getMessage() == "Error for [email] at /x"
    assert record.request_id == "-"


def test_every_response_has_a_request_id(client: Client) -> None:
    first, second = client.get("/"), client.get("/")
    assert len(first["X-Request-ID"]) == 32 and first["X-Request-ID"] != second["X-Request-ID"]
    kept = client.get("/", headers={"X-Request-ID": "abc-12345678"})
    assert kept["X-Request-ID"] == "abc-12345678"
    forged = client.get("/", headers={"X-Request-ID": "<script>"})
    assert forged["X-Request-ID"] != "<script>"
