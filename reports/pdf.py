"""The PDF engine: HTML parts rendered by WeasyPrint, merged, then numbered "Page N / M".

Why parts: WeasyPrint's slow case is one long table spread over many pages (≈5 s for 1,000 rows).
A report is cut into independent HTML documents ("parts": the cover and summary, then each medium's
tables in slices of whole pages), rendered side by side in forked processes when there are several, merged
with pypdf, and only then numbered: the numbers are drawn by a cheap overlay document of M empty pages
(``@page`` margin boxes with ``counter(page)`` / ``counter(pages)``) stamped on the merged pages. So
"Page N / M" is right across parts whatever their lengths.

Safety: every part is rendered with ``reports.fetcher`` (``data:`` and the static folder only), from
HTML built by autoescaping Jinja templates; and within a time limit (see ``render_parts``).
"""
from __future__ import annotations

import gc
import io
import logging
import os
import signal
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

DEFAULT_TIME_LIMIT = 300  # seconds for a whole report; a 5,000-vehicle bilan takes ~10 s


class RenderTimeout(Exception):
    """The render went past its time limit and was stopped."""


@dataclass
class RenderResult:
    pdf: bytes
    pages: int
    refused: list[str] = field(default_factory=list)  # URLs the fetcher refused (should stay empty)
    asked: list[str] = field(default_factory=list)    # every URL the documents asked for


def chunked(rows, size: int):
    """``rows`` cut in lists of at most ``size``."""
    rows = list(rows)
    return [rows[i:i + size] for i in range(0, len(rows), size)] or [[]]


# The user-agent stylesheet of the reports: only the elements our print templates use. WeasyPrint's
# HTML5 one (250 rules, bookmarks on headings...) costs ~20 % of a long table's render in selector
# matching alone. User text is escaped, so no other element can appear in a report.
REPORT_UA_CSS = """
head, style, title, meta, link, script { display: none }
html, body, div, h1, h2, h3, h4, p { display: block }
p { margin: 1em 0 }
table { display: table; box-sizing: border-box; border-spacing: 2px; border-collapse: separate; text-indent: 0 }
thead { display: table-header-group; vertical-align: middle }
tbody { display: table-row-group; vertical-align: middle }
tr { display: table-row; vertical-align: inherit }
td, th { display: table-cell; vertical-align: inherit; padding: 1px }
colgroup { display: table-column-group } col { display: table-column }
th, strong, b, h1, h2, h3, h4 { font-weight: bold }
em, i { font-style: italic }
"""
_cache: dict = {}  # per process: the UA stylesheet, the font configuration, the HTML class


def _weasy():
    """WeasyPrint objects built once per process (imported late: the import costs seconds)."""
    if "html" not in _cache:
        from weasyprint import CSS, HTML
        from weasyprint.text.fonts import FontConfiguration

        font_config = FontConfiguration()
        ua = CSS(string=REPORT_UA_CSS, font_config=font_config)

        class ReportHTML(HTML):
            def _ua_stylesheets(self, forms=False):
                return [ua]

        _cache.update(html=ReportHTML, font_config=font_config)
    return _cache["html"], _cache["font_config"]


def _warm_up(static_folder: str) -> None:
    """Render a tiny document once per process: font configuration, Pango/HarfBuzz caches."""
    if not _cache.get("warm"):
        _render_one("<html><body><table><tr><td>Àé 0</td></tr></table></body></html>", static_folder)
        _cache["warm"] = True


def _render_one(html: str, static_folder: str) -> tuple[bytes, int, list[str], list[str]]:
    """Render one HTML part to PDF bytes (runs in a worker process or in-process)."""
    from .fetcher import make_fetcher

    report_html, font_config = _weasy()
    fetcher = make_fetcher(static_folder)
    base_url = "file://" + os.path.realpath(static_folder) + "/"
    document = report_html(string=html, base_url=base_url, url_fetcher=fetcher).render(font_config=font_config)
    return document.write_pdf(), len(document.pages), fetcher.refused, fetcher.asked


OVERLAY_CSS = """
@page { size: A4; margin: 12mm 10mm 14mm 10mm;
  @bottom-right { content: "Page " counter(page) " / TOTAL";
                  font-family: "DejaVu Sans", sans-serif; font-size: 7.5pt; color: #333;
                  vertical-align: top; padding-top: 3mm; } }
body { margin: 0; }
div { break-after: page; height: 1px; }
div:last-child { break-after: auto; }
"""


def _page_numbers_overlay(pages: int, static_folder: str) -> bytes:
    """M empty A4 pages carrying only "Page N / M" in their bottom margin."""
    # The total is written as a literal: counter(pages) makes WeasyPrint lay every page out twice.
    css = OVERLAY_CSS.replace("TOTAL", str(int(pages)))
    html = f"<html><head><style>{css}</style></head><body>{'<div></div>' * pages}</body></html>"
    return _render_one(html, static_folder)[0]


def _merge_and_number(pdfs: list[bytes], static_folder: str, title: str | None) -> tuple[bytes, int]:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for data in pdfs:
        for page in PdfReader(io.BytesIO(data)).pages:
            writer.add_page(page)
    total = len(writer.pages)
    overlay = PdfReader(io.BytesIO(_page_numbers_overlay(total, static_folder)))
    for page, numbers in zip(writer.pages, overlay.pages):
        page.merge_page(numbers)
    if title:
        writer.add_metadata({"/Title": title, "/Creator": "Backoffice VO"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), total


class _Alarm:
    """SIGALRM-based time limit, only possible in the main thread (RQ work horse, CLI)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.active = (threading.current_thread() is threading.main_thread()
                       and hasattr(signal, "setitimer") and seconds > 0)

    def _raise(self, signum, frame):
        self.fired = True
        raise RenderTimeout(f"rendu interrompu après {self.seconds:.0f} s")

    def __enter__(self):
        self.fired = False
        if self.active:
            self.previous = signal.signal(signal.SIGALRM, self._raise)
            self.started = time.monotonic()
            # RQ's work horse times its job out with the same timer: keep the sooner deadline, and give
            # RQ its remaining time back afterwards.
            self.outer, _interval = signal.getitimer(signal.ITIMER_REAL)
            seconds = min(self.seconds, self.outer) if self.outer > 0 else self.seconds
            # Re-armed every 0.5 s: an exception raised inside a finaliser (__del__) is swallowed by
            # Python, the next one lands in the render.
            signal.setitimer(signal.ITIMER_REAL, seconds, 0.5)
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
            if self.outer > 0:
                signal.setitimer(signal.ITIMER_REAL, max(self.outer - (time.monotonic() - self.started), 0.001))
        if self.fired and exc_type is None:
            raise RenderTimeout(f"rendu interrompu après {self.seconds:.0f} s")
        return False


def render_parts(parts: list[str], *, static_folder: str, title: str | None = None,
                 time_limit: float = DEFAULT_TIME_LIMIT, processes: int | None = None,
                 progress=None) -> RenderResult:
    """Render HTML ``parts`` into one numbered PDF within ``time_limit`` seconds.

    Several parts and ``processes`` > 1, from the main thread (RQ work horse, CLI): rendered in forked
    worker processes, killed on timeout. Otherwise in-process, under SIGALRM in the main thread, else
    (a web server thread in embedded mode) with the limit checked between parts.
    ``progress(done, total)`` is called as parts complete.
    """
    started = time.monotonic()
    deadline = started + time_limit
    processes = processes if processes is not None else (os.cpu_count() or 1)
    total_parts = len(parts)
    results: list = [None] * total_parts

    # Forking is only safe from the main thread: in a threaded web server (embedded mode, no Redis),
    # another thread may hold a lock (logging, a connection pool) that the child would inherit locked.
    in_main_thread = threading.current_thread() is threading.main_thread()
    if total_parts > 1 and processes > 1 and in_main_thread:
        import multiprocessing

        _warm_up(static_folder)  # children inherit the warmed fonts and caches through fork
        # Objects the parent already has are moved out of the collector's reach, so that the children's
        # collections do not write to (and copy) every inherited page.
        gc.collect()
        gc.freeze()
        executor = ProcessPoolExecutor(max_workers=min(processes, total_parts),
                                       mp_context=multiprocessing.get_context("fork"))
        try:
            futures = {executor.submit(_render_one, html, static_folder): i for i, html in enumerate(parts)}
            pending = set(futures)
            while pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RenderTimeout(f"rendu interrompu après {time_limit:.0f} s")
                done, pending = wait(pending, timeout=remaining, return_when=FIRST_EXCEPTION)
                for future in done:
                    results[futures[future]] = future.result()
                if progress:
                    progress(sum(r is not None for r in results), total_parts)
        except BaseException:
            for process in list(getattr(executor, "_processes", {}).values()):
                process.kill()  # a render stuck in a child must not outlive the job
            executor.shutdown(wait=False, cancel_futures=True)
            gc.unfreeze()
            raise
        executor.shutdown(wait=True)
        gc.unfreeze()
    else:
        with _Alarm(time_limit):
            for i, html in enumerate(parts):
                if time.monotonic() > deadline:
                    raise RenderTimeout(f"rendu interrompu après {time_limit:.0f} s")
                results[i] = _render_one(html, static_folder)
                if progress:
                    progress(i + 1, total_parts)

    with _Alarm(max(deadline - time.monotonic(), 0.001)):
        pdf, pages = _merge_and_number([r[0] for r in results], static_folder, title)
    refused = [url for r in results for url in r[2]]
    asked = [url for r in results for url in r[3]]
    log.info("PDF rendered: %d parts, %d pages, %.2f s", total_parts, pages, time.monotonic() - started)
    return RenderResult(pdf=pdf, pages=pages, refused=refused, asked=asked)
