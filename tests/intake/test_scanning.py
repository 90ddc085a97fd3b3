"""The clamd INSTREAM client against a real clamd, plus the failure modes against fakes.

The clamd started by tests/intake/conftest.py knows one signature: the MD5 of the EICAR
test file. MD5 signatures match whole files only, so EICAR is sent either as the whole
stream or as a whole member of a zip archive (which clamd unpacks): that is how EICAR ends
up in the middle of a stream, split across chunk boundaries.
"""

import io
import random
import runpy
import socket
import struct
import threading
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import pytest
from django.core.exceptions import ImproperlyConfigured

from intake.scanning import (
    MAX_FRAME,
    ScanError,
    ScanResult,
    clamd_address,
    clamd_ping,
    scan_chunks,
)
from tests.services import free_port

# None of these tests uses the database, but tests/conftest.py gives every test one, and
# pytest-django only creates the test database when a collected test asks for it by marker
# or fixture name: without this mark, running this file alone would hit the dev database.

PDF_LIKE = (
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def scan(address: tuple[str, int], chunks: Iterable[bytes]) -> ScanResult:
    host, port = address
    return scan_chunks(chunks, host=host, port=port)


# --- against a real clamd ---------------------------------------------------------------


@pytest.mark.clamd
def test_eicar_is_found_with_its_signature_name(clamd_server, eicar):
    assert len(eicar) == 68
    result = scan(clamd_server, [eicar])
    assert not result.clean
    assert "eicar" in result.signature.lower()  # eicar.com.UNOFFICIAL here; real DBs: EICAR


@pytest.mark.clamd
def test_eicar_as_the_whole_stream_in_tiny_and_empty_chunks(clamd_server, eicar):
    # 7-byte frames, with empty chunks in between: an empty chunk must not end the stream.
    chunks = [c for piece in pieces(eicar, 7) for c in (piece, b"")]
    result = scan(clamd_server, chunks)
    assert not result.clean
    assert "eicar" in result.signature.lower()


def zip_with_eicar(eicar: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("discharge-summary.pdf", PDF_LIKE * 50)
        archive.writestr("eicar.com", eicar)
        archive.writestr("lab-results.pdf", PDF_LIKE * 50)
    return buf.getvalue()


@pytest.mark.clamd
@pytest.mark.parametrize("split", ["middle-of-eicar", "7-byte-chunks"])
def test_eicar_inside_a_zip_is_found_across_chunk_boundaries(clamd_server, eicar, split):
    data = zip_with_eicar(eicar)
    offset = data.find(eicar)  # stored, so EICAR sits verbatim mid-stream
    assert 0 < offset < len(data) - len(eicar)
    if split == "middle-of-eicar":
        cut = offset + len(eicar) // 2
        chunks = [data[:cut], data[cut:]]
    else:
        chunks = list(pieces(data, 7))  # EICAR's 68 bytes span ten chunks
    result = scan(clamd_server, chunks)
    assert not result.clean
    assert "eicar" in result.signature.lower()


@pytest.mark.clamd
def test_clean_pdf_like_bytes_are_clean(clamd_server):
    assert scan(clamd_server, [PDF_LIKE]) == ScanResult(clean=True, signature="")


@pytest.mark.clamd
def test_a_20_mb_stream_in_many_chunks_is_clean_and_never_held_whole(clamd_server):
    size, chunk = 20 * 1024 * 1024, 64 * 1024
    sent = 0

    def generated() -> Iterator[bytes]:
        nonlocal sent
        rng = random.Random(20)
        yield PDF_LIKE
        while sent < size:
            data = rng.randbytes(chunk)
            sent += len(data)
            yield data

    tracemalloc.start()
    try:
        started = time.monotonic()
        result = scan(clamd_server, generated())
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result == ScanResult(clean=True)
    assert sent >= size
    assert peak < 2 * 1024 * 1024, f"peak {peak} bytes: the stream was buffered"
    assert elapsed < 60


@pytest.mark.clamd
def test_a_stream_over_clamds_limit_is_a_scan_error(small_clamd):
    started = time.monotonic()
    with pytest.raises(ScanError, match="size limit exceeded"):
        scan(small_clamd, (bytes(64 * 1024) for _ in range(64)))  # 4 MiB > 1 MiB
    assert time.monotonic() - started < 10


@pytest.mark.clamd
def test_ping(clamd_server):
    assert clamd_ping(*clamd_server)


# --- failure modes ----------------------------------------------------------------------


def test_unreachable_port_is_a_quick_scan_error():
    port = free_port()  # bound then released: nothing listens there
    started = time.monotonic()
    with pytest.raises(ScanError, match="unreachable"):
        scan_chunks([PDF_LIKE], host="127.0.0.1", port=port, timeout=5)
    assert not clamd_ping("127.0.0.1", port, timeout=1)
    assert time.monotonic() - started < 2


def recv_exact(conn: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        data = conn.recv(n - len(buf))
        if not data:
            raise ConnectionError(f"closed after {len(buf)} of {n} bytes")
        buf += data
    return bytes(buf)


@contextmanager
def fake_clamd(handler: Callable[[socket.socket, threading.Event], None]) -> Iterator[int]:
    """A one-connection server on loopback running ``handler``; yields its port and
    re-raises whatever the handler raised."""
    errors: list[BaseException] = []
    stop = threading.Event()
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(10)

        def serve() -> None:
            try:
                conn, _ = server.accept()
                with conn:
                    handler(conn, stop)
            except BaseException as exc:  # reported in the test's thread
                errors.append(exc)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield server.getsockname()[1]
        finally:
            stop.set()
            thread.join(timeout=15)
    if errors:
        raise errors[0]


def read_instream(conn: socket.socket) -> list[bytes]:
    assert recv_exact(conn, 10) == b"zINSTREAM\0"
    frames = []
    while length := struct.unpack(">I", recv_exact(conn, 4))[0]:
        frames.append(recv_exact(conn, length))
    return frames


def test_wire_format_frames_at_most_1_mib_and_no_empty_frames():
    frames: list[bytes] = []

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        frames.extend(read_instream(conn))
        conn.sendall(b"stream: OK\0")

    big = bytes(range(256)) * (MAX_FRAME * 2 // 256) + b"tail!"
    with fake_clamd(handler) as port:
        result = scan_chunks([b"head", b"", big, bytearray(b"end")], host="127.0.0.1", port=port)
    assert result == ScanResult(clean=True)
    assert [len(f) for f in frames] == [4, MAX_FRAME, MAX_FRAME, 5, 3]
    assert b"".join(frames) == b"head" + big + b"end"


@pytest.mark.parametrize(
    ("reply", "found"),
    [
        (b"stream: Win.Test.EICAR_HDB-1 FOUND\0", "Win.Test.EICAR_HDB-1"),
        (b"stream: OK\0", ""),
    ],
)
def test_verdict_parsing(reply, found):
    def handler(conn: socket.socket, stop: threading.Event) -> None:
        read_instream(conn)
        conn.sendall(reply)

    with fake_clamd(handler) as port:
        result = scan_chunks([PDF_LIKE], host="127.0.0.1", port=port)
    assert result == ScanResult(clean=not found, signature=found)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (b"INSTREAM size limit exceeded. ERROR\0", "size limit exceeded"),
        (b"stream: Can't allocate memory ERROR\0", "allocate memory ERROR"),
        (b"HELLO\0", "unexpected clamd reply"),
        (b"stream:  FOUND\0", "unexpected clamd reply"),
        (b"stream: OK", "without a complete reply"),  # closed before the NUL
        (b"", "without a complete reply"),
    ],
)
def test_errors_and_garbage_are_scan_errors(reply, message):
    def handler(conn: socket.socket, stop: threading.Event) -> None:
        read_instream(conn)
        conn.sendall(reply)

    with fake_clamd(handler) as port, pytest.raises(ScanError, match=message):
        scan_chunks([PDF_LIKE], host="127.0.0.1", port=port)


def test_a_silent_clamd_times_out_as_a_scan_error():
    def handler(conn: socket.socket, stop: threading.Event) -> None:
        read_instream(conn)
        stop.wait(10)  # never answers

    started = time.monotonic()
    with fake_clamd(handler) as port, pytest.raises(ScanError, match="timed out"):
        scan_chunks([PDF_LIKE], host="127.0.0.1", port=port, timeout=0.5)
    assert time.monotonic() - started < 5


def test_an_error_reading_the_file_propagates_unchanged():
    received = bytearray()

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        while data := conn.recv(65536):
            received.extend(data)

    def failing() -> Iterator[bytes]:
        yield PDF_LIKE
        raise OSError("storage read failed")

    started = time.monotonic()
    with fake_clamd(handler) as port, pytest.raises(OSError, match="storage read failed"):
        scan_chunks(failing(), host="127.0.0.1", port=port)
    assert time.monotonic() - started < 2
    assert bytes(received).startswith(b"zINSTREAM\0")
    assert not bytes(received).endswith(b"\0\0\0\0")  # the stream was never ended


def test_ping_false_when_the_answer_is_not_pong():
    def handler(conn: socket.socket, stop: threading.Event) -> None:
        assert recv_exact(conn, 6) == b"zPING\0"
        conn.sendall(b"NOPE\0")

    with fake_clamd(handler) as port:
        assert not clamd_ping("127.0.0.1", port)


# --- configuration ----------------------------------------------------------------------


def test_address_from_settings(settings, monkeypatch):
    monkeypatch.setenv("CLAMD_HOST", "env-host")
    settings.CLAMD_HOST = "clamd.internal"
    settings.CLAMD_PORT = 3311
    assert clamd_address() == ("clamd.internal", 3311)
    settings.CLAMD_HOST = ""
    assert clamd_address() is None


def test_address_refuses_a_port_that_is_not_tcp(settings):
    settings.CLAMD_HOST = "127.0.0.1"
    settings.CLAMD_PORT = 70000
    with pytest.raises(ImproperlyConfigured, match="CLAMD_PORT"):
        clamd_address()


@pytest.mark.no_db
# runpy warns that the module it runs afresh is already loaded: that copy is the point.
@pytest.mark.filterwarnings("ignore:'config.settings.base' found in sys.modules:RuntimeWarning")
def test_address_settings_come_from_the_environment(monkeypatch):
    # base.py reads CLAMD_HOST/CLAMD_PORT with env.py, which refuses a port that is not a
    # number. run_module executes a fresh copy of the settings module (the loaded one stays).
    monkeypatch.setenv("CLAMD_HOST", "clamd.internal")
    monkeypatch.setenv("CLAMD_PORT", "4410")
    fresh = runpy.run_module("config.settings.base")
    assert (fresh["CLAMD_HOST"], fresh["CLAMD_PORT"]) == ("clamd.internal", 4410)
    monkeypatch.setenv("CLAMD_PORT", "clamd")
    with pytest.raises(ImproperlyConfigured, match="CLAMD_PORT='clamd' is not an integer"):
        runpy.run_module("config.settings.base")
