"""What `make run` puts together: demo data, settings, static files sent as in production."""

import gzip
import json
import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import Specialty, User
from cases.models import Case
from intake.checklists import GENERAL, checklist_for
from tests.conftest import login
from tests.factories import CaseFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def _without_stripe(settings: Any) -> None:
    settings.STRIPE_SECRET_KEY = ""  # tests/billing/test_demo.py runs the demo with localstripe


@pytest.mark.usefixtures("_without_stripe")
def test_seed_demo_is_idempotent_and_has_a_specialist_and_a_checklist_for_every_specialty() -> None:
    call_command("seed_demo", stdout=StringIO())
    counts = (User.objects.count(), Case.objects.count())
    call_command("seed_demo", stdout=StringIO())
    assert (User.objects.count(), Case.objects.count()) == counts

    offered = Specialty.objects.filter(is_active=True)
    assert offered.count() == 14
    for specialty in offered:
        accepting = specialty.specialists.filter(accepting_cases=True, user__is_active=True)
        assert accepting.exists(), f"no demo specialist for {specialty.name}"
        assert len(specialty.records_checklist_items) >= 2, specialty.name
        assert checklist_for(specialty)[: len(specialty.records_checklist_items)] == (
            specialty.records_checklist_items
        )
        assert checklist_for(specialty)[-len(GENERAL) :] == GENERAL


def test_the_checklist_is_edited_in_the_console_and_shown_on_the_records_step(
    family: User, coordinator: User
) -> None:
    urology = Specialty.objects.get(slug="urology")
    console = login(Client(), coordinator)
    response = console.post(
        reverse("admin:accounts_specialty_change", args=[urology.pk]),
        {
            "name": urology.name,
            "slug": urology.slug,
            "is_active": "on",
            "sort_order": urology.sort_order,
            "records_checklist": "Renal scan report\n\n  Bladder diary  \n",
        },
    )
    assert response.status_code == 302
    urology.refresh_from_db()
    assert urology.records_checklist_items == ["Renal scan report", "Bladder diary"]

    case = CaseFactory(family=family, specialty=urology, status="draft")
    page = login(Client(), family).get(reverse("intake_step", args=[case.reference, "records"]))
    assert page.status_code == 200
    assert "<li>Renal scan report</li><li>Bladder diary</li>" in page.content.decode()


def _settings_under_make_run(env: dict[str, str]) -> dict[str, Any]:
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'storages': s.STORAGES, 'site': s.SITE_URL, "
        "'finders': s.WHITENOISE_USE_FINDERS, 'csp': s.SECURE_CSP['connect-src']}, default=str))"
    )
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SITE_URL"))}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**keep, "DJANGO_SETTINGS_MODULE": "config.settings.local", **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_local_settings_keep_files_in_the_loopback_bucket_and_serve_compressed_static() -> None:
    seen = _settings_under_make_run(
        {"AWS_S3_ENDPOINT_URL": "http://127.0.0.1:8422", "SITE_URL": "http://127.0.0.1:8123"}
    )
    default = seen["storages"]["default"]
    assert default["BACKEND"] == "storages.backends.s3.S3Storage"
    assert default["OPTIONS"]["bucket_name"] == "second-opinion-local"
    assert default["OPTIONS"]["endpoint_url"] == "http://127.0.0.1:8422"
    assert "http://127.0.0.1:8422" in seen["csp"]  # the uploader may PUT parts there
    assert seen["storages"]["staticfiles"]["BACKEND"] == (
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
    assert seen["finders"] is False
    assert seen["site"] == "http://127.0.0.1:8123"

    # Without the S3 stand-in (no endpoint), files stay on the local disk.
    plain = _settings_under_make_run({})
    assert plain["storages"]["default"]["BACKEND"].endswith("FileSystemStorage")


def test_make_run_starts_moto_and_derives_the_email_links_from_host_and_port() -> None:
    out = subprocess.run(
        ["make", "-n", "run", "HOST=127.0.0.1", "PORT=8765", "MOTO_PORT=8766"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k not in ("SITE_URL", "MAKEFLAGS")},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    # The local settings asked for by name: the WSGI and Celery entry points default to
    # production's.
    exports = "export SITE_URL=http://127.0.0.1:8765 DJANGO_SETTINGS_MODULE=config.settings.local;"
    assert exports in out
    assert "-m moto.server -H 127.0.0.1 -p 8766" in out
    assert "AWS_S3_ENDPOINT_URL=http://127.0.0.1:8766" in out
    assert "manage.py s3_configure_bucket" in out
    assert "manage.py collectstatic --noinput" in out
    assert "--register-webhook http://127.0.0.1:8765/" in out


ASSET = re.compile(r'<(?:link|script|img)\b[^>]*?\b(?:href|src)="(/static/[^"]+)"')


def _transfer(client: Client, url: str) -> int:
    """Bytes on the wire for a page and everything it loads, as a gzip-accepting browser gets."""
    page = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert page.status_code == 200
    html = page.content.decode()
    assets = sorted(set(ASSET.findall(html)))
    assert any(a.endswith(".css") for a in assets), assets
    total = len(page.content)
    for asset in assets:
        response = client.get(asset, HTTP_ACCEPT_ENCODING="gzip")
        assert response.status_code == 200, asset
        body = b"".join(response.streaming_content)
        if asset.endswith((".css", ".js", ".svg")):
            assert response["Content-Encoding"] == "gzip", asset
            assert gzip.decompress(body)  # really compressed, not just labelled
        total += len(body)
    return total


def test_a_family_page_with_its_static_files_transfers_at_most_120_kb(
    settings: Any, tmp_path: Path, family: User, s3_storage: Any
) -> None:
    # Production's static set-up (as make run has it): collectstatic writes compressed copies,
    # WhiteNoise sends them from STATIC_ROOT.
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = False
    settings.WHITENOISE_AUTOREFRESH = False
    call_command("collectstatic", "--noinput", verbosity=0)
    case = CaseFactory(family=family)
    client = login(Client(), family)

    for url in (reverse("dashboard"), reverse("case_detail", args=[case.reference])):
        assert _transfer(client, url) <= 120_000, url
    # The records step offers the large-file uploader; Uppy (about 180 KB compressed) is
    # fetched only when the file chooser is used, so the page itself stays within budget.
    draft = CaseFactory(family=family, status="draft")
    records_step = reverse("intake_step", args=[draft.reference, "records"])
    page = client.get(records_step).content.decode()
    assert "data-large-uploader" in page and "data-uppy-src" in page
    assert "uppy.min" not in "".join(ASSET.findall(page))
    assert _transfer(client, records_step) <= 120_000


def test_every_page_has_a_favicon_and_a_meta_description(client: Client) -> None:
    page = client.get(reverse("home")).content.decode()
    description = re.search(r'<meta name="description" content="([^"]{50,160})">', page)
    assert description and "second opinion" in description.group(1)
    icon = re.search(r'<link rel="icon" href="(/static/[^"]+\.svg)"', page)
    assert icon
    response = client.get(icon.group(1))
    assert response.status_code == 200
    assert b"<svg" in b"".join(response.streaming_content)


def test_pages_mention_the_large_file_uploader_only_where_it_is_offered(
    family: User, s3_storage: Any, settings: Any
) -> None:
    from django.core.files.storage import storages

    draft = CaseFactory(family=family, status="draft")
    submitted = CaseFactory(family=family, status="submitted")
    client = login(Client(), family)
    urls = [
        reverse("intake_step", args=[draft.reference, "records"]),
        reverse("case_detail", args=[submitted.reference]),
    ]
    for url in urls:
        page = client.get(url).content.decode()
        assert "data-large-uploader" in page, url

    settings.STORAGES = {  # no bucket: files on the local disk, no direct uploads
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    storages._storages = {}
    for url in urls:
        page = client.get(url).content.decode()
        assert "data-large-uploader" not in page, url
        assert "large-file uploader" not in page, url
        assert "coordinator will arrange another way" in page, url


def test_every_table_header_cell_in_the_report_templates_has_a_scope() -> None:
    # The report's PDF is a tagged PDF: a header cell without a scope leaves assistive
    # technology guessing which cells it heads (reports/ and the release form, also a PDF).
    templates = [*sorted((ROOT / "templates" / "reports").rglob("*.html"))]
    templates.append(ROOT / "templates" / "intake" / "release_authorisation.html")
    headers = 0
    for path in templates:
        for cell in re.findall(r"<th\b[^>]*>", path.read_text()):
            headers += 1
            assert re.search(r'\sscope="(row|col|rowgroup|colgroup)"', cell), (path, cell)
    assert headers > 20


@pytest.mark.no_db
def test_make_run_migrates_and_seeds_on_the_embedded_sqlite_default(tmp_path: Path) -> None:
    """The path `make run` takes, in a child with the local settings and nothing else: a new
    SQLite file, migrate, seed_demo (imaging and slide demos included). Every demo record ends
    "not scanned — development" (no clamd under make run), so specialists see them; then
    every role's pages of every demo case answer."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "VAR_DIR": str(tmp_path),
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    for command in (["migrate", "--noinput"], ["seed_demo"]):
        done = subprocess.run(
            [*manage, *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr[-3000:]
    shown = subprocess.run(
        [
            *manage,
            "shell",
            "-c",
            "from intake.models import Record; "
            "print(sorted(set(Record.objects.values_list('scan_status', flat=True))))",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr[-3000:]
    assert shown.stdout.strip().splitlines()[-1] == "['dev']"

    # Every role's pages of every demo case answer on SQLite too (tests/config/sqlite_tour.py).
    toured = subprocess.run(
        [*manage, "shell", "-c", "from tests.config.sqlite_tour import main; main()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert toured.returncode == 0, toured.stderr[-3000:]
    toured_out = json.loads(toured.stdout.strip().splitlines()[-1])
    assert toured_out["failed"] == []
    assert all(
        toured_out["visited"].get(who, 0) >= 3
        for who in ("coordinator", "family", "physician", "specialist")
    ), toured_out["visited"]


@pytest.mark.no_db
def test_make_run_starts_from_a_fresh_demo_database_and_keeps_the_last_one(
    tmp_path: Path,
) -> None:
    (tmp_path / "db.sqlite3").write_bytes(b"earlier run")
    (tmp_path / "db.sqlite3-wal").write_bytes(b"wal")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MAKEFLAGS")}
    out = subprocess.run(
        ["make", "-s", "fresh-demo-db", f"VAR={tmp_path}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert not (tmp_path / "db.sqlite3").exists()
    assert (tmp_path / "previous-run" / "db.sqlite3").read_bytes() == b"earlier run"
    assert (tmp_path / "previous-run" / "db.sqlite3-wal").exists()
    assert "Fresh demo database" in out
    # With a database of its own (DATABASE_URL), make run leaves it alone.
    (tmp_path / "db.sqlite3").write_bytes(b"kept")
    subprocess.run(
        ["make", "-s", "fresh-demo-db", f"VAR={tmp_path}"],
        cwd=ROOT,
        env={**env, "DATABASE_URL": "postgres://x/y"},
        check=True,
        timeout=60,
    )
    assert (tmp_path / "db.sqlite3").read_bytes() == b"kept"
