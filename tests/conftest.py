import time
from collections.abc import Iterator
from typing import Any

import pytest
from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import Client, RequestFactory

from accounts.models import Role, User
from accounts.roles import user_set_role
from config.settings.csp import content_security_policy

from .factories import CaseFactory, UserFactory

TOTP_SECRET = "JBSWY3DPEHPK3PXP"


def totp_now(secret: str = TOTP_SECRET, offset: int = 0) -> str:
    """The code an authenticator app would show now (offset in 30-second steps)."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + offset))


def csp_for(settings: Any) -> dict[str, list[str]]:
    """The CSP for the settings as a test has changed them (a bucket or Stripe elsewhere),
    built by the function base.py builds it with."""
    return content_security_policy(
        s3_endpoint_url=settings.AWS_S3_ENDPOINT_URL,
        s3_bucket=settings.AWS_STORAGE_BUCKET_NAME,
        s3_region=settings.AWS_S3_REGION_NAME,
        stripe_js_url=settings.STRIPE_JS_URL,
        stripe_api_base=settings.STRIPE_API_BASE,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "no_db: a pure test; it gets no database (pytest-django fails it if it asks)"
    )


# Before pytest-xdist's own hook, which reads the xdist_group marks added here.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        # Nearly every test touches the database: give those without a django_db mark the
        # plain (rolled-back) database, decided at collection so pytest-django sets it up
        # properly. Tests of pure functions say no_db, so they neither pay for it nor can
        # lean on it.
        if item.get_closest_marker("django_db") is None and not item.get_closest_marker("no_db"):
            item.add_marker(pytest.mark.django_db)
        # Under pytest-xdist (`make test`, --dist loadgroup) the tests that run a Celery worker
        # on the Redis broker run on one worker, one after another: the broker's bookkeeping
        # of unacknowledged messages is shared, and test_worker_kill counts it.
        uses_broker = "celery_worker" in getattr(item, "fixturenames", ()) or any(
            item.get_closest_marker(name) for name in ("celery_worker", "redis")
        )
        if uses_broker:
            item.add_marker(pytest.mark.xdist_group("broker"))


@pytest.fixture(autouse=True)
def _isolated(settings: Any, tmp_path: Any, request: pytest.FixtureRequest) -> Iterator[None]:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    # A no_db test has no database to protect or seed (and the test one may not exist yet).
    if request.node.get_closest_marker("django_db") is not None:
        _seeded_rows_restore()
    # Rate-limit counters and used TOTP codes live in the cache: start every test clean.
    _cache_clear()
    yield
    _cache_clear()


def _cache_clear() -> None:
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        backend.clear()
        return
    # Only this run's keys ("<KEY_PREFIX>:<version>:<key>"; a pytest-xdist worker's prefix is
    # its name, config/settings/test.py): clear() is FLUSHDB, which would also empty the
    # other worker's, or those of a child run started by a test, in the middle of its test.
    client = backend._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{backend.key_prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


def _seeded_rows_restore() -> None:
    from django.db import connection

    name = str(connection.settings_dict["NAME"])
    assert "memory" in name or name.startswith("test_"), f"not a test database: {name}"
    # Transactional tests flush the rows data migrations seeded: put them back if gone.
    from accounts.models import Specialty
    from accounts.specialties import specialties_seed
    from intake.eligibility import eligibility_seed
    from intake.models import StateEligibility

    if not StateEligibility.objects.exists():
        from billing.fees import fee_seed
        from billing.models import Fee

        eligibility_seed(StateEligibility)
        specialties_seed(Specialty)
        from accounts.specialties import checklists_seed

        checklists_seed(Specialty)
        fee_seed(Fee, Specialty)


def _person(email: str, role: Role, **kwargs: Any) -> User:
    user = UserFactory(email=email, **kwargs)
    if role != Role.FAMILY:
        user_set_role(user=user, role=role)
    if role in (Role.COORDINATOR, Role.SPECIALIST):
        TOTP.activate(user, TOTP_SECRET)
        RecoveryCodes.activate(user)
    return user


# The test personas: email, role and full name.
PERSONAS: dict[str, tuple[str, Role, str]] = {
    "family": ("family@example.com", Role.FAMILY, "Maria Lopez"),
    "other_family": ("family2@example.com", Role.FAMILY, "James Carter"),
    "physician": ("physician@example.com", Role.PHYSICIAN, "Dr. Priya Shah"),
    "other_physician": ("physician2@example.com", Role.PHYSICIAN, "Dr. Ken Ito"),
    "coordinator": ("coordinator@example.com", Role.COORDINATOR, "Alex Kim"),
    "specialist": ("specialist@example.com", Role.SPECIALIST, "Dr. Helen Park"),
    "other_specialist": ("specialist2@example.com", Role.SPECIALIST, "Dr. Omar Haddad"),
}


def persona(name: str) -> User:
    email, role, full_name = PERSONAS[name]
    return _person(email, role, full_name=full_name)


@pytest.fixture
def family(db: None) -> User:
    return persona("family")


@pytest.fixture
def other_family(db: None) -> User:
    return persona("other_family")


@pytest.fixture
def physician(db: None) -> User:
    return persona("physician")


@pytest.fixture
def other_physician(db: None) -> User:
    return persona("other_physician")


@pytest.fixture
def coordinator(db: None) -> User:
    return persona("coordinator")


@pytest.fixture
def specialist(db: None) -> User:
    return persona("specialist")


@pytest.fixture
def other_specialist(db: None) -> User:
    return persona("other_specialist")


@pytest.fixture
def case(family: User, specialist: User) -> Any:
    return CaseFactory(family=family, assigned_specialist=specialist)


def login(client: Client, user: User) -> Client:
    """Sign ``user`` in; staff get a session that has passed MFA, as after a real TOTP login."""
    client.force_login(user)
    if user.role in (Role.COORDINATOR, Role.SPECIALIST):
        assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        request = RequestFactory().get("/")
        request.session = client.session
        record_authentication(request, user, "password", email=user.email)
        record_authentication(request, user, "mfa", type="totp")
        request.session.save()
    return client


@pytest.fixture
def as_user(client: Client) -> Any:
    return lambda user: login(client, user)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The S3 endpoint: the one .ci/run started (AWS_S3_ENDPOINT_URL), else a moto server
    started here on loopback. moto is a dev dependency, so S3 tests always run for real."""
    import os
    import subprocess
    import sys

    from .services import free_port, wait_for_port

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    existing = os.environ.get("AWS_S3_ENDPOINT_URL")
    if existing:
        yield existing
        return
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def s3_storage(s3_endpoint: str, settings: Any) -> Iterator[dict[str, Any]]:
    """Point default storage at a fresh private bucket on the S3 endpoint."""
    import uuid

    import boto3
    from django.core.files.storage import storages

    bucket = f"test-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-west-2")
    client.create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    options = {
        **settings.STORAGES,
    }
    s3 = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": s3_endpoint,
            "region_name": "us-west-2",
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": 300,
            "file_overwrite": False,
            "object_parameters": {"ServerSideEncryption": "AES256"},
            "signature_version": "s3v4",
        },
    }
    settings.STORAGES = {**options, "default": s3}
    storages._storages = {}  # drop the cached storage built from the old setting
    yield {"bucket": bucket, "client": client, "endpoint": s3_endpoint}
    storages._storages = {}


@pytest.fixture
def celery_worker() -> Iterator[Any]:
    """A real Celery worker (solo pool, in this process) consuming from Redis."""
    import os

    from celery.contrib.testing.worker import start_worker

    from config.celery_app import app

    from .services import need_redis

    redis_url = need_redis()
    broker = os.environ.get("CELERY_BROKER_URL") or redis_url
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=broker, task_always_eager=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING") as w:
            yield w
    finally:
        app.conf.update(saved)
