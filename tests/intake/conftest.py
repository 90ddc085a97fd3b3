"""clamd for the scanning tests.

``clamd_server`` is the daemon .ci/run started (CLAMD_HOST/CLAMD_PORT) when those are set,
else one started here on a free loopback port. Virus definitions cannot be downloaded
offline, so a daemon started here loads a signature database generated locally: the MD5 of
the EICAR test file (``sigtool --md5``), exactly as .ci/run does. An MD5 (.hdb) signature
matches a whole file, so EICAR is only found when it is the entire stream or an entire
member of an archive clamd unpacks (a zip), never as bytes inside a larger file.
"""

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from intake.scanning import clamd_ping
from tests.services import free_port, need

# The EICAR test string, assembled from two halves so this file itself is not flagged.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

# clamd lives in /usr/sbin, which is not on every user's PATH.
_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin", "/sbin"])


def need_clamd_binaries() -> tuple[str, str]:
    """Paths of clamd and sigtool; skip (fail under REQUIRE_REAL_SERVICES=1) without them."""
    clamd = shutil.which("clamd", path=_SEARCH_PATH)
    sigtool = shutil.which("sigtool", path=_SEARCH_PATH)
    need(
        bool(clamd and sigtool),
        "needs clamd and sigtool (apt-get install clamav clamav-daemon) or CLAMD_HOST",
    )
    assert clamd and sigtool
    return clamd, sigtool


@contextmanager
def running_clamd(directory: Path, *, stream_max: str = "100M") -> Iterator[tuple[str, int]]:
    """Start clamd on a free loopback port with the local EICAR signature; stop it after."""
    clamd, sigtool = need_clamd_binaries()
    (directory / "db").mkdir(parents=True)
    (directory / "eicar.com").write_bytes(EICAR)
    signature = subprocess.run(
        [sigtool, "--md5", "eicar.com"], cwd=directory, capture_output=True, check=True
    ).stdout
    (directory / "db" / "local.hdb").write_bytes(signature)
    port = free_port()
    config = directory / "clamd.conf"
    config.write_text(
        "Foreground yes\n"
        f"DatabaseDirectory {directory / 'db'}\n"
        f"TCPSocket {port}\n"
        "TCPAddr 127.0.0.1\n"
        f"StreamMaxLength {stream_max}\n"
    )
    log = directory / "clamd.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [clamd, f"--config-file={config}"], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        # Ready when it answers PING, not merely when the port is open; stop waiting at
        # once if it exited, and show its log.
        deadline = time.monotonic() + 60
        while not clamd_ping("127.0.0.1", port, timeout=1):
            if proc.poll() is not None:
                pytest.fail(f"clamd exited ({proc.returncode}):\n{log.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"clamd did not answer PING within 60 s:\n{log.read_text()}")
            time.sleep(0.1)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def clamd_server(tmp_path_factory: Any) -> Iterator[tuple[str, int]]:
    """(host, port) of a clamd that knows the EICAR test file."""
    host = os.environ.get("CLAMD_HOST", "")
    if host:
        port = int(os.environ.get("CLAMD_PORT") or 3310)
        if not clamd_ping(host, port):
            pytest.fail(f"CLAMD_HOST={host} CLAMD_PORT={port} does not answer PING")
        yield host, port
        return
    with running_clamd(tmp_path_factory.mktemp("clamd")) as address:
        yield address


@pytest.fixture(scope="session")
def small_clamd(tmp_path_factory: Any) -> Iterator[tuple[str, int]]:
    """A clamd of our own whose StreamMaxLength is 1 MiB, for the size-limit refusal."""
    with running_clamd(tmp_path_factory.mktemp("clamd-small"), stream_max="1M") as address:
        yield address


@pytest.fixture(scope="session")
def eicar() -> bytes:
    return EICAR
