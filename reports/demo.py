"""Demo reports for ``seed_demo``: family@ gets a delivered case with a signed report, its
PDF and an addendum answering a follow-up question; family2@ a delivered case; specialist@
a case in review with a draft. Built through the same services as the workspace, so the
signatures, PDFs, timeline and emails are real (the PDF is made by the render task: at
once under ``make run``'s eager tasks, by the worker elsewhere)."""

from django.conf import settings

from accounts.models import User
from cases import services as case_services
from cases.demo import demo_case_assign
from cases.models import Case
from intake.demo import demo_free_request_submit
from intake.models import Intake

from . import services
from .models import Report

SECTIONS_TEXT = {
    "summary": (
        "We reviewed {first}'s records and agree with the diagnosis. The treatment her "
        "doctor recommends is the one we would recommend too. Below, we answer each of your "
        "questions and explain what to watch for at home. Please go over this report with "
        "{first}'s doctor, who has a copy with more clinical detail."
    ),
    "history_reviewed": (
        "Previously healthy child with five days of fever, bilateral non-exudative "
        "conjunctivitis, cracked lips and a polymorphous rash, treated with IVIG and aspirin."
    ),
    "records_reviewed": (
        "- Discharge summary\n- Echocardiogram report (day 7)\n- Laboratory results (CBC, "
        "CRP, ESR, albumin, liver enzymes)"
    ),
    "diagnosis_assessment": (
        "The clinical criteria for complete Kawasaki disease are met. The echocardiogram "
        "shows no coronary artery aneurysm (Z-scores below 2)."
    ),
    "treatment_assessment": (
        "IVIG within ten days of fever onset with moderate-dose aspirin is appropriate. A "
        "second IVIG dose is not indicated as the fever resolved within 36 hours."
    ),
    "recommendations": (
        "Low-dose aspirin until the 6-week echocardiogram. Defer live vaccines for 11 months "
        "after IVIG."
    ),
    "next_steps": (
        "Echocardiogram at 6 weeks with the local cardiologist; return for fever over "
        "38.5 °C within the next 2 weeks."
    ),
    "clinical_trials": "",
}


# The demo's answers to the demo family's three questions (intake/demo.py), so a reader of
# the demo report sees answers that fit what was asked.
DEMO_ANSWERS = {
    "Is the recommended treatment the right choice for our child now?": (
        "Yes. The recommended treatment is appropriate now; the records support it, and the "
        "reasons are set out in the assessment above."
    ),
    "What are the risks if we wait six months?": (
        "Waiting six months is unlikely to change the outcome, but symptoms should be watched "
        "closely; the warning signs that should bring you back sooner are listed under next "
        "steps."
    ),
    "Are there other options we should ask our physician about?": (
        "Two alternatives are reasonable to discuss with your physician; they are described "
        "under recommendations, with what each would involve."
    ),
}


def _write(report: Report, by: User, first: str, *, complete: bool = True) -> Report:
    sections = {k: v.format(first=first) for k, v in SECTIONS_TEXT.items()}
    if not complete:
        sections = {k: v for k, v in sections.items() if k in ("summary", "history_reviewed")}
    answers = {
        a.position: DEMO_ANSWERS.get(
            a.question.text if a.question is not None else a.question_text,
            "Based on the records, see the assessment and recommendations above, which "
            "answer this question in full.",
        )
        for a in report.answers.select_related("question")
    }
    if not complete:
        answers = dict(list(answers.items())[:1])
    return services.draft_save(
        report=report, by=by, revision=report.revision, sections=sections, answers=answers
    )


def _delivered(case: Case, family: User, coordinator: User, specialist: User, first: str) -> None:
    demo_case_assign(case, coordinator, specialist, family)
    case_services.specialist_accept(case=case, by=specialist)
    draft = services.report_draft_for(case=case, by=specialist)
    _write(draft, specialist, first)
    services.report_sign(report=draft, by=specialist, password=settings.DEMO_PASSWORD)


def demo_reports_ensure(people: dict[str, User]) -> list[Case]:
    coordinator = people["coordinator@example.com"]
    specialist = people["specialist@example.com"]
    made: list[Case] = []
    plan = {"family@example.com": ["Noa", "Ada"], "family2@example.com": ["Kai"]}
    for email, names in plan.items():
        family = people[email]
        if Intake.objects.filter(case__family=family, child_legal_first_name=names[0]).exists():
            continue  # already seeded
        for name in names:
            case = demo_free_request_submit(family, name)
            if name == "Ada":  # in review, with a draft half written
                demo_case_assign(case, coordinator, specialist, family)
                case_services.specialist_accept(case=case, by=specialist)
                draft = services.report_draft_for(case=case, by=specialist)
                _write(draft, specialist, name, complete=False)
            else:
                _delivered(case, family, coordinator, specialist, name)
            made.append(case)
        if email == "family@example.com":
            _addendum(made[-2], family, specialist)
    return made


def _addendum(case: Case, family: User, specialist: User) -> None:
    """A follow-up question from the family, answered in a signed addendum (once the report
    is delivered: with a worker rather than eager tasks, that happens later)."""
    case.refresh_from_db()
    if case.status != "delivered":
        return
    services.follow_up_ask(
        case=case, by=family, text="Can she go back to swimming lessons, and when?"
    )
    draft = services.addendum_draft_for(case=case, by=specialist)
    services.draft_save(
        report=draft,
        by=specialist,
        revision=draft.revision,
        answers={
            a.position: "Yes, from next week, once she has had no fever for 7 days."
            for a in draft.answers.all()
        },
    )
    services.report_sign(report=draft, by=specialist, password=settings.DEMO_PASSWORD)
