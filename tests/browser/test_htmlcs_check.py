"""The HTML_CodeSniffer half of ``axe_check``: it fails on an error, under the portal's kind
of CSP (no inline script, no eval), and ignores only the listed false positives."""

import pytest
from playwright.sync_api import Browser

from tests.browser.conftest import htmlcs_check

# As strict as the portal's: no inline script, no eval.
CSP = "<meta http-equiv='Content-Security-Policy' content=\"script-src 'self'\">"


def _check(browser: Browser, body: str) -> str:
    """Run the check on a page with ``body``; its failure report, or "" when it passed."""
    page = browser.new_page()
    try:
        page.set_content(
            f"<!doctype html><html lang='en'><head>{CSP}<title>T</title></head>"
            f"<body><main><h1>T</h1>{body}</main></body></html>"
        )
        try:
            htmlcs_check(page)
        except pytest.fail.Exception as failed:
            return str(failed)
        return ""
    finally:
        page.close()


def test_an_unlabelled_field_fails_with_its_code_and_markup(browser: Browser) -> None:
    report = _check(browser, "<form><input type='text' name='q'><button>Go</button></form>")
    assert "HTML_CodeSniffer error(s)" in report
    assert "H91.InputText.Name" in report
    assert '<input type="text" name="q">' in report


def test_only_a_listed_false_positive_is_ignored(browser: Browser) -> None:
    # Django admin's related-object link: an alt="" icon in a link named by its title.
    form = (
        "<form><label for='s'>Specialty</label><select id='s' name='s'><option>A</option>"
        "</select><a href='/x/'{title}><img src='data:,' alt=''></a><button>Save</button></form>"
    )
    assert _check(browser, form.format(title=" title='Change selected specialty'")) == ""
    # The same link with no name at all is a real error.
    assert "H30.2" in _check(browser, form.format(title=""))
