"""Report PDFs: what our renderer (``core.pdf.render.html_to_pdf``, which the ``report_render``
task calls) costs next to bare WeasyPrint on the same HTML, how it grows with the report's
length, and how much memory the worker and the renderer take.

    python -m benchmarks.report_pdf [--runs 7] [--json PATH]

See "Report PDFs" in benchmarks/README.md. The issue's goals: our throughput at least 0.8 of
bare WeasyPrint's, a 40-page report at most 4.4 times a 10-page one's render time, and the
worker's peak RSS while it renders a 20-page report at most 150 MB. Missed goals are printed,
not failed: the exit status is non-zero only when something errs.

The reports are built in memory (no database): unsaved ``Case``, ``Intake``, ``Report`` and
``Answer`` objects, run through ``reports.services.report_context`` and
``templates/reports/report_pdf.html``, exactly as ``render_report_pdf`` does, with long
clinical text in every section and ten questions with long answers, each field within the
model's limits. Bare WeasyPrint runs in this process, warm, with the arguments our renderer
uses; the two are timed in alternation, so that drift of a shared machine hits both alike.
The memory figures come from a fresh process that loads Django and ``reports.tasks`` as a
Celery worker does, builds and renders the 20-page report, and reads its own peak RSS and its
renderer processes' (``getrusage``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from unittest import mock

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
SETTINGS = "benchmarks.settings"

THROUGHPUT_GOAL = 0.8  # ours ÷ bare, renders per second
GROWTH_GOAL = 4.4  # 40-page render time ÷ 10-page
RSS_GOAL_MB = 150.0  # the worker's peak while rendering a 20-page report
SIZES = (10, 20, 40)  # target page counts
DEFAULT_RUNS = 7
DEFAULT_TASK_RUNS = 3
RSS_PAGES = 20
RSS_TIMEOUT_S = 300

# --- realistic report text ----------------------------------------------------------------

_OPENINGS = (
    "On review of the imaging provided,",
    "Taken together with the laboratory trend,",
    "In the context of the family history,",
    "Compared with the outside report,",
    "Given the child's age and growth curve,",
    "Based on the biopsy slides we re-read,",
    "As discussed with the referring physician,",
    "Considering the response to the first course of treatment,",
)
_FINDINGS = (
    "the MRI of the brain and spine shows a well-circumscribed lesion without restricted "
    "diffusion or leptomeningeal enhancement",
    "the complete blood count has recovered to normal values after the second cycle, with "
    "an absolute neutrophil count above 1,500 per microlitre",
    "the echocardiogram shows preserved biventricular function and no pericardial effusion",
    "the renal function remains stable, with a creatinine appropriate for age and no "
    "proteinuria on the last two urinalyses",
    "the histology is consistent with the diagnosis given locally, and the molecular panel "
    "confirms the fusion reported by the first laboratory",
    "the growth velocity has slowed over the last twelve months, which is expected during "
    "this phase of therapy and should be monitored",
    "the hearing assessment documents a mild high-frequency loss that has not progressed",
    "the pulmonary function tests are within the normal range for height",
)
_ADVICE = (
    "we agree with the current plan and would continue it without change",
    "we would suggest repeating the study in three months rather than six",
    "we recommend a discussion at the local multidisciplinary tumour board before the next cycle",
    "we would add a baseline audiology assessment before any further platinum exposure",
    "we see no indication for surgery at this point and would favour observation",
    "we would consider referral to a centre with an open trial for this indication",
    "we recommend that dosing be reviewed against the current weight and renal function",
    "we would keep the supportive-care measures the family describes, which are appropriate",
)
_QUESTIONS = (
    "Is the diagnosis correct, and is anything missing from the work-up?",
    "Is the recommended treatment the standard of care for a child of this age?",
    "What are the risks of waiting three months before starting treatment?",
    "Are there clinical trials our child could join, here or elsewhere?",
    "What side effects should we watch for at home, and when should we call?",
    "Would surgery be an option now or later?",
    "How will this affect school, sport and development over the next year?",
    "What follow-up imaging and tests are needed, and how often?",
    "Should our other children be tested for anything?",
    "What questions should we ask our local team at the next visit?",
)


def clinical_text(rng: random.Random, chars: int) -> str:
    """Paragraphs of plausible clinical prose, about ``chars`` characters, cut at a sentence."""
    paragraphs: list[str] = []
    total = 0
    while total < chars:
        sentences = [
            f"{rng.choice(_OPENINGS)} {rng.choice(_FINDINGS)}; {rng.choice(_ADVICE)}."
            for _ in range(rng.randint(3, 6))
        ]
        paragraph = " ".join(sentences)
        paragraphs.append(paragraph)
        total += len(paragraph) + 2
    return "\n\n".join(paragraphs)[:chars].rsplit(".", 1)[0] + "."


@contextlib.contextmanager
def in_memory_answers(answers: list[Any]) -> Iterator[None]:
    """``report_context`` reads ``report.answers.order_by("position")``; an unsaved report has
    no rows to read, so serve its answers from memory for the duration."""
    from reports.models import Report

    class _Answers:
        def order_by(self, *_fields: str) -> list[Any]:
            return sorted(answers, key=lambda answer: answer.position)

    with mock.patch.object(Report, "answers", _Answers()):
        yield


def report_html(scale: float) -> str:
    """The signed report's PDF HTML, as ``render_report_pdf`` builds it, with each section and
    answer ``scale`` times a base length (capped at the model's limits)."""
    from django.template.loader import render_to_string

    from cases.models import Case
    from intake.models import Intake
    from reports.models import ANSWER_MAX_CHARS, SECTION_MAX_CHARS, SECTIONS, Answer, Report
    from reports.services import report_context

    rng = random.Random(6)  # the same text on every run
    case = Case(reference="SO-7K4M-2QXP")
    Intake(
        case=case,
        child_legal_first_name="Amelia",
        child_legal_last_name="Hernández-Okafor",
        child_date_of_birth=date(2015, 3, 14),
        physician_name="Dr. Jonathan Whitfield",
        physician_practice="Valley Pediatrics",
    )
    report = Report(
        case=case,
        kind=Report.Kind.REPORT,
        version=1,
        signed_at=datetime(2026, 5, 4, 15, 30, tzinfo=UTC),
        signed_name="Dr. Priya Raman",
        signed_credentials="MD, PhD",
        signed_title="Attending physician, Pediatric Neuro-Oncology",
        content_sha256="9f" * 32,
    )
    for name, *_ in SECTIONS:
        setattr(report, name, clinical_text(rng, min(SECTION_MAX_CHARS, int(2600 * scale))))
    answers = [
        Answer(
            report=report,
            position=position,
            question_text=question,
            text=clinical_text(rng, min(ANSWER_MAX_CHARS, int(1500 * scale))),
        )
        for position, question in enumerate(_QUESTIONS, start=1)
    ]
    with in_memory_answers(answers):
        context = report_context(report)
    return render_to_string("reports/report_pdf.html", context)


def base_url() -> str:
    from django.conf import settings

    return f"{settings.SITE_URL}/"


def bare_pdf(html: str) -> bytes:
    import weasyprint

    pdf: bytes = weasyprint.HTML(string=html, base_url=base_url()).write_pdf(
        pdf_variant="pdf/ua-1", pdf_tags=True
    )
    return pdf


def ours_pdf(html: str) -> bytes:
    from core.pdf.render import html_to_pdf

    return html_to_pdf(html, base_url=base_url())


def page_count(html: str) -> int:
    import weasyprint

    return len(weasyprint.HTML(string=html, base_url=base_url()).render().pages)


def reports_by_pages() -> dict[int, tuple[str, int, float]]:
    """For each target page count, the report HTML nearest to it, its real page count and
    the scale that made it."""
    per_scale = page_count(report_html(1.0))
    built: dict[int, tuple[str, int, float]] = {}
    for target in SIZES:
        scale = target / per_scale
        for _attempt in range(4):  # the layout is not quite linear: nudge towards the target
            html = report_html(scale)
            pages = page_count(html)
            if pages == target:
                break
            scale *= target / pages
        built[target] = (html, pages, scale)
    return built


# --- timing ------------------------------------------------------------------------------


def timed(render: Callable[[str], bytes], html: str) -> float:
    started = time.perf_counter()
    pdf = render(html)
    elapsed = time.perf_counter() - started
    if not pdf.startswith(b"%PDF-"):
        raise RuntimeError("no PDF came back")
    return elapsed


def attempt(render: Callable[[str], bytes], html: str, failures: list[str]) -> float | None:
    """``timed``, but a render our path refuses (its time limit, its memory or CPU limit)
    is recorded as a failure of this size, not the end of the benchmark: on a busy machine
    the 40-page report may hit the limit while the smaller sizes still have figures."""
    from core.pdf.errors import PdfRenderError, PdfRenderTimeout

    try:
        return timed(render, html)
    except PdfRenderTimeout as error:
        failures.append(f"time limit: {error}")
    except PdfRenderError as error:
        failures.append(f"failed: {error}")
    return None


def measure(html: str, runs: int) -> tuple[dict[str, list[float]], list[str]]:
    """Warm both paths once, then alternate them ``runs`` times (order swapped each run).
    Returns the times of the renders that made a PDF, and what the others failed with."""
    failures: list[str] = []
    timed(bare_pdf, html)
    attempt(ours_pdf, html, failures)
    times: dict[str, list[float]] = {"bare": [], "ours": []}
    for run in range(runs):
        order = ("bare", "ours") if run % 2 == 0 else ("ours", "bare")
        for name in order:
            if name == "bare":
                times[name].append(timed(bare_pdf, html))
            elif (seconds := attempt(ours_pdf, html, failures)) is not None:
                times[name].append(seconds)
    return times, failures


def summary(times: list[float]) -> dict[str, float] | None:
    if not times:
        return None
    median = statistics.median(times)
    return {
        "median_s": round(median, 4),
        "min_s": round(min(times), 4),
        "max_s": round(max(times), 4),
        "renders_per_s": round(1 / median, 3),
    }


# --- the whole task ------------------------------------------------------------------------


def task_report(scale: float) -> int:
    """A signed report of ``scale`` in the bench database, as the specialist's signing
    leaves it (a case whose report is final, its intake, the report and its answers), for
    the ``report_render`` task to render, store and deliver. Returns its id."""
    from accounts.models import Role, User
    from cases.models import Case, Status
    from intake.models import Intake, Question
    from reports.models import ANSWER_MAX_CHARS, SECTION_MAX_CHARS, SECTIONS, Answer, Report

    rng = random.Random(6)
    family, _ = User.objects.get_or_create(
        email="bench-pdf-family@example.org",
        defaults={"role": Role.FAMILY, "full_name": "Alex Benchmark"},
    )
    specialist, _ = User.objects.get_or_create(
        email="bench-pdf-specialist@example.org",
        defaults={"role": Role.SPECIALIST, "full_name": "Dr. Priya Raman"},
    )
    case = Case.objects.create(
        family=family,
        created_by=family,
        status=Status.REPORT_FINAL,
        assigned_specialist=specialist,
        physician_email="bench-pdf-physician@example.org",
    )
    Intake.objects.create(
        case=case,
        child_legal_first_name="Amelia",
        child_legal_last_name="Hernández-Okafor",
        child_date_of_birth=date(2015, 3, 14),
        physician_name="Dr. Jonathan Whitfield",
        physician_practice="Valley Pediatrics",
    )
    report = Report(
        case=case,
        author=specialist,
        kind=Report.Kind.REPORT,
        version=1,
    )
    for name, *_ in SECTIONS:
        setattr(report, name, clinical_text(rng, min(SECTION_MAX_CHARS, int(2600 * scale))))
    report.save()
    # Each answer answers one of the family's questions, as the editor leaves them.
    questions = Question.objects.bulk_create(
        Question(case=case, position=position, text=text, asked_by=family)
        for position, text in enumerate(_QUESTIONS, start=1)
    )
    Answer.objects.bulk_create(
        Answer(
            report=report,
            question=question,
            position=question.position,
            question_text=question.text,
            text=clinical_text(rng, min(ANSWER_MAX_CHARS, int(1500 * scale))),
        )
        for question in questions
    )
    # Signed last: the database refuses answers on a signed report, as signing leaves it.
    Report.objects.filter(pk=report.pk).update(
        signed_at=datetime.now(UTC),
        signed_name="Dr. Priya Raman",
        signed_credentials="MD, PhD",
        signed_title="Attending physician, Pediatric Neuro-Oncology",
        content_sha256="9f" * 32,
    )
    return report.pk


def time_task(scale: float, runs: int) -> dict[str, Any]:
    """``report_render`` end to end, as a worker runs it, on fresh signed reports: lock,
    render (our path), store the PDF in the default storage, record its hash, deliver (the
    case moves to delivered, the emails are queued). A render that hits the time limit is
    a failure of that run, as it is of the task (whose retries are not run here)."""
    from core.pdf.errors import PdfRenderError
    from reports.models import Report
    from reports.tasks import report_render

    times: list[float] = []
    failures: list[str] = []
    for _ in range(runs):
        report_id = task_report(scale)
        started = time.perf_counter()
        try:
            # The task's body without Celery's autoretry wrapper, which would queue the
            # retry; the task's own failure handling (attempts, error) still runs.
            outcome = report_render._orig_run(report_id)
        except PdfRenderError as error:
            failures.append(f"{type(error).__name__}: {error}")
            continue
        elapsed = time.perf_counter() - started
        report = Report.objects.select_related("case").get(pk=report_id)
        if outcome != "rendered" or not report.pdf or report.delivered_at is None:
            raise RuntimeError(f"report_render returned {outcome!r} without a delivered PDF")
        times.append(elapsed)
    return {"task": summary(times), "times": [round(t, 4) for t in times], "failures": failures}


# --- memory --------------------------------------------------------------------------------


def rss_worker(scale: float) -> dict[str, Any]:
    """Run in a fresh process: load what a Celery worker loads, build the report, render it
    through our path, and read the peaks: this process's own, and its renderer's and the
    render's child's."""
    import django

    django.setup()
    import config.celery_app  # noqa: F401 - the worker's app, as `celery -A config` loads it
    import reports.tasks  # noqa: F401 - the task module the worker imports
    from core.pdf import pool as pdf_pool
    from core.pdf.render import html_to_pdf

    peaks: list[int] = []

    class Peaks(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if hasattr(record, "renderer_peak_rss_kb"):
                peaks.append(record.renderer_peak_rss_kb)

    pdf_logger = logging.getLogger("core.pdf")
    pdf_logger.addHandler(Peaks(logging.DEBUG))
    pdf_logger.setLevel(logging.DEBUG)

    before_kb = vm_hwm_kb("self")
    html = report_html(scale)
    started = time.perf_counter()
    pdf = html_to_pdf(html, base_url=base_url())
    render_s = time.perf_counter() - started
    renderers = [renderer.proc.pid for renderer in pdf_pool._pool.idle]
    renderer_kbs = [kb for pid in renderers if (kb := vm_hwm_kb(str(pid))) is not None]
    renderer_kb = max(renderer_kbs, default=None)
    result = {
        "pdf_bytes": len(pdf),
        "render_s": round(render_s, 3),
        "worker_before_render_mb": mb(before_kb),
        "worker_peak_mb": mb(vm_hwm_kb("self")),
        "worker_ru_maxrss_mb": mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss),
        "renderer_peak_mb": mb(renderer_kb),
        "render_child_peak_mb": mb(max(peaks, default=None)),
    }
    pdf_pool.stop_renderers()
    result["children_ru_maxrss_mb"] = mb(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return result


def vm_hwm_kb(pid: str) -> int | None:
    """The process's peak RSS since it started its program (``ru_maxrss`` also counts the
    program it was forked from, up to the exec)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def mb(kb: int | None) -> float | None:
    return None if kb is None else round(kb / 1024, 1)


def run_rss(scale: float) -> dict[str, Any]:
    """The memory run, in a process of its own: this one has WeasyPrint loaded for the bare
    renders, which a worker does not."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS}
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.report_pdf", "--rss-worker", repr(scale)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=RSS_TIMEOUT_S,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the memory run failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# --- report --------------------------------------------------------------------------------


def format_table(results: dict[str, Any]) -> str:
    header = [
        "report",
        "pages",
        "limit s",
        "bare s",
        "ours s",
        "bare /s",
        "ours /s",
        "ours ÷ bare",
        "failed",
        "task s (range)",
    ]

    def seconds(part: dict[str, float] | None, key: str = "median_s") -> str:
        return "-" if part is None else f"{part[key]:.3f}"

    lines = []
    for row in results["sizes"]:
        task = (row.get("task") or {}).get("task")
        task_failed = len((row.get("task") or {}).get("failures", []))
        lines.append(
            [
                f"~{row['target_pages']} pages",
                str(row["pages"]),
                f"{row['time_limit_s']:g}",
                seconds(row["bare"]),
                seconds(row["ours"]),
                seconds(row["bare"], "renders_per_s"),
                seconds(row["ours"], "renders_per_s"),
                "-" if row["throughput_ratio"] is None else f"{row['throughput_ratio']:.3f}",
                f"{len(row['failures'])}" + (f" + {task_failed} task" if task_failed else ""),
                "-"
                if task is None
                else f"{task['median_s']:.2f} ({task['min_s']:.2f}-{task['max_s']:.2f})",
            ]
        )
    widths = [max(len(c) for c in col) for col in zip(header, *lines, strict=False)]
    out = []
    for i, cells in enumerate([header, *lines]):
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        out.append("  ".join([first, *rest]))
        if i == 0:
            out.append("  ".join("-" * width for width in widths))
    rss = results["memory"]
    out += [
        "",
        f"Medians of {results['runs']} alternating runs per path, after one warm-up render each.",
        "failed: renders of ours stopped by their limit (time, CPU or memory), not timed; "
        "limit s: the time limit our path gives that document.",
        "task s: report_render end to end (lock, render, store, hash, deliver), median (range); "
        "load average "
        + " → ".join(f"{results[k][0]:.1f}" for k in ("load_average_start", "load_average")),
        f"Memory, {rss['pages']}-page report, in a fresh process that loads what the worker "
        "loads (VmHWM, peak RSS since its exec):",
        f"  worker {rss['worker_before_render_mb']} MB before the render, peak "
        f"{rss['worker_peak_mb']} MB (ru_maxrss {rss['worker_ru_maxrss_mb']} MB, which also "
        "counts the benchmark process it was spawned from)",
        f"  renderer process {_mb_or_dash(rss['renderer_peak_mb'])}, the render's child "
        f"{_mb_or_dash(rss['render_child_peak_mb'])} (its RSS counts the pages it shares with "
        f"the renderer); all renderer processes' ru_maxrss {rss['children_ru_maxrss_mb']} MB",
        "",
    ]
    for goal in results["goals"]:
        verdict = "met" if goal["met"] else "NOT met"
        out.append(f"{goal['name']}: {goal['value']} (goal {goal['goal']}) — {verdict}")
    return "\n".join(out)


def _mb_or_dash(value: float | None) -> str:
    return "-" if value is None else f"{value} MB"


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    by_pages = {row["target_pages"]: row for row in results["sizes"]}
    ratios = [row["throughput_ratio"] for row in results["sizes"]]
    # A size with no successful render of ours has no ratio: the goal is then not met.
    worst = min((r for r in ratios if r is not None), default=0.0) if None not in ratios else 0.0
    ten, forty = by_pages[10]["ours"], by_pages[40]["ours"]
    growth = forty["median_s"] / ten["median_s"] if ten and forty else float("inf")
    peak = results["memory"]["worker_peak_mb"]
    return [
        {
            "name": "throughput ours ÷ bare (lowest of the sizes)",
            "value": round(worst, 3),
            "goal": f">= {THROUGHPUT_GOAL}",
            "met": worst >= THROUGHPUT_GOAL,
        },
        {
            "name": "40-page ÷ 10-page render time (ours)",
            "value": round(growth, 3),
            "goal": f"<= {GROWTH_GOAL}",
            "met": growth <= GROWTH_GOAL,
        },
        {
            "name": f"worker peak RSS, {RSS_PAGES}-page report (MB)",
            "value": peak,
            "goal": f"<= {RSS_GOAL_MB:g}",
            "met": peak <= RSS_GOAL_MB,
        },
    ]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="timed renders per path")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "report_pdf.json")
    parser.add_argument(
        "--task-runs",
        type=int,
        default=DEFAULT_TASK_RUNS,
        help="also time the whole report_render task (render, store, deliver) this many times "
        "per size, on the bench database (0: skip; default %(default)s)",
    )
    parser.add_argument("--rss-worker", type=float, metavar="SCALE", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    sys.path.insert(0, str(PROJECT_ROOT))
    if args.rss_worker:
        print(json.dumps(rss_worker(args.rss_worker)))
        return 0
    import django

    django.setup()
    # Its progress lines are INFO: one per page, for every render timed here.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    print("Building the reports…", flush=True)
    built = reports_by_pages()
    results: dict[str, Any] = {
        "schema": 1,
        "kind": "report_pdf",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "runs": args.runs,
        "sizes": [],
    }
    from core.pdf.render import render_seconds

    if args.task_runs:
        # Here, as every Django import of this module: only after main() has chosen the
        # settings and set Django up.
        from django.core.management import call_command

        from benchmarks.run import check_cache, ensure_database

        check_cache()
        ensure_database()
        call_command("migrate", interactive=False, verbosity=0)
    results["load_average_start"] = list(os.getloadavg())
    for target, (html, pages, _scale) in built.items():
        print(f"Timing ~{target} pages ({pages} pages, {len(html):,} bytes of HTML)…", flush=True)
        times, failures = measure(html, args.runs)
        bare, ours = summary(times["bare"]), summary(times["ours"])
        row: dict[str, Any] = {
            "target_pages": target,
            "pages": pages,
            "html_bytes": len(html),
            "time_limit_s": render_seconds(html),
            "bare": bare,
            "ours": ours,
            "throughput_ratio": (
                round(ours["renders_per_s"] / bare["renders_per_s"], 3) if ours and bare else None
            ),
            "times": {k: [round(t, 4) for t in v] for k, v in times.items()},
            "failures": failures,
        }
        if args.task_runs:
            print(f"  the whole report_render task, {args.task_runs} runs…", flush=True)
            row["task"] = time_task(_scale, args.task_runs)
        results["sizes"].append(row)
    print("Measuring memory in a fresh process…", flush=True)
    results["memory"] = {"pages": built[RSS_PAGES][1], **run_rss(built[RSS_PAGES][2])}
    results["goals"] = goals(results)
    results["load_average"] = list(os.getloadavg())
    print()
    print(format_table(results))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
