"""Celery tasks of the reports app. Tasks take ids, reload, and are safe to run twice."""

import contextlib
import logging
from datetime import timedelta

from celery import shared_task
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from cases.models import Case
from cases.notifications import case_email, coordinator_addresses
from core.pdf.errors import PdfRenderError
from core.pdf.render import pdf_sha256

from .delivery import physician_reminders_send, render_report_pdf, report_deliver
from .models import Report

logger = logging.getLogger(__name__)


# Renders tried before the coordinators are told and the report is left to them: the first
# try and its retries. The hourly sweep does not queue such a report again.
RENDER_TRIES = 7


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(PdfRenderError, OSError),
    retry_backoff=30,
    retry_backoff_max=10 * 60,
    max_retries=RENDER_TRIES - 1,
)
def report_render(self, report_id: int) -> str:
    """Render a signed report to PDF once, store it privately with its SHA-256, deliver it.

    The report row stays locked from the check to the commit, so a second worker (or this
    task delivered twice) waits, then finds the PDF and the delivery done: one PDF, one
    email per recipient. A failed render is retried with backoff; when retries run out the
    coordinators are told, and the case stays "report signed" until someone acts.
    """
    stored = ""
    try:
        with transaction.atomic():
            # The case first, then the report: the order every service locks them in.
            case_id = Report.objects.values_list("case_id", flat=True).get(pk=report_id)
            Case.objects.lock(case_id)
            report = Report.objects.select_for_update().select_related("case").get(pk=report_id)
            if not report.is_signed:
                return "not-signed"
            if not report.pdf:
                pdf = render_report_pdf(report)
                report.pdf.save("report.pdf", ContentFile(pdf), save=False)
                stored = report.pdf.name or ""
                report.pdf_sha256 = pdf_sha256(pdf)
                report.pdf_size = len(pdf)
                report.rendered_at = timezone.now()
                report.render_error = ""
                report.save(
                    update_fields=["pdf", "pdf_sha256", "pdf_size", "rendered_at", "render_error"]
                )
                outcome = "rendered"
            else:
                outcome = "already-rendered"
            report_deliver(report)
            return outcome
    except Exception as exc:
        if stored:  # the row rolled back: do not leave its file behind in storage
            with contextlib.suppress(Exception):
                default_storage.delete(stored)
        if not isinstance(exc, PdfRenderError | OSError):
            raise
        attempts = Report.objects.get(pk=report_id).render_attempts + 1
        Report.objects.filter(pk=report_id).update(
            render_attempts=attempts, render_error=type(exc).__name__
        )
        logger.warning("report %s render failed (%s)", report_id, type(exc).__name__)
        if self.request.retries >= self.max_retries:
            _render_gave_up(report_id)
        raise


def _render_gave_up(report_id: int) -> None:
    report = Report.objects.select_related("case").get(pk=report_id)
    case_email(
        report.case,
        "coordinator_alert",
        coordinator_addresses(),
        f"report-render-failed:{report_id}",
        what=f"The report PDF of {report.case.reference} could not be made.",
    )


@shared_task(acks_late=True)
def physician_reminders() -> int:
    return physician_reminders_send()


@shared_task(acks_late=True)
def render_sweep() -> int:
    """Signed reports with no PDF an hour later (a lost task message): queue them again.

    Not one whose renders have all failed: the coordinators were told once, and queueing it
    every hour would render (and fail) it again forever."""
    stuck = Report.objects.filter(
        signed_at__lt=timezone.now() - timedelta(hours=1),
        delivered_at__isnull=True,
        render_attempts__lt=RENDER_TRIES,
    ).values_list("pk", flat=True)
    for report_id in stuck:
        report_render.delay(report_id)
    return len(stuck)
