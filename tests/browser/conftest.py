"""Browser tests: Debian Chromium driven through Playwright against Django's live server.

One Chromium runs for the whole session; every test gets a fresh context (no cookies or
storage carried over) and page. ``axe_check(page)`` runs two engines on the page as it is
now, axe-core (WCAG 2.1 A/AA rules) and HTML_CodeSniffer (WCAG2AA standard), and fails the
test on any axe violation or any HTML_CodeSniffer error.
"""

import hashlib
import io
import json
import os
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from django.db import connections
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.conftest import csp_for
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

# HTML_CodeSniffer, vendored for the tests only (see vendor/README.md for where it came from).
HTMLCS_PATH = Path(__file__).parent / "vendor" / "HTMLCS.js"
HTMLCS_SHA256 = "bc9501382a35bff6acfc255945b1ed732fcec544cfcaeec17b5ac8d79a6c7967"
# HTML_CodeSniffer's message type for an error (2 is a warning, 3 a notice: both are
# "check this by hand" prompts, not failures).
HTMLCS_ERROR = 1
# Errors HTML_CodeSniffer reports on markup that is correct per WCAG (and that axe passes),
# each as (code suffix, a JavaScript test of the reported element, why). An error is ignored
# only when both its code and its element match. Keep this list minimal and specific.
HTMLCS_FALSE_POSITIVES: list[tuple[str, str, str]] = [
    (
        # Mounted by Stripe.js: in production an iframe from Stripe (its accessibility is
        # Stripe's, and its content is out of reach); in the tests localstripe's stand-in,
        # whose bare inputs are named only by a placeholder.
        "",
        "el => !!(el.closest && el.closest('[data-card-element]'))",
        "third-party card field (Stripe Card Element)",
    ),
    (
        # Django admin's related-object links (change/add/view): a decorative icon with
        # alt="" inside a link named by its title ("Change selected specialty"); the
        # accessible-name computation uses the title when the content gives none (F89 is not
        # met: the link has a name).
        "H30.2",
        "el => { const a = el.closest('a'); return !!(a && a.title.trim()); }",
        "icon link named by its title",
    ),
    (
        # Django admin's fieldsets (admin/includes/fieldset.html): a named one is labelled by
        # its <h2> through aria-labelledby (ARIA17), not a <legend>; an unnamed one is the
        # plain container of a form's fields, a group that needs no name.
        "H71.NoLegend",
        "el => el.matches('fieldset.module.aligned')",
        "Django admin fieldset",
    ),
    (
        "H91.Fieldset.Name",
        "el => el.matches('fieldset.module.aligned:not([aria-labelledby])')",
        "Django admin fieldset without a name",
    ),
    (
        # Django admin's changelist form when the list has no actions and no editable
        # column: it holds only the CSRF token, so there is nothing to submit.
        "H32.2",
        "el => !el.querySelector('input:not([type=hidden]), select, textarea, button')",
        "form with no control to submit",
    ),
    (
        # Django admin's changelist table: Django writes each row's first cell as a <th>
        # without scope (in Python, not a template). A simple table with one header row and
        # one header column is understood without scope (H51); axe's table rules pass.
        "H63.1",
        "el => el.id === 'result_list'",
        "Django admin changelist table",
    ),
]


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
    htmlcs_check(page)


@cache
def _htmlcs_source() -> str:
    source = HTMLCS_PATH.read_bytes()
    digest = hashlib.sha256(source).hexdigest()
    assert digest == HTMLCS_SHA256, f"{HTMLCS_PATH} is not the pinned file (sha256 {digest})"
    return source.decode()


def htmlcs_check(page: Page) -> None:
    """Run HTML_CodeSniffer's WCAG2AA standard on the page and assert it reports no error."""
    # Injected with page.evaluate, as axe is: DevTools' Runtime.evaluate is not subject to
    # the page's CSP, which refuses inline <script> (so add_script_tag(content=...) would be
    # blocked), and no CSP bypass or extra route is needed. The page keeps its real CSP.
    if not page.evaluate("() => typeof window.HTMLCS !== 'undefined'"):
        page.evaluate(_htmlcs_source() + "\n;window.HTMLCS = HTMLCS;")
    # The tests are written into the script, not passed as strings to eval(): the page's CSP
    # (no 'unsafe-eval') would refuse eval.
    tests = ", ".join(f"[{json.dumps(code)}, {test}]" for code, test, _ in HTMLCS_FALSE_POSITIVES)
    messages = page.evaluate(
        """errorType => new Promise((resolve, reject) => {
            const tests = [/* tests */];
            HTMLCS.process('WCAG2AA', document, () => resolve(
                HTMLCS.getMessages().filter(m => m.type === errorType).map(m => ({
                    code: m.code,
                    msg: m.msg,
                    html: m.element && m.element.outerHTML !== undefined
                        ? m.element.outerHTML.slice(0, 300)
                        : String(m.element && m.element.nodeName),
                    ignored: !!m.element && m.element.nodeType === 1 && tests.some(
                        ([code, test]) => m.code.endsWith(code) && test(m.element)
                    ),
                }))
            ), reject, 'en');
        })""".replace("/* tests */", tests),
        HTMLCS_ERROR,
    )
    errors = [m for m in messages if not m["ignored"]]
    if errors:
        lines = [f"{len(errors)} HTML_CodeSniffer error(s) on {page.url}:"]
        for error in errors:
            lines.append(f"- {error['code']}: {error['msg']}")
            lines.append(f"    {error['html']}")
        report = "\n".join(lines)
        print(report)
        pytest.fail(report, pytrace=False)


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
    origin in the CSP's connect-src (base.py builds the policy from the environment at
    import time), and the bucket's CORS allowing the live server (``s3_configure_bucket``)."""
    settings.AWS_S3_ENDPOINT_URL = s3_storage["endpoint"]
    settings.SECURE_CSP = csp_for(settings)
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
