"""The imaging indexer on a large study: time and peak memory of the ``record_index`` task's
work for a generated 1,000-instance CT (512 x 512 slices, zipped as a family would send it).

    python -m benchmarks.imaging_index [--instances 1000] [--size 512] [--json PATH]

It runs against a throwaway database (Django's test database of ``DATABASE_URL``, created,
migrated and dropped here) and a temporary local storage, so it never touches development
data. The zip is generated first, one slice at a time straight to disk, so generation does
not inflate this process's memory; then the record is indexed exactly as the task does it
(copy from storage, headers in the bounded child, one stored object per instance, the rows).
Memory figures are peak RSS (``getrusage``): this process (the worker's side) and the
bounded child that read the headers. See "The imaging indexer" in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def _generate(path: Path, instances: int, size: int) -> int:
    from imaging import synthetic

    spec = synthetic.StudySpec(
        key="bench",
        series=(
            synthetic.SeriesSpec(
                number=1,
                description="Axial 0.6 mm",
                slices=instances,
                size=size,
                thickness_mm=0.6,
            ),
        ),
    )
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for number, ds in enumerate(synthetic.series_datasets(spec, spec.series[0])):
            out.writestr(f"DICOM/IM{number:05d}", synthetic.dicom_bytes(ds))
    return path.stat().st_size


def run(instances: int, size: int) -> dict[str, Any]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    sys.path.insert(0, str(PROJECT_ROOT))
    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    with tempfile.TemporaryDirectory(prefix="imaging-bench-") as work:
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(Path(work) / "media")},
            },
        }
        zip_path = Path(work) / "study.zip"
        started = time.perf_counter()
        zip_bytes = _generate(zip_path, instances, size)
        generate_s = time.perf_counter() - started

        # A database name of its own: never the test run's, nor development's.
        connection.settings_dict.setdefault("TEST", {})["NAME"] = "test_imaging_bench"
        setup_test_environment()
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            return _index(zip_path, zip_bytes, generate_s, instances, size)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
            teardown_test_environment()


_LAUNCHER = """
import json, resource, subprocess, sys
subprocess.run(sys.argv[1:], input=sys.stdin.buffer.read(), capture_output=True, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _child_peak_mb(zip_path: Path) -> float:
    """The header-reading child's peak RSS. Linux counts a forked child's memory from the
    fork, so the child is started again from a small launcher rather than from this
    process (whose size it would otherwise report)."""
    from dataclasses import asdict

    from core.bounded import child_env
    from imaging.indexing import limits

    with tempfile.TemporaryDirectory(prefix="imaging-bench-child-") as out:
        job = {
            "path": str(zip_path),
            "workdir": out,
            "name": "study.zip",
            "limits": asdict(limits()),
            "target": "imaging.dicomfiles:index_job",
            "cpu_seconds": 3600,
            "memory_bytes": 4 * 1024**3,
        }
        child = [sys.executable, "-I", str(PROJECT_ROOT / "core" / "child.py")]
        done = subprocess.run(
            [sys.executable, "-I", "-c", _LAUNCHER, *child],
            input=json.dumps(job).encode(),
            capture_output=True,
            check=True,
            env=child_env(),
        )
    return int(done.stdout.decode().strip()) / 1024


def _index(
    zip_path: Path, zip_bytes: int, generate_s: float, instances: int, size: int
) -> dict[str, Any]:
    import hashlib

    from django.core.files import File

    from accounts.models import Role, User
    from cases.models import Case
    from imaging.indexing import record_index
    from imaging.models import Instance, Study
    from intake.models import Record

    family = User.objects.create_user(email="bench@example.com", password="x", role=Role.FAMILY)
    case = Case.objects.create(family=family, created_by=family)
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()
    record = Record(
        case=case,
        kind=Record.Kind.IMAGING,
        original_name="study.zip",
        size=zip_bytes,
        sha256=digest,
        detected_kind="dicom_zip",
        content_type="application/zip",
        state=Record.State.AVAILABLE,
        scan_status=Record.Scan.PENDING,  # the hook stays quiet: we call the task's body
        uploaded_by=family,
    )
    with zip_path.open("rb") as source:
        record.file.save("upload", File(source), save=False)
    record.save()
    Record.objects.filter(pk=record.pk).update(scan_status=Record.Scan.CLEAN)

    rss_before = _rss_mb(resource.RUSAGE_SELF)
    started = time.perf_counter()
    index = record_index(record_id=record.pk)
    index_s = time.perf_counter() - started
    if index is None or index.state != "indexed":
        raise RuntimeError(f"the record was not indexed: {index.error if index else 'no index'}")
    study = Study.objects.with_counts().get(case=case)
    ordered = [
        number or 0
        for number in Instance.objects.filter(series__study=study)
        .order_by("sort_index")
        .values_list("instance_number", flat=True)
    ]
    if ordered != sorted(ordered) or study.instance_count != instances:
        raise RuntimeError(f"the study is not the {instances} ordered instances written")
    child_mb = _child_peak_mb(zip_path)

    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
        },
        "instances": instances,
        "slice": f"{size}x{size}",
        "uncompressed_mb": round(instances * size * size * 2 / 1024**2, 1),
        "zip_mb": round(zip_bytes / 1024**2, 1),
        "generate_s": round(generate_s, 1),
        "index_s": round(index_s, 1),
        "ms_per_instance": round(index_s * 1000 / instances, 1),
        "worker_peak_rss_mb": round(_rss_mb(resource.RUSAGE_SELF), 1),
        "worker_rss_before_index_mb": round(rss_before, 1),
        "child_peak_rss_mb": round(child_mb, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "imaging_index.json")
    args = parser.parse_args()
    result = run(args.instances, args.size)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    for key, value in result.items():
        print(f"{key:>28}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
