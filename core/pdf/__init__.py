"""PDF rendering for the whole project: a Django template in, a tagged PDF out (WeasyPrint).

Every PDF the portal produces (reports, receipts, superbills, statements) goes through
``render_pdf``. What it guarantees:

- **Tagged PDF.** Rendered as PDF/UA-1 (``pdf_variant="pdf/ua-1"``, which turns on
  ``pdf_tags``): the catalog carries ``/MarkInfo`` and ``/StructTreeRoot`` so screen readers
  get headings, tables and reading order. Templates must set ``<html lang>`` and
  ``<title>`` (the PDF title) and use real headings and table headers.
- **Fonts** come from the system (Debian's DejaVu through fontconfig) or from our own static
  files via ``@font-face``; never from anywhere else.
- **Resources only from our own static files.** The URL fetcher answers only URLs under
  ``STATIC_URL`` on the render's own origin, read from the static directories Django serves
  (the staticfiles finders, then ``STATIC_ROOT``), and ``data:`` URLs (bytes already in the
  document: no I/O). Everything else — ``file://``, any network address, our own non-static
  paths, path traversal — is refused and logged without the URL's query or fragment, and
  the document renders without it.
- **A time limit, in a process of its own.** Each render runs in a fresh child process,
  forked for that render alone and gone when it ends, with CPU and memory rlimits inside
  it and a wall-clock limit: when the limit passes the child is killed and the caller gets
  ``PdfRenderTimeout``. The memory limit counts the whole child, WeasyPrint and its
  libraries included (about 240 MB of address space before any document), so a limit below
  that fails every render. A child process rather than ``signal.alarm`` or a thread:
  alarms only work in the main thread (not in threaded servers or thread-pool workers), a
  thread cannot be stopped, and ``multiprocessing`` cannot start children from Celery's
  daemonic prefork workers.
- **Renderer processes.** The children are forked by a *renderer*: ``worker.py`` run through
  ``renderer.py`` as a script (``subprocess``, isolated mode, a new session) that imports
  WeasyPrint once and warms it up on a fixed document with no URLs, then for each job forks
  the child, enforces its time limit, kills it when it is exceeded, reaps it and sends back
  its PDF, its log lines and its exit status. So a render does not pay for starting an
  interpreter and importing WeasyPrint (about half a second on a quiet machine, several on a
  busy one). The renderer itself never renders a job (it only reads jobs and relays what the
  children send), so every child starts from the same warmed-up WeasyPrint, with nothing
  cached from another document. The renderer gets a minimal environment (no secrets) and
  loads neither Django nor the database. Each process that renders has its own renderers,
  used by one thread at a time: a thread that finds none idle starts one, so threads render
  side by side, and up to ``pool.IDLE_RENDERERS`` are kept for the next renders. A renderer
  found dead is replaced, and a job whose renderer died under it is sent once more to a
  fresh one within the same time limit; a process forked from one with renderers (Celery's
  prefork pool) starts its own. Renderers stop when their process exits (their channel
  closes) or calls ``stop_renderers``; a caller interrupted mid-render (a Celery soft time
  limit, for instance) kills its renderer and the child with it, never leaving one behind.
- **No request needed**: a Celery task can call ``render_pdf`` as well as a view.

The limits and their settings (``PDF_RENDER_SECONDS``, ``PDF_RENDER_SECONDS_PER_PAGE``,
``PDF_RENDER_MAX_SECONDS``, ...) are described in ``render``.

The package, by concept: ``render`` is the front (``render_pdf``, ``html_to_pdf``, the
limits, the errors it raises); ``pool`` keeps this process's warm renderers; ``worker`` is
what runs in a renderer and in the child it forks for each render; ``wire`` is what both
sides of the pipe share (framing, redaction). This file imports nothing: the renderer
process imports ``core.pdf.worker`` without Django, and so without ``render``.
"""
