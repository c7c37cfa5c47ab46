"""PDF report jobs: one BackgroundTask per (report, object, scope), so asking twice gives the same file.

Task ids: ``pdf_send-report_<run id>_<concession id|all>`` and
``pdf_campaign-summary_<campaign id>_<concession id|all>`` (underscores: RQ job ids allow only letters,
digits, ``_`` and ``-``). They are the RQ job ids too, so a second request while the first is queued or
running joins it.

"While valid": each report kind has a fingerprint of the data it prints (a send run's state and end
time; a campaign's and its offers' last changes). The file name carries the fingerprint; a finished task
whose file exists and whose fingerprint still matches is returned as is, anything else is generated again.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import tempfile

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from backoffice.extensions import db
from models.clock import utcnow
from models.task import FAILED, FINISHED, QUEUED, RUNNING, BackgroundTask

from .queue import create_task, enqueue, run_as_task, task_finished, task_progress

log = logging.getLogger(__name__)

SEND_REPORT = "send-report"
CAMPAIGN_SUMMARY = "campaign-summary"
KINDS = {SEND_REPORT: "pdf-send-report", CAMPAIGN_SUMMARY: "pdf-campaign-summary"}  # report → task kind
TASK_KINDS = tuple(KINDS.values())


class ReportError(Exception):
    """A report that cannot be produced, with the reason shown to the user (French)."""


def _time_limit() -> float:
    from reports.send_report import report_time_limit

    return report_time_limit()


def is_abandoned(task: BackgroundTask) -> bool:
    """A task queued or running for longer than any render may take: its worker died, or Redis lost the
    job. Asking again then starts it again instead of waiting forever."""
    limit = int(_time_limit())
    started = task.created_at or utcnow()
    return utcnow() - started > dt.timedelta(seconds=2 * limit + 120)


def task_id_for(report: str, object_id: int, concession_id: int | None) -> str:
    """The deterministic task (and RQ job) id of a report."""
    return f"pdf_{report}_{int(object_id)}_{'all' if concession_id is None else int(concession_id)}"


def parse_task_id(task_id: str) -> tuple[str, int, int | None]:
    """(report, object id, concession id or None) from a task id; ValueError if it is not one."""
    prefix, report, object_id, scope = task_id.split("_")
    if prefix != "pdf" or report not in KINDS:
        raise ValueError(task_id)
    return report, int(object_id), None if scope == "all" else int(scope)


# Fingerprints: what the printed data depends on ------------------------------------------------------

def fingerprint(report: str, object_id: int, concession_id: int | None) -> str:
    """A short hash of the state of the data a report prints; a new one invalidates the old file."""
    if report == SEND_REPORT:
        from models.send import SendRun

        run = db.session.get(SendRun, object_id)
        if run is None:
            raise ReportError(_("Cet envoi n'existe pas."))
        parts = [run.status, run.finished_at]
    elif report == CAMPAIGN_SUMMARY:
        from reports.campaign_summary import campaign_fingerprint

        parts = campaign_fingerprint(object_id)
    else:
        raise ValueError(report)
    parts.append(current_app.config.get("REPORT_TEMPLATE_VERSION", "1"))
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def report_queue() -> str:
    """The RQ queue of PDF jobs (REPORT_QUEUE, default "default": the plain `flask worker` takes them)."""
    return current_app.config.get("REPORT_QUEUE") or os.environ.get("REPORT_QUEUE") or "default"


def report_folder() -> str:
    folder = current_app.config.get("REPORT_FOLDER") or os.path.join(current_app.instance_path, "reports")
    os.makedirs(folder, exist_ok=True)
    return folder


def file_name(task_id: str, print_: str) -> str:
    return f"{task_id}-{print_}.pdf"


def is_valid(task: BackgroundTask | None, print_: str) -> bool:
    """A finished task whose file exists and was made from the current data."""
    return bool(task and task.status == FINISHED and task.result_path
                and os.path.basename(task.result_path).endswith(f"-{print_}.pdf")
                and os.path.isfile(task.result_path))


def describe(report: str, object_id: int, concession_id: int | None) -> str:
    from models.organisation import Concession

    scope = _("tout le réseau")
    if concession_id is not None:
        concession = db.session.get(Concession, concession_id)
        scope = concession.name if concession else str(concession_id)
    if report == SEND_REPORT:
        return _("Bilan d'envoi n° %(id)d – %(scope)s", id=object_id, scope=scope)
    return _("Synthèse de campagne n° %(id)d – %(scope)s", id=object_id, scope=scope)


# Asking for a PDF ------------------------------------------------------------------------------------

def request_pdf(report: str, object_id: int, concession_id: int | None, user_id: int | None = None
                ) -> BackgroundTask:
    """The task of this report: the valid finished one, the one under way, or a new job.

    Callers check the scope before; ``concession_id`` None is the network-wide report.
    """
    task_id = task_id_for(report, object_id, concession_id)
    print_ = fingerprint(report, object_id, concession_id)
    task = db.session.get(BackgroundTask, task_id)
    if is_valid(task, print_) or (task is not None and task.status in (QUEUED, RUNNING)
                                  and not is_abandoned(task)):
        return task
    if task is not None and task.status != FAILED:  # stale (the data changed) or abandoned: again
        task.status, task.progress, task.message, task.result_path, task.finished_at = QUEUED, 0, None, None, None
        task.created_at = utcnow()
        if user_id is not None:
            task.user_id = user_id
        db.session.commit()
    try:
        create_task(task_id, KINDS[report], describe(report, object_id, concession_id), user_id=user_id,
                    concession_id=concession_id)
    except IntegrityError:  # a second click raced this one and created the task first: join it
        db.session.rollback()
        return db.session.get(BackgroundTask, task_id)
    enqueue(build_pdf, report, object_id, concession_id, job_id=task_id, queue=report_queue(),
            job_timeout=int(_time_limit()) + 60)
    db.session.expire_all()
    return db.session.get(BackgroundTask, task_id)


def generate_send_report_pdf(run_id: int, concession_id: int | None = None) -> str:
    """Generate the bilan d'envoi PDF now, in the calling job (the nightly send calls this at its end).

    Returns the file path; the task row is the same one the pages use, so the history's link is ready.
    """
    task_id = task_id_for(SEND_REPORT, run_id, concession_id)
    print_ = fingerprint(SEND_REPORT, run_id, concession_id)
    task = db.session.get(BackgroundTask, task_id)
    if is_valid(task, print_):
        return task.result_path
    if task is not None and task.status != QUEUED:
        task.status = QUEUED
        db.session.commit()
    create_task(task_id, KINDS[SEND_REPORT], describe(SEND_REPORT, run_id, concession_id),
                concession_id=concession_id)
    build_pdf(SEND_REPORT, run_id, concession_id)
    return db.session.get(BackgroundTask, task_id).result_path


def queue_send_report_pdf(run_id: int, concession_id: int | None = None) -> str:
    """Ask for the bilan's PDF as its own job (returns the task id): what a send's last step calls when
    it should not wait for the render. A failure here never concerns the send itself."""
    try:
        return request_pdf(SEND_REPORT, run_id, concession_id).id
    except Exception:  # the send is done whatever happens to its PDF; the page can ask again
        log.exception("could not queue the PDF of send run %s", run_id)
        db.session.rollback()
        return task_id_for(SEND_REPORT, run_id, concession_id)


# The job ---------------------------------------------------------------------------------------------

def build_pdf(report: str, object_id: int, concession_id: int | None) -> str:
    """Job body: load the rows, render (progress per part), store the file, finish the task."""
    task_id = task_id_for(report, object_id, concession_id)
    return run_as_task(task_id, _build, task_id, report, object_id, concession_id)


def _build(task_id: str, report: str, object_id: int, concession_id: int | None) -> str:
    from reports.pdf import RenderTimeout

    print_ = fingerprint(report, object_id, concession_id)

    def progress(done: int, total: int) -> None:
        task_progress(task_id, done + 1, total + 1)  # +1: loading the rows was the first step

    task_progress(task_id, 0, 1)
    try:
        if report == SEND_REPORT:
            from reports.send_report import load_send_report, render_send_report

            result = render_send_report(load_send_report(object_id, concession_id), progress=progress)
        else:
            from reports.campaign_summary import load_campaign_summary, render_campaign_summary

            result = render_campaign_summary(load_campaign_summary(object_id, concession_id), progress=progress)
    except RenderTimeout as exc:
        raise ReportError(_("Le rendu du PDF a dépassé la limite de temps (%(detail)s).", detail=str(exc))) from exc
    except LookupError as exc:
        raise ReportError(_("Les données de ce rapport n'existent plus.")) from exc
    if result.refused:
        log.warning("report %s: %d resources refused", task_id, len(result.refused))
    folder = report_folder()
    path = os.path.join(folder, file_name(task_id, print_))
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
    with os.fdopen(fd, "wb") as handle:
        handle.write(result.pdf)
    os.replace(tmp, path)  # atomic: a download never sees half a file
    for name in os.listdir(folder):  # older prints of the same report
        if name.startswith(task_id + "-") and name.endswith(".pdf") and \
                os.path.join(folder, name) != path:
            try:
                os.remove(os.path.join(folder, name))
            except OSError:
                pass
    task_finished(task_id, result_path=path, message=_("%(n)d pages", n=result.pages))
    return path


def task_failed_reason(task: BackgroundTask) -> str | None:
    """The reason shown to the user for a failed task (the job stored "Type: message")."""
    if task.status != FAILED or not task.message:
        return None
    kind, _sep, detail = task.message.partition(": ")
    return detail if kind == "ReportError" and detail else task.message


# Keeping the report folder small --------------------------------------------------------------------------

DEFAULT_PDF_RETENTION_DAYS = 62
# Every send prints its bilan: without a purge the folder would grow by one PDF a night for ever.
SCHEDULE = [("jobs.reports.purge_old_pdfs", "45 3 * * *")]


def purge_old_pdfs(days: int | None = None) -> int:
    """Delete the PDFs finished more than ``REPORT_RETENTION_DAYS`` (default 62) days ago, and the
    half-written files a killed render left; returns the number of files removed.

    The task stays: asking for that report again renders it anew from the data still kept."""
    days = days if days is not None else int(current_app.config.get("REPORT_RETENTION_DAYS")
                                             or os.environ.get("REPORT_RETENTION_DAYS")
                                             or DEFAULT_PDF_RETENTION_DAYS)
    cutoff = utcnow() - dt.timedelta(days=days)
    removed = 0
    old = db.session.query(BackgroundTask).filter(BackgroundTask.result_path.isnot(None),
                                                  BackgroundTask.finished_at < cutoff)
    for task in old:
        try:
            os.remove(task.result_path)
            removed += 1
        except FileNotFoundError:
            pass
        task.result_path = None
    db.session.commit()
    folder = report_folder()
    day_ago = dt.datetime.now().timestamp() - 86400
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if name.endswith(".part") and os.path.getmtime(path) < day_ago:
            os.remove(path)
            removed += 1
    log.info("report folder: %d old files removed", removed)
    return removed
