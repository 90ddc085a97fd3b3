"""make run's embedded SQLite holds concurrent requests: a real runserver on the local
settings and a temporary SQLite file, eight clients signing in and starting requests at
once and adding questions, not one "database is locked" (which Django answers with a 500)."""

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
THREADS = 8
QUESTIONS_EACH = 10
# Everything that would point make run away from its embedded defaults.
NOT_EMBEDDED = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "AWS_STORAGE_BUCKET_NAME",
    "AWS_S3_ENDPOINT_URL",
    "CLAMD_HOST",
    "DJANGO_SETTINGS_MODULE",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _manage(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_EMBEDDED}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        VAR_DIR=str(tmp_path),
    )
    _manage(env, "migrate", "--noinput", "-v0")
    # One family per client: sign-in attempts are rate limited per account.
    _manage(
        env,
        "shell",
        "-c",
        "from accounts.demo import _person; from accounts.models import Role\n"
        f"for n in range({THREADS}): _person(f'family{{n}}@example.com', 'F', Role.FAMILY)",
    )
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                requests.get(f"{url}/accounts/login/", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _client(url: str, number: int, errors: list[str], start: threading.Barrier) -> None:
    session = requests.Session()
    login_page = f"{url}/accounts/login/"
    session.get(login_page, timeout=30)
    headers = {"Referer": login_page}
    start.wait()
    response = session.post(
        login_page,
        data={
            "login": f"family{number}@example.com",
            "password": "SecondOpinion-demo-2026",
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers=headers,
        timeout=60,
        allow_redirects=False,
    )
    if response.status_code != 302:
        errors.append(f"sign-in {response.status_code}")
        return
    token = {"csrfmiddlewaretoken": session.cookies["csrftoken"]}
    response = session.post(
        f"{url}/cases/new/",
        data=token,
        headers={"Referer": f"{url}/cases/new/"},
        timeout=60,
        allow_redirects=False,
    )
    if response.status_code != 302:
        errors.append(f"start {response.status_code}")
        return
    reference = response.headers["Location"].split("/")[2]
    # Adding a question reads (count, last position) then writes in one transaction: the
    # shape that a deferred SQLite transaction cannot upgrade while another client writes.
    for n in range(QUESTIONS_EACH):
        response = session.post(
            f"{url}/cases/{reference}/questions/",
            data={**token, "action": "add", "text": f"Question number {n} about the plan?"},
            headers={"Referer": f"{url}/cases/{reference}/request/questions/"},
            timeout=60,
            allow_redirects=False,
        )
        if response.status_code != 302:
            errors.append(f"question {response.status_code}")


def test_eight_clients_at_once_get_no_database_is_locked(server: str, tmp_path: Path) -> None:
    errors: list[str] = []
    start = threading.Barrier(THREADS)
    threads = [
        threading.Thread(target=_client, args=(server, n, errors, start)) for n in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert errors == []
    import sqlite3

    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        (journal,) = db.execute("PRAGMA journal_mode").fetchone()
        (questions,) = db.execute("SELECT count(*) FROM intake_question").fetchone()
    assert journal == "wal"
    assert questions == THREADS * QUESTIONS_EACH
