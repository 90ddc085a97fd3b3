"""A tile worker of ``slides.pool``: ``python -I slides/worker.py MEMORY_BYTES CPU_SECONDS``.

Same limits as ``core.bounded``'s child (address space, CPU, no secrets, one thread per math
library), but it serves many tiles: it reads framed JSON jobs from stdin and answers each
with one status byte (0 done, 1 error, 2 refused), a 4-byte length and the payload (JPEG
bytes, or a one-line JSON message naming only an exception type or a sentence of ours).
"""

import json
import resource
import struct
import sys
from pathlib import Path
from typing import BinaryIO

OK, ERROR, REFUSED = 0, 1, 2
_FRAME = struct.Struct(">I")


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def main() -> int:  # pragma: no cover - runs in the worker; covered through slides.pool
    memory, cpu = int(sys.argv[1]), int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))

    # Here, not at the top: the project is on sys.path only once __main__ has put it there.
    from core.bounded import ChildRefused  # noqa: PLC0415
    from slides.decoder import TileRenderer  # noqa: PLC0415

    renderer = TileRenderer()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            (length,) = _FRAME.unpack(_read_exact(stdin, 4))
            job = json.loads(_read_exact(stdin, length))
        except EOFError:
            return 0
        try:
            status, payload = OK, renderer.render(job)
        except ChildRefused as exc:
            status, payload = REFUSED, json.dumps({"message": exc.message}).encode()
        except BaseException as exc:  # report the type only: messages may quote file bytes
            status, payload = ERROR, json.dumps({"message": type(exc).__name__}).encode()
        stdout.write(bytes([status]) + _FRAME.pack(len(payload)) + payload)
        stdout.flush()
        if status == ERROR:
            return 1  # the parent replaces us: no state survives a failure


if __name__ == "__main__":  # pragma: no cover
    # -I leaves the project off sys.path.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
