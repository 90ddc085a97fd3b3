"""Virus scanning of uploaded records through clamd's INSTREAM command over TCP.

A small client written here on purpose: the PyPI ``clamd`` package has been unmaintained
since 2014, and the part of the protocol we need is a few lines.

The protocol: send ``zINSTREAM\\0``, then the file as frames of a 4-byte big-endian
length followed by that many bytes, then a zero-length frame; clamd answers one
NUL-terminated line: ``stream: OK``, ``stream: <signature> FOUND`` or ``<reason> ERROR``
(for example ``INSTREAM size limit exceeded. ERROR`` when the file is larger than clamd's
StreamMaxLength). The file is streamed chunk by chunk and is never held in memory whole.
"""

import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Largest frame we send. clamd accepts any frame up to its StreamMaxLength; 1 MiB keeps
# each send small whatever size the caller's chunks are.
MAX_FRAME = 1024 * 1024
# A reply is one short line; anything longer is not clamd.
MAX_REPLY = 64 * 1024


@dataclass(frozen=True)
class ScanResult:
    clean: bool
    signature: str = ""  # the signature clamd found, when not clean


class ScanError(Exception):
    """The file could not be scanned: clamd unreachable, timed out, refused the stream (size
    limit) or answered something unexpected. Never treat this as clean."""


def clamd_address() -> tuple[str, int] | None:
    """(host, port) of clamd from the CLAMD_HOST/CLAMD_PORT settings (read from the
    environment in config/settings/base.py); None when no host is set (scanning is off)."""
    host = str(settings.CLAMD_HOST).strip()
    if not host:
        return None
    port = int(settings.CLAMD_PORT)
    if not 0 < port < 65536:
        raise ImproperlyConfigured(f"CLAMD_PORT={port} is not a TCP port.")
    return host, port


def _read_reply(sock: socket.socket) -> str:
    buf = bytearray()
    while b"\0" not in buf:
        data = sock.recv(4096)
        if not data:
            break
        buf += data
        if len(buf) > MAX_REPLY:
            raise ScanError("clamd reply too long")
    reply, nul, _ = bytes(buf).partition(b"\0")
    if not nul:
        raise ScanError(f"clamd closed the connection without a complete reply: {reply!r}")
    return reply.decode("utf-8", "replace").strip()


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    try:
        return socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise ScanError(f"clamd at {host}:{port} unreachable: {exc}") from exc


def _send(sock: socket.socket, data: bytes | memoryview, where: str) -> None:
    try:
        sock.sendall(data)
    except TimeoutError as exc:
        raise ScanError(f"clamd at {where} timed out accepting the stream") from exc
    except OSError as exc:
        # clamd stops reading and closes when it refuses the stream (size limit); its
        # reason is usually still waiting to be read.
        try:
            reason = _read_reply(sock)
        except (OSError, ScanError):
            reason = ""
        raise ScanError(reason or f"clamd at {where} closed the connection: {exc}") from exc


def scan_chunks(
    chunks: Iterable[bytes], *, host: str, port: int, timeout: float = 60.0
) -> ScanResult:
    """Stream ``chunks`` (e.g. ``UploadedFile.chunks()``) to clamd and return its verdict.

    ``timeout`` applies to each socket operation, including the wait for the verdict once
    the whole stream is sent. Raises ScanError whenever there is no verdict; an exception
    raised by ``chunks`` itself (a storage read error) propagates unchanged.
    """
    where = f"{host}:{port}"
    with _connect(host, port, timeout) as sock:
        _send(sock, b"zINSTREAM\0", where)
        for chunk in chunks:
            view = memoryview(chunk).cast("B")
            # An empty frame would end the stream early: empty chunks send nothing.
            for start in range(0, len(view), MAX_FRAME):
                frame = view[start : start + MAX_FRAME]
                _send(sock, struct.pack(">I", len(frame)), where)
                _send(sock, frame, where)
        _send(sock, struct.pack(">I", 0), where)
        try:
            reply = _read_reply(sock)
        except TimeoutError as exc:
            raise ScanError(f"clamd at {where} timed out scanning") from exc
        except OSError as exc:
            raise ScanError(f"clamd at {where}: {exc}") from exc
    return _verdict(reply)


def _verdict(reply: str) -> ScanResult:
    name, sep, rest = reply.partition(": ")
    if sep and name == "stream":
        if rest == "OK":
            return ScanResult(clean=True)
        if rest.endswith(" FOUND") and rest[: -len(" FOUND")].strip():
            return ScanResult(clean=False, signature=rest[: -len(" FOUND")].strip())
    if reply.endswith("ERROR"):
        raise ScanError(reply)
    raise ScanError(f"unexpected clamd reply: {reply!r}")


def clamd_ping(host: str, port: int, timeout: float = 5) -> bool:
    """True when clamd at host:port answers PING with PONG."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"zPING\0")
            return _read_reply(sock) == "PONG"
    except (OSError, ScanError):
        return False
