"""The coordinator console's queue in a real browser at 1280 px: every column visible,
references on one line, the clock's colour applied from the stylesheet (the CSP refuses
inline styles, and a refused style would show as a console error), and no axe violation."""

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import User
from cases.models import Case, Status
from tests.cases.queue_helpers import due_for, intake_for
from tests.conftest import login
from tests.factories import CaseFactory

from .conftest import axe_check

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _signed_in(page: Page, live_server: Any, user: User) -> None:
    """The session of a coordinator who has passed MFA (the sign-in itself is covered by
    tests/browser/test_lifecycle.py)."""
    client = login(Client(), user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )


@pytest.fixture
def queue(family: User, specialist: User) -> list[Case]:
    now = timezone.now()
    made = []
    for n, (status, due) in enumerate(
        [
            (Status.IN_REVIEW, "overdue"),
            (Status.ASSIGNED, "at_risk"),
            (Status.IN_REVIEW, "on_track"),
            (Status.AWAITING_FAMILY_CONFIRMATION, None),
            (Status.SUBMITTED, None),
        ]
    ):
        case = CaseFactory(
            family=family,
            status=status,
            assigned_specialist=specialist if due else None,
            due_at=due_for(due) if due else None,
            submitted_at=now - timedelta(days=10 - n),
        )
        # Long names: they must wrap in their cell, not push columns off the page.
        intake_for(case, "Maximiliana-Josefina", "Featherstonehaugh-Worthington")
        made.append(case)
    return made


def test_the_queue_fits_1280_px_with_references_on_one_line(
    page: Page, live_server: Any, coordinator: User, queue: list[Case]
) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    _signed_in(page, live_server, coordinator)
    page.goto("/admin/cases/case/")
    table = page.locator("#result_list")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(len(queue))

    # No column cut off: the table needs no sideways scrolling in its box, ends before the
    # filters begin, and the page itself does not scroll sideways.
    box = page.evaluate(
        """() => {
            const results = document.querySelector('#changelist .results');
            const table = document.querySelector('#result_list').getBoundingClientRect();
            const filters = document.querySelector('#changelist-filter').getBoundingClientRect();
            return {scroll: results.scrollWidth, client: results.clientWidth,
                    right: table.right, filters: filters.left};
        }"""
    )
    assert box["scroll"] <= box["client"], box
    assert box["right"] <= box["filters"], box
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280

    # Each reference on one line: its link is laid out as a single line box.
    heights = page.evaluate(
        """() => [...document.querySelectorAll('#result_list th.field-reference a')]
            .map(a => a.getClientRects().length)"""
    )
    assert heights == [1] * len(queue), heights

    # The risk colour comes from console.css.
    at_risk = page.locator("#result_list strong.risk-at_risk")
    expect(at_risk).to_have_text("At risk")
    expect(at_risk).to_have_css("color", "rgb(138, 83, 0)")
    expect(page.locator("#result_list strong.risk-overdue")).to_have_css("color", "rgb(176, 0, 32)")
    axe_check(page)


def test_the_eligibility_list_passes_axe(page: Page, live_server: Any, coordinator: User) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    _signed_in(page, live_server, coordinator)
    page.goto("/admin/intake/stateeligibility/?all=")
    expect(page.get_by_role("checkbox", name="Service offered in California")).to_be_visible()
    axe_check(page)


def test_the_case_page_and_its_messages_pass_axe(
    page: Page, live_server: Any, coordinator: User, family: User
) -> None:
    from cases.messaging import message_post
    from cases.models import CaseMessage

    case = CaseFactory(family=family, status=Status.IN_TRIAGE)
    intake_for(case, "Ana", "Reyes")
    message_post(
        case=case, by=family, body="Is the MRI enough?", thread=CaseMessage.Thread.COORDINATOR
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    _signed_in(page, live_server, coordinator)
    page.goto(f"/admin/cases/case/{case.pk}/change/")
    page.get_by_role("link", name="status changes only").click()
    expect(page.locator("#timeline-toggle strong")).to_have_text("status changes only")
    axe_check(page)
    page.get_by_role("link", name="Messages (1 unread)").click()
    expect(page.locator(".console-message .body")).to_have_text("Is the MRI enough?")
    page.get_by_label("Your reply").fill("Yes, thank you.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("ul.messagelist li.success")).to_have_text("Reply sent.")
    expect(page.locator(".console-message .body").last).to_have_text("Yes, thank you.")
    axe_check(page)
