"""Settings from the environment, production refusals, check --deploy, security headers."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "k7#v9!pQ2@xL5$wR8^zN3&mB6*cT1(hJ4)gF0_dS-yU+eA=iO~lKqWnPaZsXcVb",
    "ALLOWED_HOSTS": "secondopinion.example.org",
    "DATABASE_URL": "postgres://app@db.internal:5432/second_opinion",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "EMAIL_HOST": "smtp.internal",
    "STRIPE_SECRET_KEY": "sk_live_example",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_example",
    "STRIPE_WEBHOOK_SECRET": "whsec_example",
    "HOSPITAL_ADDRESS": "4650 Sunset Blvd, Los Angeles, CA 90027",
    "HOSPITAL_TAX_ID": "95-1234567",
    "HOSPITAL_NPI": "1234567893",
    "CLAMD_HOST": "clamd.internal",
    "PATH": os.environ.get("PATH", ""),
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_reports_no_warnings() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "missing",
    [
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "REDIS_URL",
        "EMAIL_HOST",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "HOSPITAL_TAX_ID",
    ],
)
def test_production_refuses_to_start_without(missing: str) -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_refuses_a_wildcard_host() -> None:
    result = _manage("check", env={**PRODUCTION_ENV, "ALLOWED_HOSTS": "*"})
    assert result.returncode != 0 and "ALLOWED_HOSTS" in result.stderr


def test_a_malformed_value_fails_loudly() -> None:
    result = _manage("check", env={**PRODUCTION_ENV, "DEBUG": "maybe"})
    assert result.returncode != 0 and "DEBUG='maybe' is not a boolean" in result.stderr


def test_security_headers_on_every_page(client: Client) -> None:
    response = client.get("/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    csp = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"


def test_pages_have_no_inline_scripts(client: Client, family: Any) -> None:
    from tests.conftest import login

    login(client, family)
    for path in ["/", "/cases/", "/accounts/login/", "/accounts/profile/"]:
        body = client.get(path).content.decode()
        assert "<script>" not in body and "onclick=" not in body, path


def test_home_explains_the_service(client: Client) -> None:
    body = client.get("/").content.decode()
    for text in [
        "$875",
        "free",
        "10 business days",
        "outside California",
        "Alabama, Alaska, Maine, New Mexico or Tennessee",
        "call 911",
        "Start a request",
        "Sign in",
        "physician to physician",
    ]:
        assert text in body, text


@pytest.mark.no_db
def test_the_dockerfile_collectstatic_step_gives_production_settings_all_they_require() -> None:
    """The image build runs collectstatic under the production settings with placeholder
    values on its RUN line; a setting production starts requiring must be added there too,
    or the build fails. Import the settings with exactly those values."""
    import re

    root = Path(__file__).resolve().parents[2]
    dockerfile = (root / "Dockerfile").read_text()
    step = re.search(r"RUN (DJANGO_SETTINGS_MODULE=.*?collectstatic)", dockerfile, re.S)
    assert step is not None
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(root))}
    for name, value in re.findall(r"([A-Z_]+)=(\S+)", step.group(1).replace("\\\n", " ")):
        env[name] = value.strip('"').replace("${COLLECTSTATIC_SECRET_KEY}", "placeholder")
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
