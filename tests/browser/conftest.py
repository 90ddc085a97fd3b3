"""Browser tests: Debian Chromium driven through Playwright against Django's live server.

One Chromium runs for the whole session; every test gets a fresh context (no cookies or
storage carried over) and page. ``axe_check(page)`` runs axe-core with the WCAG 2.1 A/AA
rules on the page as it is now and fails the test on any violation.
"""

import io
import os
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from django.db import connections
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.services import need_chromium

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Fail fast: every page here renders from the local live server in well under a second.
TIMEOUT_MS = 10_000

_axe = Axe()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = need_chromium()
    # Playwright's sync API keeps an asyncio loop running on this thread while it is
    # started, so Django refuses ORM calls from the test body unless told it is safe.
    # It is: that loop only runs while a Playwright call blocks the test, never alongside
    # an ORM call. Set for exactly as long as Playwright runs.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
            # With a loop running, Django keeps this thread's database connections apart
            # from the ones it had before (asgiref treats the thread as async). Close them
            # while that is still so: left open, they block dropping the PostgreSQL test
            # database at the end of the session.
            connections.close_all()


@pytest.fixture
def console_allowlist() -> list[re.Pattern[str]]:
    """Console errors the test expects, as patterns it appends (for example the 400 answer
    to a form sent back with its errors, which Chromium logs as a failed resource)."""
    return []


@pytest.fixture
def page(
    browser: Browser, live_server: Any, console_allowlist: list[re.Pattern[str]]
) -> Iterator[Page]:
    """A page in a fresh context whose relative URLs go to the live server.

    Console errors (a failed request, a CSP violation, a script error) fail the test, unless
    they match a pattern in ``console_allowlist``.
    """
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # Chromium asks for /favicon.ico on its own; the portal has none (a plain 404).
        source = urlsplit(message.location.get("url", "")).path
        if message.type == "error" and source != "/favicon.ico":
            errors.append(f"{page.url}: {message.text} ({source or 'page'})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    yield page
    context.close()
    errors = [e for e in errors if not any(p.search(e) for p in console_allowlist)]
    assert not errors, "errors in the browser console:\n" + "\n".join(errors)


def axe_check(page: Page) -> None:
    """Run axe (WCAG 2.0/2.1 level A and AA rules) on the page and assert no violations."""
    results = _axe.run(
        page,
        options={
            "runOnly": {"type": "tag", "values": WCAG_TAGS},
            "resultTypes": ["violations"],
        },
    )
    violations = results.response["violations"]
    if violations:
        lines = [f"{len(violations)} axe violation(s) on {page.url}:"]
        for violation in violations:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
            for node in violation["nodes"]:
                target = " ".join(str(part) for part in node["target"])
                lines.append(f"    {target}: {node.get('failureSummary', '')}".rstrip())
        report = "\n".join(lines)
        print(report)
        pytest.fail(report, pytrace=False)
    assert results.response["passes"], f"axe checked no WCAG rule on {page.url}"


def assert_styled(page: Page) -> None:
    """The page's stylesheets loaded: Bootstrap's rules apply (color contrast depends on it)."""
    sheets = page.evaluate(
        """() => [...document.styleSheets].map(s => ({href: s.href, rules: s.cssRules.length}))"""
    )
    by_name = {os.path.basename(sheet["href"] or ""): sheet["rules"] for sheet in sheets}
    assert by_name.get("bootstrap.min.css", 0) > 100, sheets
    assert by_name.get("site.css", 0) > 0, sheets
    # Bootstrap's reboot sets the body font; unstyled Chromium would use Times.
    font = page.evaluate("() => getComputedStyle(document.body).fontFamily")
    assert "system-ui" in font, font


@pytest.fixture
def browser_s3(s3_storage: dict[str, Any], settings: Any, live_server: Any) -> dict[str, Any]:
    """``s3_storage`` (a fresh moto bucket as default storage, so pages show the large-file
    uploader) set up for the browser to PUT parts to it, as in production: the endpoint's
    origin in the CSP's connect-src (base.py adds it only from the environment at import
    time), and the bucket's CORS allowing the live server (``s3_configure_bucket``)."""
    parts = urlsplit(s3_storage["endpoint"])
    settings.SECURE_CSP = {
        **settings.SECURE_CSP,
        "connect-src": [*settings.SECURE_CSP["connect-src"], f"{parts.scheme}://{parts.netloc}"],
    }
    settings.SITE_URL = live_server.url
    call_command("s3_configure_bucket", stdout=io.StringIO())
    cors = s3_storage["client"].get_bucket_cors(Bucket=s3_storage["bucket"])["CORSRules"]
    assert cors[0]["AllowedOrigins"] == [live_server.url], cors
    return s3_storage


def signed_in(page: Page, live_server: Any, user: Any) -> None:
    """Start the browser signed in as ``user`` (signing in itself is tested in test_portal)."""
    from django.conf import settings
    from django.test import Client

    from tests.conftest import login

    client = login(Client(), user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
