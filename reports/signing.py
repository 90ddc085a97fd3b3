"""Signing a report: the specialist's password or a fresh MFA code, then the report becomes
immutable (also enforced by ``Report.save`` and a PostgreSQL trigger; a correction is a new
version) and its PDF is made and delivered by a task after the signature commits.
"""

import hashlib
import json
from datetime import timedelta
from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from cases.lifecycle import case_transition, timeline_note
from cases.models import Case, Status
from cases.services import require_assigned_specialist

from .common import ReportRefused, S, lock_report
from .drafting import DraftConflict, answers_for_questions, report_problems
from .models import SECTIONS, FollowUpQuestion, Report
from .tasks import report_render

SIGN_ATTEMPTS = 5
SIGN_LOCKOUT = timedelta(minutes=15)


class ReauthFailed(ReportRefused):
    pass


def content_digest(report: Report) -> str:
    """SHA-256 over everything the signature covers, in a fixed order."""
    content: dict[str, Any] = {
        "case": report.case.reference,
        "kind": report.kind,
        "version": report.version,
        "sections": {name: getattr(report, name) for name, *_ in SECTIONS},
        "amendment_reason": report.amendment_reason,
        "answers": [
            [a.position, a.question_text, a.text] for a in report.answers.order_by("position")
        ],
        "signed": [
            report.signed_name,
            report.signed_credentials,
            report.signed_title,
            report.signed_at.isoformat() if report.signed_at else "",
        ],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _reauthenticate(by: User, *, password: str, code: str) -> str:
    """Check the specialist's password or MFA code; returns the method used. Failures are
    counted per user: after SIGN_ATTEMPTS in SIGN_LOCKOUT, signing waits."""
    key = f"report-sign-failures:{by.pk}"
    if (cache.get(key) or 0) >= SIGN_ATTEMPTS:
        raise ReauthFailed(
            "Too many attempts to confirm your identity. Wait 15 minutes and try again.",
            code="locked",
        )
    method = ""
    if code.strip():
        authenticator = Authenticator.objects.filter(user=by, type=Authenticator.Type.TOTP).first()
        if authenticator is not None and TOTP(authenticator).validate_code(code.strip()):
            method = "mfa"
    elif password and by.check_password(password):
        method = "password"
    if not method:
        try:
            cache.add(key, 0, timeout=int(SIGN_LOCKOUT.total_seconds()))
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=int(SIGN_LOCKOUT.total_seconds()))
        raise ReauthFailed(
            "That password or code is not right. Enter your password, or a current code "
            "from your authenticator app.",
            code="reauth",
        )
    cache.delete(key)
    return method


def signer_details(by: User) -> tuple[str, str, str]:
    profile = getattr(by, "specialist_profile", None)
    name = by.full_name or by.email
    credentials = profile.credentials if profile is not None else ""
    title = profile.title if profile is not None else ""
    return name, credentials, title


@transaction.atomic
def report_sign(
    *,
    report: Report,
    by: User,
    password: str = "",
    code: str = "",
    revision: int | None = None,
) -> Report:
    """Sign (finalise) the report: it becomes immutable, carries the signer's name,
    credentials and the UTC time, and its PDF is made and delivered after commit.

    ``revision`` is the draft revision the signer's page showed: checked under the lock,
    so a save from another tab in between makes the signature refused, never silently
    cover text the signer has not seen."""
    # Case first, then report: the same order as every other path (no deadlock).
    case = Case.objects.lock(report.case)
    locked = lock_report(report)
    require_assigned_specialist(by, case)
    if locked.is_signed:
        raise ReportRefused("This report is already signed.", code="signed")
    if revision is not None and revision != locked.revision:
        raise DraftConflict(locked.revision)
    first_report = locked.kind == Report.Kind.REPORT and locked.version == 1
    if first_report and case.status != S.IN_REVIEW:
        raise ReportRefused(
            f"The report cannot be signed while the request is “{Status(case.status).label}”.",
            code="wrong_state",
        )
    if not first_report and case.status != S.DELIVERED:
        raise ReportRefused(
            "A new version or an addendum can only be signed once the report is delivered.",
            code="wrong_state",
        )
    if locked.kind == Report.Kind.REPORT:
        answers_for_questions(locked)
    problems = report_problems(locked)
    if problems:
        raise ReportRefused(" ".join(problems), code="incomplete")
    method = _reauthenticate(by, password=password, code=code)
    # The wording signed is the wording asked (a coordinator may have clarified it since).
    for answer in locked.answers.select_related("question", "follow_up"):
        source = answer.question or answer.follow_up
        if source is not None and answer.question_text != source.text:
            answer.question_text = source.text
            answer.save(update_fields=["question_text"])
    locked.signed_name, locked.signed_credentials, locked.signed_title = signer_details(by)
    locked.signed_at = timezone.now()
    locked.signed_method = method
    locked.author = by
    locked.content_sha256 = content_digest(locked)
    locked.save()
    if locked.kind == Report.Kind.ADDENDUM:
        FollowUpQuestion.objects.filter(
            pk__in=locked.answers.values("follow_up_id"), answered_in__isnull=True
        ).update(answered_in=locked)
    if first_report:
        case_transition(case=case, to=S.REPORT_FINAL, by=by, note="Report signed.")
    else:
        timeline_note(case, by, f"{locked.title} signed.")
    report_id = locked.pk
    # Robust: the signature stands even if the broker is down at this moment; the render
    # sweep (reports.tasks.render_sweep) queues it again.
    transaction.on_commit(lambda: report_render.delay(report_id), robust=True)
    return locked
