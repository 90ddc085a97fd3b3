"""A small warm pool of bounded tile workers, one pool per web process.

Why not ``core.bounded.run_script`` per tile: a fresh interpreter that imports OpenSlide
costs 150-300 ms before it reads a byte, while a viewer asks for dozens of tiles a second
and the budget (benchmark B11) is 50 ms at the median. So a few workers stay up between
tiles. They keep every protection the one-shot child has: a fresh ``python -I``
interpreter, the address-space and CPU limits applied before OpenSlide is imported, no
secrets in the environment, a wall-clock limit per tile (the parent kills a worker that
overruns). What they give up is isolation *between* tiles of the files they have open, which
is why a worker is replaced after any error and after ``MAX_TILES`` tiles (the CPU limit is
cumulative, so it also bounds a worker's life), and why only slides that already opened in
the one-shot child (``slides.services.slide_index``) ever reach a worker.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from core.bounded import ChildFailed, ChildRefused, child_env

from .worker import _FRAME, ERROR, OK, REFUSED

logger = logging.getLogger(__name__)

MAX_TILES = 5000
CPU_SECONDS = 600


class Worker:
    def __init__(self, memory_bytes: int) -> None:
        self.served = 0
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter running our own file
            [
                sys.executable,
                "-I",
                str(Path(__file__).with_name("worker.py")),
                str(memory_bytes),
                str(CPU_SECONDS),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=child_env(),
            close_fds=True,
            start_new_session=True,
        )

    def _read(self, stream: IO[bytes], size: int, deadline: float) -> bytes:
        fd = stream.fileno()
        data = b""
        while len(data) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise ChildFailed("time limit", timed_out=True)
            chunk = os.read(fd, size - len(data))
            if not chunk:
                raise ChildFailed(f"worker ended (exit status {self.proc.poll()})")
            data += chunk
        return data

    def request(self, job: dict[str, Any], seconds: float) -> bytes:
        if self.proc.stdin is None or self.proc.stdout is None:  # started with both piped
            raise ChildFailed("worker has no pipes")
        deadline = time.monotonic() + seconds
        body = json.dumps(job).encode()
        try:
            self.proc.stdin.write(_FRAME.pack(len(body)) + body)
            self.proc.stdin.flush()
        except OSError:
            raise ChildFailed("worker ended") from None
        status = self._read(self.proc.stdout, 1, deadline)[0]
        (length,) = _FRAME.unpack(self._read(self.proc.stdout, 4, deadline))
        payload = self._read(self.proc.stdout, length, deadline)
        self.served += 1
        if status == OK:
            return payload
        message = str(json.loads(payload).get("message", ""))[:300]
        if status == REFUSED:
            raise ChildRefused(message)
        raise ChildFailed(message if status == ERROR else "bad answer")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


class TilePool:
    def __init__(self, *, size: int, memory_bytes: int, seconds: float) -> None:
        self.size, self.memory_bytes, self.seconds = size, memory_bytes, seconds
        self._slots = threading.BoundedSemaphore(size)
        self._idle: queue.LifoQueue[Worker] = queue.LifoQueue()
        self._all: set[Worker] = set()
        self._lock = threading.Lock()

    def _checkout(self) -> Worker:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            worker = Worker(self.memory_bytes)
            with self._lock:
                self._all.add(worker)
            return worker

    def _retire(self, worker: Worker) -> None:
        worker.close()
        with self._lock:
            self._all.discard(worker)

    def render(self, job: dict[str, Any]) -> bytes:
        # Waiting for a free worker counts against the same wall clock as the tile.
        if not self._slots.acquire(timeout=self.seconds):
            raise ChildFailed("all tile workers busy", timed_out=True)
        try:
            worker = self._checkout()
            try:
                out = worker.request(job, self.seconds)
            except ChildRefused:
                self._idle.put(worker)
                raise
            except BaseException:
                self._retire(worker)
                raise
            if worker.served >= MAX_TILES:
                self._retire(worker)
            else:
                self._idle.put(worker)
            return out
        finally:
            self._slots.release()

    def warm(self) -> None:
        """Start the workers now (the benchmark's and a server's first tiles needn't wait)."""
        with self._lock:
            missing = self.size - len(self._all)
        for _ in range(missing):
            worker = Worker(self.memory_bytes)
            with self._lock:
                self._all.add(worker)
            self._idle.put(worker)

    def close(self) -> None:
        with self._lock:
            workers, self._all = list(self._all), set()
        for worker in workers:
            worker.close()
        while not self._idle.empty():
            self._idle.get_nowait()


_pool: TilePool | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def get_pool(*, size: int, memory_bytes: int, seconds: float) -> TilePool:
    """This process's pool (a forked web worker starts its own: pipes don't survive fork)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = TilePool(size=size, memory_bytes=memory_bytes, seconds=seconds)
            _pool_pid = os.getpid()
            atexit.register(_pool.close)
        return _pool
