"""The registry of benchmark scenarios; each page's issue adds its page here (see
"Adding a page scenario" in benchmarks/README.md).

A setup function runs in the runner after migrate, with Django set up on the bench database,
and returns the request to time. It may create rows or a signed-in session; it runs on every
bench run, so it must be idempotent (get_or_create, or check a count before bulk_create).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.models import User

HELLO_APP = "benchmarks.wsgi_hello:application"
# The project's real WSGI entry point; the runner points DJANGO_SETTINGS_MODULE at the bench one.
DJANGO_APP = "config.wsgi:application"


@dataclass(frozen=True)
class Target:
    """What the load generator requests: a path on the server and any extra headers."""

    path: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    path: str
    app: str = DJANGO_APP
    # Whose requests/s this one is divided by, besides L0 and L1 which every row shows.
    baseline: str | None = "L1"
    setup: Callable[[], Target] | None = None
    # Exact number of SQL queries one request makes; checked before timing so that a page that
    # starts doing N+1 queries (or stops querying) fails loudly instead of just looking slow.
    queries: int | None = None
    expect_status: int = 200

    @property
    def is_django(self) -> bool:
        return self.app == DJANGO_APP

    def prepare(self) -> Target:
        return self.setup() if self.setup is not None else Target(self.path)


# Helpers for setup functions -------------------------------------------------------------


def session_headers(user: "User") -> dict[str, str]:
    """A Cookie header for a fresh signed-in session of ``user``, valid in the gunicorn server
    because both read the same database and SECRET_KEY."""
    from django.conf import settings
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return {"Cookie": f"{name}={client.cookies[name].value}"}


# Setup functions -------------------------------------------------------------------------

INDEXED_SLUG = "bench-indexed-query"


def seed_indexed_query() -> Target:
    from accounts.models import Specialty

    # Inactive, so it never shows up in the lists of specialties that page scenarios render.
    Specialty.objects.update_or_create(
        slug=INDEXED_SLUG,
        defaults={"name": "Benchmark specialty", "is_active": False, "sort_order": 10_000},
    )
    return Target(f"/_bench/indexed/{INDEXED_SLUG}/")


# The registry, in run order ---------------------------------------------------------------

SCENARIOS: list[Scenario] = [
    Scenario(
        name="L0",
        description="raw WSGI hello app (no Django)",
        path="/",
        app=HELLO_APP,
        baseline=None,
    ),
    Scenario(
        name="L1",
        description="bare Django view through the project's middleware",
        path="/_bench/bare/",
        baseline="L0",
        queries=0,
    ),
    Scenario(
        name="L2",
        description="one indexed query + a small template",
        path=f"/_bench/indexed/{INDEXED_SLUG}/",
        baseline="L1",
        setup=seed_indexed_query,
        queries=1,
    ),
]

REFERENCE_LEVELS = ("L0", "L1")


def by_name() -> dict[str, Scenario]:
    return {scenario.name: scenario for scenario in SCENARIOS}
