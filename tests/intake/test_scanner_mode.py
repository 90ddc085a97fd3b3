"""The scanner mode: clamd in production and CI, an explicit development mode under the
local settings (make run has no clamd), shown as such wherever records are listed."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import User
from cases.models import Case, Status
from intake.models import Intake, Record
from tests.conftest import login
from tests.factories import CaseFactory

ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n%%EOF\n"
BADGE = "Not scanned — development"

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "scanner-mode-test-" + "x" * 50,
    "ALLOWED_HOSTS": "secondopinion.example.org",
    "DATABASE_URL": "postgres://u:p@127.0.0.1:1/none",  # never connected to
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "EMAIL_HOST": "smtp.example.org",
    "STRIPE_SECRET_KEY": "sk_test_x",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_x",
    "HOSPITAL_ADDRESS": "1 Test Way",
    "HOSPITAL_TAX_ID": "00-0000000",
    "HOSPITAL_NPI": "1234567893",
}


def _settings_in_child(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("CLAMD_HOST", "CLAMD_PORT")}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print('SCANNER=' + settings.SCANNER)",
        ],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_refuses_to_start_without_clamd_host() -> None:
    refused = _settings_in_child(PRODUCTION_ENV)
    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr and "CLAMD_HOST" in refused.stderr
    started = _settings_in_child({**PRODUCTION_ENV, "CLAMD_HOST": "clamd.internal"})
    assert started.returncode == 0, started.stderr[-2000:]
    assert "SCANNER=clamd" in started.stdout


def test_only_the_local_settings_scan_in_development_mode() -> None:
    local = _settings_in_child({"DJANGO_SETTINGS_MODULE": "config.settings.local"})
    assert local.returncode == 0, local.stderr[-2000:]
    assert "SCANNER=development" in local.stdout
    test = _settings_in_child({"DJANGO_SETTINGS_MODULE": "config.settings.test"})
    assert "SCANNER=clamd" in test.stdout


@pytest.fixture
def case(family: User, physician: User, specialist: User) -> Case:
    case = CaseFactory(
        family=family,
        physician_email=physician.email,
        assigned_specialist=specialist,
        status=Status.SUBMITTED,
    )
    Intake.objects.create(case=case)
    return case


def test_development_mode_marks_uploads_and_every_list_says_so(
    client: Client,
    case: Case,
    family: User,
    physician: User,
    coordinator: User,
    specialist: User,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.SCANNER = "development"
    settings.CLAMD_HOST = ""  # as under make run: no clamd anywhere
    login(client, family)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("record_upload", args=[case.reference]),
            {"file": SimpleUploadedFile("labs.pdf", PDF), "kind": "other", "description": ""},
        )
    assert response.status_code == 302
    record = Record.objects.get(case=case)
    assert record.scan_status == Record.Scan.DEVELOPMENT
    assert record.scanned_at is not None
    assert record.is_cleared  # make run can be tried end to end: the specialist sees it

    for user in (family, physician, coordinator):
        page = login(Client(), user).get(reverse("case_detail", args=[case.reference]))
        assert page.status_code == 200
        assert BADGE in page.content.decode(), user.role
    workspace = login(Client(), specialist).get(reverse("workspace_case", args=[case.reference]))
    assert workspace.status_code == 200
    assert str(record.uid) in workspace.content.decode()
    assert BADGE in workspace.content.decode()
    console = login(Client(), coordinator).get(reverse("admin:cases_case_change", args=[case.pk]))
    assert BADGE in console.content.decode()


def test_clamd_mode_without_a_host_leaves_records_waiting(
    client: Client, case: Case, family: User, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.CLAMD_HOST = ""
    login(client, family)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("record_upload", args=[case.reference]),
            {"file": SimpleUploadedFile("labs.pdf", PDF), "kind": "other", "description": ""},
        )
    assert Record.objects.get(case=case).scan_status == Record.Scan.PENDING
