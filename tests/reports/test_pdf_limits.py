"""The PDF render's time limit grows with the report, up to a ceiling; a report whose renders
all failed is told to the coordinators once and not queued again every hour."""

from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.models import User
from core.models import OutboundEmail
from core.pdf.render import estimated_pages, render_seconds
from reports import services
from reports.models import Report
from reports.tasks import RENDER_TRIES, _render_gave_up, render_sweep
from tests.reports.helpers import case_in_review, fill

# About one page of the report's body text.
PAGE = "<p>" + "The echocardiogram shows a small muscular ventricular septal defect. " * 43 + "</p>"


def test_pages_are_estimated_from_the_visible_text_only() -> None:
    assert estimated_pages("<p>Short.</p>") == 1
    assert estimated_pages(PAGE * 30) == 30
    styles = "<head><style>" + "p { margin: 0 }" * 10_000 + "</style></head>"
    assert estimated_pages(styles + PAGE) == 1


def test_the_time_limit_grows_with_the_pages_up_to_the_ceiling(settings: Any) -> None:
    settings.PDF_RENDER_SECONDS = 20
    settings.PDF_RENDER_SECONDS_PER_PAGE = 1.5
    settings.PDF_RENDER_MAX_SECONDS = 120
    assert render_seconds(PAGE) == 20
    assert render_seconds(PAGE * 10) == 20  # the base limit covers ten pages
    assert render_seconds(PAGE * 30) == 20 + 1.5 * 20
    assert render_seconds(PAGE * 500) == 120  # the hard ceiling


def _given_up(family: User, specialist: User) -> Report:
    case = case_in_review(family, specialist)
    report = fill(services.report_draft_for(case=case, by=specialist), specialist)
    Report.objects.filter(pk=report.pk).update(
        signed_at=timezone.now() - timedelta(hours=2),
        render_attempts=RENDER_TRIES,
        render_error="PdfRenderTimeout",
    )
    return report


def test_a_report_that_cannot_render_is_told_once_and_not_queued_again(
    family: User, specialist: User, coordinator: User
) -> None:
    report = _given_up(family, specialist)
    _render_gave_up(report.pk)
    _render_gave_up(report.pk)  # the last retry's message delivered twice
    alerts = OutboundEmail.objects.filter(kind="coordinator_alert", case=report.case)
    assert list(alerts.values_list("to", flat=True)) == [coordinator.email]
    assert "could not be made" in alerts.get().text
    # The hourly sweep leaves it to the coordinators instead of rendering it again.
    assert render_sweep() == 0
    report.refresh_from_db()
    assert report.render_attempts == RENDER_TRIES and not report.pdf
