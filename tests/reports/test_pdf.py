"""The PDF renderer: tagged output, page numbers, only our own static files, a time limit."""

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import pytest

from core.pdf import pool
from core.pdf.errors import PdfRenderError, PdfRenderTimeout
from core.pdf.pool import stop_renderers
from core.pdf.render import html_to_pdf, pdf_sha256, render_pdf
from core.pdf.wire import redact
from core.pdf.worker import static_file_for
from tests.pdfs import PASSWD_MARKER, inflated, pdf_text

# Pure functions: no database (tests/conftest.py would otherwise give every test one).
pytestmark = pytest.mark.no_db


def page(body: str, head: str = "", title: str = "Test document") -> str:
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{title}</title>
<style>
  @page {{ size: Letter; margin: 2cm;
    @bottom-right {{ content: "Page " counter(page) " of " counter(pages); }} }}
  html {{ font-family: "DejaVu Sans", sans-serif; }}
  .next {{ break-before: page; }}
</style>{head}</head><body>{body}</body></html>"""


def test_the_recorder_does_record(recorder: tuple[str, list[str]]) -> None:
    """The control for the test below: a real fetch of the server is counted."""
    origin, hits = recorder
    with urllib.request.urlopen(f"{origin}/control.css", timeout=5) as response:
        assert response.status == 200
    assert hits == ["/control.css"]


@pytest.mark.parametrize("renderer", ["new", "reused"])
def test_nothing_outside_our_static_files_is_fetched(
    renderer: str, recorder: tuple[str, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    """Through a renderer started for this render, and through one that rendered before."""
    stop_renderers()
    if renderer == "reused":
        html_to_pdf(page("<p>An earlier render</p>"))
        assert idle_renderer_pids()
    origin, hits = recorder
    hostile_head = f"""
      <link rel="stylesheet" href="{origin}/linked.css?token=SECRET-LINK">
      <link rel="stylesheet" href="file:///etc/passwd">
      <link rel="attachment" href="file:///etc/passwd" title="passwd">
      <link rel="attachment" href="{origin}/attachment.bin">
      <style>
        @import url({origin}/imported.css?token=SECRET-IMPORT);
        @import url("file:///etc/passwd");
        @font-face {{ font-family: Remote; src: url({origin}/font.ttf); }}
        .bg {{ background-image: url({origin}/background.png); }}
      </style>"""
    hostile_body = f"""
      <h1>Hostile references</h1>
      <p class="bg" style="font-family: Remote">Nothing below may be fetched.</p>
      <img src="file:///etc/passwd" alt="passwd">
      <img src="http://127.0.0.1:9/x.png" alt="discard port">
      <img src="{origin}/x.png?token=SECRET-IMG#frag" alt="recorder">
      <img src="{origin}/static/css/site.css" alt="another origin's static path">
      <img src="/static/../../../../etc/passwd" alt="traversal">
      <img src="/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd" alt="encoded traversal">
      <img src="/admin/" alt="our own non-static path">
      <object data="file:///etc/passwd" type="text/plain">fallback</object>
      <svg width="10" height="10"><image href="{origin}/svg.png" width="10" height="10"/></svg>"""
    caplog.set_level("WARNING", logger="core.pdf")

    pdf = html_to_pdf(page(hostile_body, head=hostile_head))

    assert pdf.startswith(b"%PDF-")
    assert hits == []
    text = pdf_text(pdf)
    assert "Hostile references" in text
    assert PASSWD_MARKER not in text
    assert PASSWD_MARKER.encode() not in inflated(pdf)
    refused = [r.getMessage() for r in caplog.records if "refused to fetch" in r.getMessage()]
    assert any("file:///etc/passwd" in m for m in refused)
    assert any(f"{origin}/x.png" in m for m in refused)
    assert any(f"{origin}/imported.css" in m for m in refused)
    assert "SECRET" not in caplog.text  # queries (where tokens live) never reach the log
    assert "frag" not in caplog.text


def test_our_static_files_are_embedded(settings: Any, tmp_path: Path) -> None:
    from PIL import Image

    static = tmp_path / "static"
    static.mkdir()
    Image.new("RGB", (40, 20), (29, 79, 145)).save(static / "logo.png")
    (static / "doc.css").write_text('.stamp::before { content: "STYLED BY STATIC CSS"; }')
    settings.STATICFILES_DIRS = [*settings.STATICFILES_DIRS, ("pdftest", str(static))]
    body = """<p class="stamp"></p>
      <p class="text-uppercase">bootstrap applied</p>
      <img src="/static/pdftest/logo.png" alt="Hospital logo">"""
    head = """<link rel="stylesheet" href="/static/pdftest/doc.css">
      <link rel="stylesheet" href="/static/vendor/bootstrap/css/bootstrap.min.css">"""

    pdf = html_to_pdf(page(body, head=head))

    text = pdf_text(pdf)
    assert "STYLED BY STATIC CSS" in text  # our CSS, by prefix, from a static directory
    assert "BOOTSTRAP APPLIED" in text  # the project's vendored Bootstrap (another prefix)
    assert b"/Subtype /Image" in inflated(pdf)  # the logo is embedded


def test_static_urls_are_confined_to_the_static_directories(tmp_path: Path) -> None:
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"x")
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "link.png").symlink_to(outside)
    roots = [("", str(tmp_path / "static"))]
    base = "https://portal.example/static/"
    assert static_file_for(f"{base}link.png", base, roots) is None  # symlink out of the root
    (tmp_path / "static" / "ok.css").write_text("p {}")
    assert static_file_for(f"{base}ok.css", base, roots) == (tmp_path / "static/ok.css")
    assert static_file_for(f"{base}ok.css?v=1", base, roots) is not None
    for url in (
        "https://other.example/static/ok.css",
        "http://portal.example/static/ok.css",
        "https://portal.example/media/ok.css",
        f"{base}../static/ok.css",
        f"{base}%2e%2e/static/ok.css",
        f"{base}sub\\..\\ok.css",
        f"{base}",
        "file:///etc/passwd",
    ):
        assert static_file_for(url, base, roots) is None, url


def test_page_x_of_y_through_a_template(settings: Any, tmp_path: Path) -> None:
    templates = tmp_path / "templates" / "pdftest"
    templates.mkdir(parents=True)
    (templates / "two_pages.html").write_text(
        page("<h1>{{ heading }}</h1><p>First page.</p><h2 class='next'>Second</h2><p>More.</p>")
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path / "templates", *settings.TEMPLATES[0]["DIRS"]]}
    ]

    pdf = render_pdf(template="pdftest/two_pages.html", context={"heading": "Counted pages"})

    text = pdf_text(pdf)
    assert "Counted pages" in text
    assert "Page 1 of 2" in text and "Page 2 of 2" in text


def test_the_pdf_is_tagged() -> None:
    pdf = html_to_pdf(page("<h1>Tagged</h1><table><tr><th>A</th><td>1</td></tr></table>"))
    raw = inflated(pdf)
    assert b"/StructTreeRoot" in raw
    assert b"/MarkInfo" in raw
    assert b"/Lang" in raw
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
        assert re.search(rb"Tagged:\s+yes", info.stdout)


def test_a_pathological_render_is_stopped_by_the_time_limit() -> None:
    html_to_pdf(page("<p>Warm</p>"))
    (renderer,) = idle_renderer_pids()
    rows = "".join(f"<tr><td>{i}</td><td>{'cell ' * 20}</td></tr>" for i in range(40_000))
    started = time.monotonic()
    with pytest.raises(PdfRenderTimeout, match=r"took longer than 1 s and was stopped"):
        html_to_pdf(page(f"<table>{rows}</table>"), timeout=1)
    assert time.monotonic() - started < 10
    # The child was killed, not the renderer: it serves the next render.
    assert idle_renderer_pids() == [renderer]
    assert group_ends(renderer, but=renderer)
    assert "Next" in pdf_text(html_to_pdf(page("<p>Next</p>")))


def test_a_render_that_fails_raises_a_clear_error(settings: Any) -> None:
    settings.PDF_RENDER_MEMORY_MB = 40  # less than the renderer itself takes
    with pytest.raises(PdfRenderError, match="The PDF render failed: MemoryError"):
        html_to_pdf(page("<p>Hello</p>"))
    settings.PDF_RENDER_MEMORY_MB = 1024
    assert html_to_pdf(page("<p>Hello</p>")).startswith(b"%PDF-")


def test_it_renders_outside_the_main_thread_and_hashes_stably() -> None:
    """No signal handlers: a Celery thread pool or a threaded server can render too."""
    results: list[bytes] = []
    thread = threading.Thread(target=lambda: results.append(html_to_pdf(page("<p>Hi</p>"))))
    thread.start()
    thread.join(60)
    assert results and results[0].startswith(b"%PDF-")
    again = html_to_pdf(page("<p>Hi</p>"))
    assert pdf_sha256(results[0]) == pdf_sha256(again)
    assert re.fullmatch(r"[0-9a-f]{64}", pdf_sha256(again))


# --- the renderer processes -------------------------------------------------------------

SLOW_BODY = "<table>" + "".join(f"<tr><td>{i}</td><td>{'w ' * 30}</td></tr>" for i in range(400))


def idle_renderer_pids() -> list[int]:
    return [renderer.proc.pid for renderer in pool._pool.idle]


def process_group(pgid: int) -> list[int]:
    """The live (not zombie) processes in a process group."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def group_ends(pgid: int, *, but: int | None = None) -> bool:
    """Whether the process group has no live member (``but`` aside) within a few seconds: a
    killed process takes a moment to exit."""
    for _ in range(500):
        if [pid for pid in process_group(pgid) if pid != but] == []:
            return True
        time.sleep(0.01)
    return False


def wait_gone(pid: int) -> None:
    for _ in range(500):
        try:
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if not process_group(pid):
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} is still running")


def test_the_renderer_is_isolated_and_holds_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    stop_renderers()
    monkeypatch.setenv("DATABASE_URL", "postgres://user:SECRET@db/x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "SECRET")
    html_to_pdf(page("<p>Hi</p>"))
    (pid,) = idle_renderer_pids()
    environ = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
    names = {line.split("=", 1)[0] for line in environ if line}
    allowed = {"PATH", "HOME", "TMPDIR", "FONTCONFIG_FILE", "FONTCONFIG_PATH", "XDG_CACHE_HOME"}
    assert names <= allowed | {"LANG", "LC_ALL"}
    assert os.getsid(pid) == pid  # a session (and process group) of its own
    stop_renderers()
    assert group_ends(pid)


def test_a_killed_renderer_is_replaced_transparently() -> None:
    html_to_pdf(page("<p>First</p>"))
    (old,) = idle_renderer_pids()
    os.kill(old, signal.SIGKILL)
    wait_gone(old)

    assert "Second" in pdf_text(html_to_pdf(page("<p>Second</p>")))
    (new,) = idle_renderer_pids()
    assert new != old


def test_a_renderer_killed_mid_render_is_replaced_and_the_render_completes() -> None:
    stop_renderers()
    html_to_pdf(page("<p>Warm</p>"))
    (old,) = idle_renderer_pids()
    killer = threading.Timer(0.5, os.kill, (old, signal.SIGKILL))
    killer.start()
    try:
        pdf = html_to_pdf(page(f"<h1>Survived</h1>{SLOW_BODY}"), timeout=120)
    finally:
        killer.cancel()
    assert "Survived" in pdf_text(pdf)
    assert old not in idle_renderer_pids()
    assert group_ends(old)  # its orphaned child was killed with it


def test_an_interrupted_caller_leaves_no_renderer_behind() -> None:
    """As a Celery soft time limit does: an exception raised by a signal handler while the
    caller waits for the PDF."""

    class Interrupted(Exception):
        pass

    def interrupt(signum: int, frame: Any) -> None:
        raise Interrupted

    stop_renderers()
    html_to_pdf(page("<p>Warm</p>"))
    (pid,) = idle_renderer_pids()
    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        with pytest.raises(Interrupted):
            html_to_pdf(page(SLOW_BODY), timeout=120)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert group_ends(pid)  # the renderer and the child it was running
    assert idle_renderer_pids() == []
    assert html_to_pdf(page("<p>Again</p>")).startswith(b"%PDF-")


def test_threads_render_side_by_side() -> None:
    stop_renderers()
    results: dict[int, bytes] = {}
    errors: list[BaseException] = []

    def render(n: int) -> None:
        try:
            results[n] = html_to_pdf(page(f"<h1>Document {n}</h1>"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=render, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    for n in range(4):
        text = pdf_text(results[n])
        assert f"Document {n}" in text
        assert all(f"Document {m}" not in text for m in range(4) if m != n)
    assert 1 <= len(idle_renderer_pids()) <= pool.IDLE_RENDERERS


def test_a_forked_process_starts_its_own_renderer() -> None:
    """Celery's prefork pool: a child forked from a process with renderers uses its own."""
    stop_renderers()
    html_to_pdf(page("<p>Parent</p>"))
    (parent_renderer,) = idle_renderer_pids()
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads around
        child = os.fork()
    if child == 0:  # pragma: no cover - the forked child
        status = 1
        try:
            os.close(read_end)
            pdf = html_to_pdf(page("<p>From the forked child</p>"))
            report = {"ok": pdf.startswith(b"%PDF-"), "renderers": idle_renderer_pids()}
            stop_renderers()
            os.write(write_end, json.dumps(report).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        report = json.loads(pipe.read() or b"{}")
    _pid, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert report["ok"]
    assert parent_renderer not in report["renderers"]
    assert idle_renderer_pids() == [parent_renderer]  # the parent's is untouched and in use
    assert html_to_pdf(page("<p>Parent again</p>")).startswith(b"%PDF-")
    assert idle_renderer_pids() == [parent_renderer]


def test_log_redaction() -> None:
    assert redact("at 'https://x.example/a.png?sig=abc#f'") == "at 'https://x.example/a.png?[…]'"
    assert redact("image data:image/png;base64,AAAA failed") == "image data:[…] failed"
    assert redact("Ignored `color:#fff` at 1:2") == "Ignored `color:#fff` at 1:2"
