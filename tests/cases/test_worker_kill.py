"""A worker killed mid-send neither loses nor duplicates the email (issue #5).

Everything is real here: a Celery worker subprocess on Redis, the test's PostgreSQL
database, and an SMTP server on loopback that hangs the first delivery so the worker is
provably in the middle of sending when it gets SIGKILL.
"""

import contextlib
import os
import re
import signal
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.db.models import F

from cases.models import TimelineEvent
from cases.notifications import case_email
from config.celery_app import app
from core.models import OutboundEmail
from core.tasks import STALE_CLAIM, outbox_sweep
from tests.factories import CaseFactory
from tests.services import need_postgres, need_redis

# Short enough for the test, long enough that the new worker's own quick tasks are acked
# before the broker would hand them out again.
VISIBILITY_TIMEOUT = 3
SKIPPED = re.compile(r"email_send\[[0-9a-f-]+\] succeeded in [0-9.e-]+s: 'skipped'")


class SmtpServer(socketserver.ThreadingTCPServer):
    """Just enough SMTP for smtplib. The first connection hangs after the message body,
    before the 250 that would accept it: the sender cannot know whether it was delivered."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SmtpHandler)
        self.lock = threading.Lock()
        self.connections = 0
        self.stalled = threading.Event()
        self.stalled_data = b""
        self.delivered: list[tuple[list[str], bytes]] = []

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class SmtpHandler(socketserver.StreamRequestHandler):
    server: SmtpServer

    def reply(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        server = self.server
        with server.lock:
            stall = server.connections == 0
            server.connections += 1
        self.reply("220 127.0.0.1 ESMTP test")
        recipients: list[str] = []
        while line := self.rfile.readline():
            verb = line.decode("ascii", "replace").strip()
            upper = verb.upper()
            if upper.startswith("EHLO"):
                self.reply("250-127.0.0.1\r\n250 8BITMIME")
            elif upper.startswith(("HELO", "MAIL FROM:", "NOOP")):
                self.reply("250 OK")
            elif upper.startswith("RSET"):
                recipients = []
                self.reply("250 OK")
            elif upper.startswith("RCPT TO:"):
                recipients.append(verb[8:].strip().split()[0].strip("<>"))
                self.reply("250 OK")
            elif upper == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = self.read_data()
                if stall:
                    server.stalled_data = data
                    server.stalled.set()
                    self.rfile.read()  # until the sender's socket closes (its process dies)
                    return
                with server.lock:
                    server.delivered.append((recipients, data))
                recipients = []
                self.reply("250 OK queued")
            elif upper == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")

    def read_data(self) -> bytes:
        lines = []
        while (line := self.rfile.readline()) not in (b".\r\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)
        return b"".join(lines)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = quote(db["HOST"] or "127.0.0.1", safe="")  # a socket directory is a path
    port = db["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{quote(db['NAME'], safe='')}"


class Workers:
    """Celery worker subprocesses, each in its own process group so a kill takes all of it."""

    def __init__(self, env: dict[str, str], queue: str, log_dir: Path) -> None:
        self.env = env
        self.queue = queue
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        n = len(self.procs) + 1
        with (self.log_dir / f"worker{n}.log").open("wb") as log:
            proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "celery", "-A", "config.celery_app", "worker"),
                    *("--pool=solo", "--concurrency=1", "-Q", self.queue),
                    *("-n", f"killtest{n}@%h", "--loglevel=INFO"),
                    *("--without-gossip", "--without-mingle", "--without-heartbeat"),
                ],
                cwd=settings.BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def log(self, n: int) -> str:
        return (self.log_dir / f"worker{n}.log").read_text(errors="replace")

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # exited since poll()
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs:
            self.kill(proc)


def _wait(predicate: Callable[[], Any], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_a_worker_killed_mid_send_neither_loses_nor_duplicates_the_email(
    smtp_server: SmtpServer, family: Any, tmp_path: Path
) -> None:
    need_postgres()  # the worker subprocess must see this test's database
    redis_url = need_redis()
    broker_url = os.environ.get("CELERY_BROKER_URL") or redis_url
    broker = redis.Redis.from_url(broker_url)
    queue = str(app.conf.task_default_queue)
    # Our own database number: what an earlier run left there would be delivered to us.
    broker.delete(queue, "unacked", "unacked_index")

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
        "PYTHONPATH": str(settings.BASE_DIR),
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_QUEUE": queue,
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_server.port),
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    workers = Workers(env, queue, tmp_path)
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=broker_url, task_always_eager=False)

    def row() -> OutboundEmail:
        return OutboundEmail.objects.get(pk=email.pk)

    def delivered_to(address: str) -> int:
        with smtp_server.lock:
            return sum(address in rcpts for rcpts, _ in smtp_server.delivered)

    try:
        first = workers.start()
        case = CaseFactory(family=family)
        key = f"kill-test:{case.pk}"
        # Autocommit: the on-commit hook publishes email_send to the broker right away.
        [email] = case_email(case, "case_update", [family.email], key)

        # The worker claimed the row and is inside the SMTP conversation, body sent, no 250.
        _wait(smtp_server.stalled.is_set, "the worker to reach the SMTP server", timeout=60)
        assert case.reference.encode() in smtp_server.stalled_data
        stuck = row()
        assert stuck.state == OutboundEmail.State.SENDING and stuck.claimed_at is not None

        workers.kill(first)
        assert first.returncode == -signal.SIGKILL

        # Nothing was sent or marked sent; the task message is unacknowledged (acks_late),
        # not lost with the worker.
        stuck = row()
        assert (stuck.state, stuck.attempts, stuck.sent_at) == (
            OutboundEmail.State.SENDING,
            0,
            None,
        )
        assert smtp_server.delivered == []
        assert not TimelineEvent.objects.filter(case=case, kind="email").exists()
        assert broker.hlen("unacked") == 1 and broker.llen(queue) == 0

        # A new worker gets the dead worker's message back once the visibility timeout
        # has passed. The claim is still fresh (the sender may be alive and slow): it must
        # leave the email alone rather than send a second copy.
        workers.start()
        _wait(
            lambda: SKIPPED.search(workers.log(2)),
            "the redelivered task to run on the new worker",
            timeout=30,
        )
        _wait(lambda: broker.hlen("unacked") == 0, "the redelivered task to be acknowledged")
        assert broker.llen(queue) == 0
        assert row().state == OutboundEmail.State.SENDING
        assert smtp_server.delivered == []

        # Time passes: the claim is now older than STALE_CLAIM, as ten minutes later.
        OutboundEmail.objects.filter(pk=email.pk).update(
            claimed_at=F("claimed_at") - STALE_CLAIM - timedelta(seconds=1)
        )
        # The periodic sweep (beat's job) runs on the worker and queues the email again.
        outbox_sweep.delay()
        _wait(lambda: row().state == OutboundEmail.State.SENT, "the email to be sent")

        sent = row()
        assert sent.attempts == 1 and sent.sent_at is not None and sent.last_error == ""
        assert delivered_to(family.email) == 1
        assert TimelineEvent.objects.filter(case=case, kind="email").count() == 1

        # No copy still on its way: the broker is drained, and nothing more arrives after
        # another visibility timeout would have handed back any unacknowledged message.
        _wait(
            lambda: broker.llen(queue) == 0 and broker.hlen("unacked") == 0,
            "the broker to drain",
            timeout=10,
        )
        time.sleep(VISIBILITY_TIMEOUT + 2)
        assert delivered_to(family.email) == 1
        assert smtp_server.connections == 2  # the stalled attempt and the one delivery
        assert workers.log(2).count("'sent'") == 1
        assert outbox_sweep() == 0  # nothing left stuck
        # The same event never queues the email again.
        assert case_email(case, "case_update", [family.email], key) == []
    except AssertionError as exc:
        logs = "\n".join(
            f"--- worker{n} ---\n{workers.log(n)[-3000:]}" for n in range(1, len(workers.procs) + 1)
        )
        raise AssertionError(f"{exc}\n{logs}") from exc
    finally:
        workers.stop_all()
        app.conf.update(saved)
        broker.delete(queue, "unacked", "unacked_index")
