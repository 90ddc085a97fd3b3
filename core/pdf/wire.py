"""What both sides of a renderer's pipe share: length-prefixed frames, and the redaction of
what a render logs (URLs' queries and fragments hold tokens). Standard library only: the
renderer process imports it without Django."""

import math
import os
import re
import select
import struct
import time
from urllib.parse import urlsplit

MAX_LOG_CHARS = 300
_FRAME = struct.Struct("!Q")


class RendererGone(Exception):
    """The other end of the channel closed: the renderer died (killed, or out of memory), or
    the process that started it went away."""


_URL_TAIL = re.compile(r"""((?:[A-Za-z][A-Za-z0-9+.-]*://|file:)[^\s'"?#]*)[?#][^\s'"]*""")
_DATA_URL = re.compile(r"""data:[^\s'"]*""")


def redact(message: str) -> str:
    """Drop URL queries and fragments (tokens live there) and data: payloads; cap length."""
    message = _DATA_URL.sub("data:[…]", message)
    message = _URL_TAIL.sub(r"\1?[…]", message)
    return message[:MAX_LOG_CHARS]


def url_for_log(url: str) -> str:
    if url.startswith("data:"):
        return "data:[…]"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "[malformed URL]"
    return f"{parts.scheme}://{parts.netloc}{parts.path}"[:200]


def write_frame(fd: int, payload: bytes) -> None:
    data = memoryview(_FRAME.pack(len(payload)) + payload)
    while data:
        data = data[os.write(fd, data) :]


def read_frame(fd: int, deadline: float) -> bytes:
    (size,) = _FRAME.unpack(read_exactly(fd, _FRAME.size, deadline))
    return read_exactly(fd, size, deadline)


def read_exactly(fd: int, size: int, deadline: float) -> bytes:
    """``size`` bytes from ``fd`` by ``deadline`` (TimeoutError), or RendererGone at EOF.
    poll, not select: a busy server's descriptors can be numbered past select's limit."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    chunks: list[bytes] = []
    missing = size
    while missing:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        if not poller.poll(None if math.isinf(remaining) else math.ceil(remaining * 1000)):
            continue
        chunk = os.read(fd, min(missing, 1 << 20))
        if not chunk:
            raise RendererGone
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)
