"""The large-file path: what the web worker pays while a family sends a 1 GB record straight
to S3, and how long the upload takes next to a plain boto3 upload of the same file.

    python -m benchmarks.upload [--size-mb 1024] [--rounds 2] [--json PATH]

``python -m benchmarks.run --upload`` runs it after the page scenarios. See "The upload
benchmark" in benchmarks/README.md.

Everything runs on 127.0.0.1: a moto S3 server on a free port (its bucket made by
``manage.py s3_configure_bucket``), the bench database, and gunicorn with one sync worker,
whose memory and CPU time are read from /proc. A client plays static/js/record-uploader.js:
it registers the file, then for each 16 MiB part asks Django to sign it and PUTs the bytes,
read from disk, to the presigned URL (four requests in flight, as Uppy's ``limit: 4``), and
completes. Completion queues ``record_verify``, which in production a Celery worker runs:
here the broker is in memory and nothing consumes it, so the web figures are the web
worker's alone, and the verification is timed afterwards in a process of its own, as a
Celery worker would run it. The same file then goes up with boto3's own multipart upload
(same part size, same parallelism), the yardstick for the wall time.
"""

import argparse
import contextlib
import hashlib
import http.client
import io
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from . import server
from .loadgen import HOST
from .processes import child_process
from .scenarios import DJANGO_APP

RESULTS_DIR = Path(__file__).resolve().parent / "results"
MiB = 1024 * 1024
MB = 1_000_000
DEFAULT_SIZE_MB = 1024  # MiB: a 1 GiB file, 64 parts of 16 MiB
# The most a record may be (intake.filetypes.MAX_RECORD_BYTES); see check_room for what a
# size needs of the machine.
MAX_SIZE_MB = 5 * 1024
DEFAULT_ROUNDS = 2
# static/js/record-uploader.js gives Uppy's AwsS3 plugin `limit: 4`: at most four requests
# (a part's signing or its PUT) at a time, and its own calls to the portal go one at a time.
PARTS_IN_FLIGHT = 4
RSS_GOAL_MB = 10.0
WALL_RATIO_GOAL = 1.10

BUCKET = "bench-records"
REGION = "us-west-2"
UPLOAD_FAMILY = "bench-family-upload@example.org"
READY_TIMEOUT_S = 30
# One request: a part's PUT, or the completion, which moto takes seconds over for 1 GB.
HTTP_TIMEOUT_S = 300
VERIFY_TIMEOUT_S = 1800
SAMPLE_S = 0.005

# A PDF whose one stream holds the bytes: what libmagic and intake.filetypes accept as a PDF
# (a scanned report or an imaging PDF looks much the same from outside).
PDF_HEAD = (
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
)
PDF_TAIL = b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


class BenchError(Exception):
    pass


# /proc -----------------------------------------------------------------------------------


def _status_kb(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    raise BenchError(f"/proc/{pid}/status has no {name}")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _reset_peak(pid: int) -> bool:
    """Set VmHWM back to the current RSS (Linux: "5" to clear_refs); False if not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Usage:
    rss_before_kb: int
    peak_kb: int
    cpu_s: float
    # How the peak was read: "VmHWM" (reset at the start) or "sampled" VmRSS.
    peak_from: str

    @property
    def growth_mb(self) -> float:
        return max(0, self.peak_kb - self.rss_before_kb) * 1024 / MB

    def as_json(self) -> dict[str, Any]:
        return {
            "rss_before_mb": round(self.rss_before_kb * 1024 / MB, 2),
            "peak_rss_mb": round(self.peak_kb * 1024 / MB, 2),
            "rss_growth_mb": round(self.growth_mb, 2),
            "cpu_s": round(self.cpu_s, 3),
            "peak_from": self.peak_from,
        }


class Watch:
    """Peak RSS and CPU seconds of a process over a ``with`` block.

    The peak is VmHWM, reset when the block starts, so that no spike is missed; where the
    reset is not allowed, VmRSS sampled every few milliseconds instead (only then, as the
    sampling costs this process some CPU).
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._stop = threading.Event()
        self.usage: Usage | None = None

    def __enter__(self) -> "Watch":
        self._hwm = _reset_peak(self.pid)
        self._rss0 = _status_kb(self.pid, "VmRSS")
        self._cpu0 = _cpu_s(self.pid)
        self._sampled = self._rss0
        self._thread = threading.Thread(target=self._sample, daemon=True)
        if not self._hwm:
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            with contextlib.suppress(OSError, BenchError):
                self._sampled = max(self._sampled, _status_kb(self.pid, "VmRSS"))

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        peak, source = self._sampled, "sampled"
        if self._hwm:
            peak, source = max(peak, _status_kb(self.pid, "VmHWM")), "VmHWM"
        self.usage = Usage(self._rss0, peak, _cpu_s(self.pid) - self._cpu0, source)


# The file --------------------------------------------------------------------------------


def write_source(path: Path, size: int) -> str:
    """A ``size``-byte PDF at ``path``; returns its sha256. Pseudo-random bytes (a fixed
    seed) with a counter every MiB, so no two MiB are alike and the file is the same on
    every run."""
    frame = len(_pdf_head(0)) + len(PDF_TAIL)  # the length field has a fixed width
    if size < frame:
        raise BenchError(f"{size} bytes is too small for the PDF frame")
    stream = size - frame
    head = _pdf_head(stream)
    block = random.Random(20260101).randbytes(MiB)
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for piece in _pieces(head, stream, block):
            digest.update(piece)
            out.write(piece)
        digest.update(PDF_TAIL)
        out.write(PDF_TAIL)
    if path.stat().st_size != size:
        raise BenchError(f"{path} came out at {path.stat().st_size} bytes, not {size}")
    return digest.hexdigest()


def _pdf_head(stream: int) -> bytes:
    return PDF_HEAD + b"3 0 obj\n<< /Length " + b"%012d" % stream + b" >>\nstream\n"


def _pieces(head: bytes, stream: int, block: bytes) -> Iterator[bytes]:
    yield head
    written = 0
    counter = 0
    while written < stream:
        piece = (counter.to_bytes(8, "big") + block[8:])[: stream - written]
        counter += 1
        written += len(piece)
        yield piece


def check_source(path: Path, size: int) -> str:
    """The whole file through the portal's own check (for a PDF: its first bytes and its end)."""
    from intake.filetypes import validate_file

    with path.open("rb") as source:
        detected = validate_file(source, size=size)
    if detected.kind != "pdf":
        raise BenchError(f"{path} was detected as {detected.kind}, not pdf")
    return detected.kind


# Servers ---------------------------------------------------------------------------------


def _http(port: int, method: str, path: str) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@contextlib.contextmanager
def moto_server(log_path: Path, workdir: Path) -> Iterator[tuple[str, int]]:
    """A moto S3 server on loopback; yields its endpoint and pid. Its spooled objects go to
    ``workdir``; everything it holds is dropped (/moto-api/reset) before it is stopped."""
    port = server.free_port()
    env = {**os.environ, "TMPDIR": str(workdir)}
    cmd = [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)]
    with child_process(cmd, env=env, log_path=log_path, cwd=workdir) as proc:
        try:
            deadline = time.monotonic() + READY_TIMEOUT_S
            while True:
                if proc.poll() is not None:
                    raise BenchError(f"moto exited with {proc.returncode}; see {log_path}")
                try:
                    _http(port, "GET", "/moto-api/data.json")
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise BenchError(f"moto did not answer; see {log_path}") from None
                    time.sleep(0.1)
            yield f"http://{HOST}:{port}", proc.pid
        finally:
            with contextlib.suppress(OSError, http.client.HTTPException):
                _http(port, "POST", "/moto-api/reset")


def bench_env(endpoint: str, workdir: Path, worker_timeout: int | None = None) -> dict[str, str]:
    """The environment of this process, the server and the verify process: the project's
    settings read it (config/settings/base.py) as they would in production."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="benchmarks.settings",
        # The storage the portal uses in production, pointed at the moto server.
        AWS_STORAGE_BUCKET_NAME=BUCKET,
        AWS_S3_ENDPOINT_URL=endpoint,
        AWS_S3_REGION_NAME=REGION,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_EC2_METADATA_DISABLED="true",
        # Tasks are queued, as in production, in an in-memory broker nobody consumes: the
        # hashing runs in the verify step below, not inside the completion request.
        CELERY_TASK_ALWAYS_EAGER="false",
        CELERY_BROKER_URL="memory://",
        CLAMD_HOST="",
        FILE_UPLOAD_TEMP_DIR=str(workdir),
    )
    if worker_timeout is not None:
        # benchmarks/settings.py: the storage client waits as long for moto's completion.
        env["BENCH_S3_READ_TIMEOUT"] = str(worker_timeout)
    return env


# The two ways up -------------------------------------------------------------------------


class Portal:
    """The page script's calls to Django, one at a time as record-uploader.js makes them."""

    def __init__(self, port: int, cookie: str) -> None:
        from django.conf import settings
        from django.utils.crypto import get_random_string

        token = get_random_string(32)
        self.port = port
        self.headers = {
            "Cookie": f"{cookie}; {settings.CSRF_COOKIE_NAME}={token}",
            "X-CSRFToken": token,
            "Accept": "application/json",
        }
        self._lock = threading.Lock()
        self.seconds: dict[str, list[float]] = {}  # each call's duration, by what it was

    def call(
        self, what: str, method: str, path: str, payload: Any = None, *, expect: int = 200
    ) -> Any:
        headers = dict(self.headers)
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        with self._lock:
            started = time.perf_counter()
            conn = http.client.HTTPConnection(HOST, self.port, timeout=HTTP_TIMEOUT_S)
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            finally:
                conn.close()
            self.seconds.setdefault(what, []).append(time.perf_counter() - started)
        if response.status != expect:
            raise BenchError(
                f"{method} {path} answered {response.status}, expected {expect}: "
                f"{data[:300].decode(errors='replace')}"
            )
        return json.loads(data)


def put_part(url: str, data: bytes) -> str:
    """PUT one part to its presigned URL, as the browser does; returns S3's ETag."""
    parts = urlsplit(url)
    if parts.hostname != HOST or parts.port is None:
        raise BenchError(f"a part URL points away from loopback: {parts.netloc}")
    conn = http.client.HTTPConnection(HOST, parts.port, timeout=HTTP_TIMEOUT_S)
    try:
        conn.request(
            "PUT",
            f"{parts.path}?{parts.query}",
            body=data,
            headers={"Content-Length": str(len(data))},
        )
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise BenchError(f"S3 answered {response.status} to a part: {body[:300]!r}")
    etag = response.getheader("ETag")
    if not etag:
        raise BenchError("S3 answered a part without an ETag")
    return etag


@dataclass(frozen=True)
class PortalUpload:
    uid: str
    key: str
    wall_s: float
    parts_s: float  # from the first signing to the last part stored
    calls: dict[str, list[float]]  # the portal calls' durations: create, sign, complete

    def as_json(self) -> dict[str, Any]:
        signs = self.calls["sign"]
        return {
            "wall_s": round(self.wall_s, 3),
            "create_s": round(self.calls["create"][0], 3),
            "parts_s": round(self.parts_s, 3),
            "complete_s": round(self.calls["complete"][0], 3),
            "sign_calls": len(signs),
            "sign_s": round(sum(signs), 3),
            "sign_ms_median": round(statistics.median(signs) * 1000, 1),
        }


def send_through_portal(
    port: int, cookie: str, reference: str, source: Path, size: int, in_flight: int
) -> PortalUpload:
    """create -> (sign -> PUT) per part, ``in_flight`` at a time -> complete."""
    from django.urls import reverse

    portal = Portal(port, cookie)
    started = time.perf_counter()
    created = portal.call(
        "create",
        "POST",
        reverse("uploads:create", args=[reference]),
        {"name": source.name, "size": size, "kind": "imaging", "description": "Benchmark"},
        expect=201,
    )
    upload_id, part_size, count = created["uploadId"], created["partSize"], created["partCount"]
    urls = created["urls"]
    etags: dict[int, str] = {}
    numbers = iter(range(1, count + 1))
    numbers_lock = threading.Lock()
    failed = threading.Event()
    fd = os.open(source, os.O_RDONLY)

    def send_parts() -> None:
        try:
            while not failed.is_set():
                with numbers_lock:
                    number = next(numbers, None)
                if number is None:
                    return
                signed = portal.call(
                    "sign",
                    "GET",
                    f"{urls['parts']}{number}/?uploadId={quote(upload_id, safe='')}",
                )
                offset = (number - 1) * part_size
                data = os.pread(fd, min(part_size, size - offset), offset)
                etags[number] = put_part(signed["url"], data)
        except BaseException:
            failed.set()
            raise

    try:
        sending = time.perf_counter()
        with ThreadPoolExecutor(max_workers=in_flight) as pool:
            senders = [pool.submit(send_parts) for _ in range(min(in_flight, count))]
            for sender in senders:
                sender.result()
        sent = time.perf_counter()
        done = portal.call(
            "complete",
            "POST",
            urls["complete"],
            {
                "uploadId": upload_id,
                "parts": [{"PartNumber": n, "ETag": etags[n]} for n in sorted(etags)],
            },
        )
    except BaseException:
        with contextlib.suppress(Exception):
            portal.call("abort", "POST", urls["abort"], {"uploadId": upload_id})
        raise
    finally:
        os.close(fd)
    finished = time.perf_counter()
    if done["state"] != "verifying":
        raise BenchError(f"completion left the record {done['state']}: {done}")
    return PortalUpload(
        uid=created["uid"],
        key=created["key"],
        wall_s=finished - started,
        parts_s=sent - sending,
        calls=portal.seconds,
    )


def s3_client(endpoint: str, read_timeout: int | None = None) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(
            signature_version="s3v4",
            # The browser sends no checksum with a part; neither does the baseline.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"max_attempts": 1, "mode": "standard"},
            max_pool_connections=max(10, PARTS_IN_FLIGHT),
            # As the portal's client (--worker-timeout): moto's slow completion of 2 GiB.
            read_timeout=read_timeout or 60,
        ),
    )


def send_with_boto3(client: Any, source: Path, size: int, key: str, in_flight: int) -> float:
    """The same file with boto3's own multipart upload: same part size, same parts in
    flight, same encryption header. Returns the wall time."""
    from boto3.s3.transfer import TransferConfig

    from intake.uploads import part_size

    chunk = part_size(size)
    config = TransferConfig(
        multipart_threshold=chunk,
        multipart_chunksize=chunk,
        max_concurrency=in_flight,
        use_threads=True,
    )
    started = time.perf_counter()
    client.upload_file(
        str(source),
        BUCKET,
        key,
        ExtraArgs={"ServerSideEncryption": "AES256", "ContentType": "application/octet-stream"},
        Config=config,
    )
    wall = time.perf_counter() - started
    stored = client.head_object(Bucket=BUCKET, Key=key)["ContentLength"]
    if stored != size:
        raise BenchError(f"boto3 stored {stored} bytes of {size}")
    return wall


# Setup -----------------------------------------------------------------------------------


def prepare_django() -> tuple[str, str]:
    """Migrates the bench database, makes the bucket, and returns the Cookie header of a
    signed-in family and the reference of their draft request (cleared of earlier runs'
    records, whose objects went with their moto server)."""
    import warnings

    import django
    from django.core.management import call_command
    from django.db import connections

    warnings.filterwarnings("ignore", message="No directory at", module="django.core.handlers")
    django.setup()
    from cases.models import Case, Status
    from intake.models import Record
    from intake.services import case_start

    from .run import ensure_database
    from .scenarios import family_user, session_headers

    ensure_database()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("s3_configure_bucket", stdout=io.StringIO())
    family = family_user(UPLOAD_FAMILY, "Uma Benchmark")
    case = Case.objects.filter(family=family, status=Status.DRAFT).order_by("pk").first()
    if case is None:
        case = case_start(by=family)
    Record.objects.filter(case=case).delete()
    cookie = session_headers(family)["Cookie"]
    connections.close_all()
    return cookie, case.reference


def record_pk(uid: str) -> int:
    from intake.models import Record

    return Record.objects.values_list("pk", flat=True).get(uid=uid)


# The verify step (its own process, as a Celery worker) -------------------------------------


def verify_main(record_id: int) -> int:
    """Runs records.record_verify on one record and prints what it cost, as one JSON line."""
    import django

    django.setup()
    from django.core.files.storage import default_storage

    from intake import records
    from intake.models import Record

    # What any worker has done before its first record: the S3 client and the database
    # connection. Their one-time cost is not the file's.
    client = default_storage.connection.meta.client  # type: ignore[attr-defined]
    client.head_bucket(Bucket=default_storage.bucket_name)  # type: ignore[attr-defined]
    Record.objects.filter(pk=record_id).exists()
    pid = os.getpid()
    with Watch(pid) as watch:
        started = time.perf_counter()
        record = records.record_verify(record_id=record_id)
        wall = time.perf_counter() - started
    if watch.usage is None:
        raise BenchError("no resource usage was recorded for the verification")
    result = {
        "state": record.state,
        "sha256": record.sha256,
        "rejection_reason": record.rejection_reason,
        "wall_s": round(wall, 3),
        "process_peak_rss_mb": round(_status_kb(pid, "VmHWM") * 1024 / MB, 2),
        **watch.usage.as_json(),
    }
    print("BENCH_JSON " + json.dumps(result), flush=True)
    return 0


def run_verify(record_id: int, env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.upload", "--verify-record", str(record_id)],
        cwd=server.PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=VERIFY_TIMEOUT_S,
        check=False,
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise BenchError(f"the verify step failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(line.removeprefix("BENCH_JSON "))


# The run ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.upload", description=__doc__)
    parser.add_argument(
        "--size-mb",
        type=int,
        default=DEFAULT_SIZE_MB,
        help=f"file size in MiB (default {DEFAULT_SIZE_MB}, at most {MAX_SIZE_MB})",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help="uploads of each kind, alternating; the best wall time of each is compared",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=RESULTS_DIR / "upload.json",
        help="where to write the results (default: benchmarks/results/upload.json)",
    )
    parser.add_argument(
        "--worker-timeout",
        type=int,
        help="gunicorn's worker timeout and the storage client's read timeout, in seconds "
        "(default: theirs, 30 and 60, as in production). moto assembles a completed upload "
        "inside the completing request, over a minute for 2 GiB on a busy machine (real S3 "
        "takes seconds): set it for a file of 2 GiB or more",
    )
    parser.add_argument("--verify-record", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.size_mb <= MAX_SIZE_MB:
        parser.error(f"--size-mb must be between 1 and {MAX_SIZE_MB}")
    if args.worker_timeout is not None and args.worker_timeout < 1:
        parser.error("--worker-timeout must be at least 1")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(server.PROJECT_ROOT))
    if args.verify_record is not None:
        return verify_main(args.verify_record)
    # SIGTERM (benchmarks.run's timeout, or anyone's kill) unwinds like an error, so that the
    # S3 server and gunicorn are stopped and the temporary files deleted.
    signal.signal(signal.SIGTERM, _terminated)
    workdir = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    try:
        report = run(args, workdir)
    except BenchError as error:
        print(f"upload benchmark: {error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(format_table(report))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nJSON: {args.json}", flush=True)
    return exit_status(report)


def exit_status(report: dict[str, Any]) -> int:
    """1 when the worker's memory grew past its goal: no other process can cause that, so
    it is the code's doing. A wall ratio over its goal is only reported: on a busy machine
    a round of either kind can lose seconds to other processes."""
    goals = report["goals"]
    cpus = report["machine"]["cpus"] or 1
    busiest = max(report["setup"]["load_average"])
    if busiest > cpus:
        print(
            f"The load average reached {busiest:.1f} on {cpus} CPUs: other processes were "
            "running, so the wall times are not steady.",
            flush=True,
        )
    if not goals["wall_ratio"]["met"]:
        print(
            f"The wall ratio is over {WALL_RATIO_GOAL}: if the rounds' times in the JSON vary "
            "a lot, something else was using the CPU; rerun on a quiet machine with more "
            "--rounds before reading it as the portal's cost.",
            flush=True,
        )
    if not goals["web_worker_rss_growth"]["met"]:
        print(
            f"The web worker grew more than {RSS_GOAL_MB:.0f} MB during an upload: something "
            "in the request path holds the file's bytes.",
            file=sys.stderr,
        )
        return 1
    return 0


# moto holds a completing upload about five times over in RAM (the parts, their join, a copy);
# on disk go the file, moto's spooled parts and object, and the verify step's spool.
MOTO_RAM_FACTOR = 5
DISK_FACTOR = 4


def check_room(size: int, workdir: Path) -> None:
    """Refuse a size this machine cannot hold, before anything starts."""
    available = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            available = int(line.split()[1]) * 1024
    ram = MOTO_RAM_FACTOR * size + 1024 * MiB
    if available and available < ram:
        raise BenchError(
            f"a {size / MiB:,.0f} MiB upload needs about {ram / 1e9:.1f} GB of free memory "
            f"(moto keeps S3 objects in RAM); {available / 1e9:.1f} GB is available"
        )
    disk = DISK_FACTOR * size + 1024 * MiB
    free = shutil.disk_usage(workdir).free
    if free < disk:
        raise BenchError(
            f"needs about {disk / 1e9:.1f} GB free in {workdir}; {free / 1e9:.1f} GB is"
        )


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    size = args.size_mb * MiB
    check_room(size, workdir)
    began = time.perf_counter()
    load_before = os.getloadavg()[0]
    with contextlib.ExitStack() as stack:
        endpoint, moto_pid = stack.enter_context(
            moto_server(RESULTS_DIR / "moto-upload.log", workdir)
        )
        env = bench_env(endpoint, workdir, args.worker_timeout)
        os.environ.update(env)
        source = workdir / "study.pdf"
        print(f"Writing a {args.size_mb:,} MiB PDF to {workdir}", flush=True)
        sha256 = write_source(source, size)
        cookie, reference = prepare_django()
        check_source(source, size)
        from intake.uploads import part_count, part_size

        client = s3_client(endpoint, args.worker_timeout)
        served = stack.enter_context(
            server.serve(
                DJANGO_APP,
                RESULTS_DIR / "gunicorn-upload.log",
                "/_bench/bare/",
                workers=1,
                env=env,
                timeout=args.worker_timeout,
            )
        )
        workers = served.worker_pids()
        if len(workers) != 1:
            raise BenchError(f"expected one gunicorn worker, found {workers}")
        worker = workers[0]

        me = os.getpid()

        def send(length: int) -> tuple[PortalUpload, Usage, Usage, float]:
            with Watch(worker) as web, Watch(moto_pid) as s3:
                client_cpu = _cpu_s(me)
                upload = send_through_portal(
                    served.port, cookie, reference, source, length, PARTS_IN_FLIGHT
                )
                client_cpu = _cpu_s(me) - client_cpu
            if served.worker_pids() != [worker]:
                raise BenchError("the gunicorn worker was replaced during an upload")
            if web.usage is None or s3.usage is None:
                raise BenchError("no resource usage was recorded for the servers")
            return upload, web.usage, s3.usage, client_cpu

        # The first upload of a fresh worker builds its S3 client and fills Django's caches,
        # whatever the file's size: timed apart, on a file of two parts.
        small = min(size, part_size(size) + MiB)
        first, first_web, _, _ = send(small)
        client.delete_object(Bucket=BUCKET, Key=first.key)
        print(
            f"First upload in a fresh worker ({small / MiB:.0f} MiB): worker RSS "
            f"+{first_web.growth_mb:.1f} MB, {first_web.cpu_s:.2f} CPU s",
            flush=True,
        )

        rounds: list[dict[str, Any]] = []
        last: PortalUpload | None = None
        for number in range(1, args.rounds + 1):
            entry: dict[str, Any] = {}
            # Alternate which goes first, so neither always follows the other.
            order = ("portal", "boto3") if number % 2 else ("boto3", "portal")
            for kind in order:
                if kind == "portal":
                    upload, web, s3, client_cpu = send(size)
                    if last is not None:
                        client.delete_object(Bucket=BUCKET, Key=last.key)
                    last = upload
                    entry["portal"] = {
                        **upload.as_json(),
                        "web_worker": web.as_json(),
                        "s3_server": s3.as_json(),
                        "client_cpu_s": round(client_cpu, 3),
                    }
                else:
                    key = f"bench-boto3/{number}"
                    with Watch(moto_pid) as s3_watch:
                        client_cpu = _cpu_s(me)
                        wall = send_with_boto3(client, source, size, key, PARTS_IN_FLIGHT)
                        client_cpu = _cpu_s(me) - client_cpu
                    client.delete_object(Bucket=BUCKET, Key=key)
                    if s3_watch.usage is None:
                        raise BenchError("no resource usage was recorded for moto")
                    entry["boto3"] = {
                        "wall_s": round(wall, 3),
                        "s3_server": s3_watch.usage.as_json(),
                        "client_cpu_s": round(client_cpu, 3),
                    }
            rounds.append(entry)
            print(
                f"  round {number}/{args.rounds}: portal {entry['portal']['wall_s']:.2f} s "
                f"(worker RSS +{entry['portal']['web_worker']['rss_growth_mb']:.1f} MB, "
                f"{entry['portal']['web_worker']['cpu_s']:.2f} CPU s), "
                f"boto3 {entry['boto3']['wall_s']:.2f} s",
                flush=True,
            )
        if last is None:
            raise BenchError("no upload ran")
        # What the completion's look at the first 64 KB costs on this S3: moto reads the whole
        # object to answer a ranged GET, real S3 does not.
        ranged = time.perf_counter()
        client.get_object(Bucket=BUCKET, Key=last.key, Range="bytes=0-65535")["Body"].read()
        ranged_get_s = time.perf_counter() - ranged
        print("Verifying the last upload as the Celery worker would (record_verify)", flush=True)
        verify = run_verify(record_pk(last.uid), env)
        if verify["state"] != "available" or verify["sha256"] != sha256:
            raise BenchError(
                f"record_verify left the record {verify['state']} "
                f"({verify['rejection_reason'] or 'sha256 ' + verify['sha256']})"
            )
        s3_peak_mb = max(
            max(entry[kind]["s3_server"]["peak_rss_mb"] for kind in ("portal", "boto3"))
            for entry in rounds
        )
        from .run import _versions

        versions = _versions()
    return build_report(
        args=args,
        size=size,
        parts=(part_size(size), part_count(size)),
        first=(small, first, first_web),
        rounds=rounds,
        verify=verify,
        s3_peak_mb=s3_peak_mb,
        ranged_get_s=ranged_get_s,
        versions=versions,
        seconds=time.perf_counter() - began,
        load=(load_before, os.getloadavg()[0]),
    )


# Reporting -------------------------------------------------------------------------------


def build_report(
    *,
    args: argparse.Namespace,
    size: int,
    parts: tuple[int, int],
    first: tuple[int, PortalUpload, Usage],
    rounds: list[dict[str, Any]],
    verify: dict[str, Any],
    s3_peak_mb: float,
    ranged_get_s: float,
    versions: dict[str, Any],
    seconds: float,
    load: tuple[float, float],
) -> dict[str, Any]:
    from importlib.metadata import version

    from .run import _git_commit

    portal = [r["portal"] for r in rounds]
    boto3_walls = [r["boto3"]["wall_s"] for r in rounds]
    # Memory: the worst round. Time: the best round of each kind, as in benchmarks.run
    # (another process can only slow a round down).
    growth = max(p["web_worker"]["rss_growth_mb"] for p in portal)
    cpu = statistics.median(p["web_worker"]["cpu_s"] for p in portal)
    fastest = min(portal, key=lambda p: p["wall_s"])
    best_portal = fastest["wall_s"]
    best_boto3 = min(boto3_walls)
    ratio = best_portal / best_boto3
    # CPU seconds of everything that took part (client, S3 server, and for the portal its web
    # worker; PostgreSQL's share of 66 small requests is left out). Unlike the walls, other
    # processes hardly change these, so on a busy machine this says whether the portal path
    # does more work.
    portal_cpu = statistics.median(
        p["client_cpu_s"] + p["s3_server"]["cpu_s"] + p["web_worker"]["cpu_s"] for p in portal
    )
    boto3_cpu = statistics.median(
        r["boto3"]["client_cpu_s"] + r["boto3"]["s3_server"]["cpu_s"] for r in rounds
    )
    small, first_upload, first_web = first
    return {
        "schema": 1,
        "kind": "upload",
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": _git_commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "versions": {
            **versions,
            **{name: version(name) for name in ("boto3", "botocore", "moto", "django-storages")},
        },
        "setup": {
            "size_bytes": size,
            "part_bytes": parts[0],
            "parts": parts[1],
            "parts_in_flight": PARTS_IN_FLIGHT,
            "rounds": args.rounds,
            "server": {"workers": 1, "worker_class": server.WORKER_CLASS},
            "s3": "moto server on 127.0.0.1",
            "celery": "tasks queued to an in-memory broker, not run in the web worker",
            "seconds": round(seconds, 1),
            # The 1-minute load average when the run began and ended: above the CPU count,
            # other processes were competing for the CPU and the walls are not steady.
            "load_average": [round(value, 2) for value in load],
        },
        "web_worker": {
            "rss_growth_mb": round(growth, 2),
            "cpu_s": round(cpu, 3),
            "first_upload": {
                "size_bytes": small,
                "wall_s": round(first_upload.wall_s, 3),
                **first_web.as_json(),
            },
        },
        "wall": {
            "portal_s": round(best_portal, 3),
            "boto3_s": round(best_boto3, 3),
            "ratio": round(ratio, 3),
            # What the portal adds, in seconds: less tied to how fast this S3 is than the ratio.
            "overhead_s": round(best_portal - best_boto3, 3),
            "cpu_portal_s": round(portal_cpu, 3),
            "cpu_boto3_s": round(boto3_cpu, 3),
            "cpu_ratio": round(portal_cpu / boto3_cpu, 3),
            # Where the portal's round went (its fastest round).
            "portal_sign_calls": fastest["sign_calls"],
            "portal_sign_ms_median": fastest["sign_ms_median"],
            "portal_complete_s": fastest["complete_s"],
        },
        "verify": verify,
        "s3_server": {
            "peak_rss_mb": round(s3_peak_mb, 1),
            "ranged_get_64k_s": round(ranged_get_s, 3),
        },
        "rounds": rounds,
        "goals": {
            "web_worker_rss_growth": {
                "value": round(growth, 2),
                "limit": RSS_GOAL_MB,
                "met": growth <= RSS_GOAL_MB,
            },
            "wall_ratio": {
                "value": round(ratio, 3),
                "limit": WALL_RATIO_GOAL,
                "met": ratio <= WALL_RATIO_GOAL,
            },
        },
    }


def format_table(report: dict[str, Any]) -> str:
    setup, web, wall = report["setup"], report["web_worker"], report["wall"]
    verify, goals, s3 = report["verify"], report["goals"], report["s3_server"]
    first = web["first_upload"]

    def goal(name: str, shown: str) -> str:
        return f"<= {shown}  {'met' if goals[name]['met'] else 'MISSED'}"

    rss_goal = goal("web_worker_rss_growth", f"{RSS_GOAL_MB:.0f}")
    rows = [
        ("web worker: peak RSS growth (MB)", f"{web['rss_growth_mb']:.1f}", rss_goal),
        ("web worker: CPU (s)", f"{web['cpu_s']:.2f}", ""),
        ("web worker, first upload: RSS growth (MB)", f"{first['rss_growth_mb']:.1f}", ""),
        ("wall: through the portal (s)", f"{wall['portal_s']:.2f}", ""),
        ("wall: raw boto3 multipart (s)", f"{wall['boto3_s']:.2f}", ""),
        ("wall: portal - boto3 (s)", f"{wall['overhead_s']:.2f}", ""),
        ("wall: portal / boto3", f"{wall['ratio']:.3f}", goal("wall_ratio", "1.10")),
        ("CPU, all processes: portal / boto3", f"{wall['cpu_ratio']:.3f}", ""),
        (
            f"portal: one signing of {wall['portal_sign_calls']}, median (ms)",
            f"{wall['portal_sign_ms_median']:.1f}",
            "",
        ),
        ("portal: completion (s)", f"{wall['portal_complete_s']:.2f}", ""),
        ("S3: a 64 KB ranged GET of the object (s)", f"{s3['ranged_get_64k_s']:.2f}", ""),
        ("verify: peak RSS growth (MB)", f"{verify['rss_growth_mb']:.1f}", ""),
        ("verify: process peak RSS (MB)", f"{verify['process_peak_rss_mb']:.1f}", ""),
        ("verify: wall (s)", f"{verify['wall_s']:.2f}", ""),
        ("verify: CPU (s)", f"{verify['cpu_s']:.2f}", ""),
    ]
    header = ("upload", "value", "goal")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    lines = []
    for i, row in enumerate([header, *rows]):
        lines.append(f"{row[0].ljust(widths[0])}  {row[1].rjust(widths[1])}  {row[2]}".rstrip())
        if i == 0:
            lines.append("  ".join("-" * width for width in widths))
    footer = (
        f"{setup['size_bytes'] / MiB:,.0f} MiB in {setup['parts']} parts of "
        f"{setup['part_bytes'] / MiB:.0f} MiB, {setup['parts_in_flight']} requests in flight; "
        f"best of {setup['rounds']} round(s) for the walls, worst for memory, median for CPU.\n"
        "gunicorn with 1 sync worker; S3 is a moto server on loopback.\n"
        f"first upload: a fresh worker's first ({first['size_bytes'] / MiB:.0f} MiB), which "
        "builds its S3 client once, whatever the size.\n"
        "verify: records.record_verify in a process of its own, as the Celery worker runs it."
    )
    return "\n".join([*lines, "", footer])


if __name__ == "__main__":
    sys.exit(main())
