"""The warm tile pool: workers are reused between tiles, keep the bounded child's limits and
empty environment, and are replaced after an error or a time-out."""

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from core.bounded import ChildFailed, ChildRefused
from slides.demo import demo_slide_bytes
from slides.pool import TilePool

MEMORY = 1024**3


@pytest.fixture
def slide_path(tmp_path: Path) -> Path:
    path = tmp_path / "demo.svs"
    path.write_bytes(demo_slide_bytes())
    return path


@pytest.fixture
def pool() -> Iterator[TilePool]:
    tiles = TilePool(size=1, memory_bytes=MEMORY, seconds=20)
    yield tiles
    tiles.close()


def _job(path: Path, level: Any = 11, col: int = 0, row: int = 0) -> dict[str, Any]:
    return {"path": str(path), "level": level, "col": col, "row": row}


def _pid(pool: TilePool) -> int:
    (worker,) = pool._all
    return worker.proc.pid


def test_a_worker_serves_many_tiles(pool: TilePool, slide_path: Path) -> None:
    first = pool.render(_job(slide_path, col=1, row=1))
    assert Image.open(io.BytesIO(first)).size == (256, 256)
    pid = _pid(pool)
    for col in range(4):
        assert pool.render(_job(slide_path, col=col))[:2] == b"\xff\xd8"
    assert _pid(pool) == pid


def test_the_worker_is_bounded_and_has_no_secrets(
    pool: TilePool, slide_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_KEY", "do-not-leak")
    pool.render(_job(slide_path))
    pid = _pid(pool)
    limits = Path(f"/proc/{pid}/limits").read_text()
    line = next(x for x in limits.splitlines() if x.startswith("Max address space"))
    assert str(MEMORY) in line
    line = next(x for x in limits.splitlines() if x.startswith("Max cpu time"))
    assert line.split()[3] != "unlimited"
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    names = {item.split(b"=", 1)[0] for item in environ if item}
    assert names <= {b"PATH", b"HOME", b"TMPDIR", b"LANG", b"LC_ALL"} | {
        b"OMP_NUM_THREADS",
        b"OPENBLAS_NUM_THREADS",
        b"MKL_NUM_THREADS",
    }


def test_a_refusal_keeps_the_worker_and_an_error_replaces_it(
    pool: TilePool, slide_path: Path, tmp_path: Path
) -> None:
    pool.render(_job(slide_path))
    pid = _pid(pool)
    with pytest.raises(ChildRefused):
        pool.render(_job(slide_path, level=99))
    not_a_slide = tmp_path / "notes.tif"
    not_a_slide.write_bytes(b"II*\x00" + b"\x00" * 100)
    with pytest.raises(ChildRefused):
        pool.render(_job(not_a_slide))
    assert _pid(pool) == pid
    with pytest.raises(ChildFailed):
        pool.render(_job(slide_path, level="x"))  # the worker fails on it
    assert not pool._all
    assert pool.render(_job(slide_path))[:2] == b"\xff\xd8"  # a new worker
    assert _pid(pool) != pid


def test_a_worker_over_time_is_killed(slide_path: Path) -> None:
    pool = TilePool(size=1, memory_bytes=MEMORY, seconds=0.01)
    try:
        with pytest.raises(ChildFailed) as caught:
            pool.render(_job(slide_path))  # starting the interpreter alone takes longer
        assert caught.value.timed_out
        assert not pool._all
    finally:
        pool.close()
