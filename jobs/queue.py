"""Enqueueing: RQ on Redis when REDIS_URL is set, otherwise the same function runs in-process."""
from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass

from flask import current_app

from backoffice.extensions import db
from models.clock import utcnow
from models.task import FAILED, FINISHED, QUEUED, RUNNING, BackgroundTask

log = logging.getLogger(__name__)


@dataclass
class EnqueuedJob:
    id: str
    in_process: bool
    status: str


def redis_connection():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    from redis import Redis

    return Redis.from_url(url)


def get_queue(name: str = "default"):
    """The RQ queue, or None in embedded mode."""
    connection = redis_connection()
    if connection is None:
        return None
    from rq import Queue

    return Queue(name, connection=connection)


def enqueue(func, *args, job_id: str | None = None, queue: str = "default", retry=None,
            job_timeout: int = 3600, **kwargs) -> EnqueuedJob:
    """Run ``func(*args, **kwargs)`` as a job. A deterministic ``job_id`` makes asking twice a no-op
    while the first one is queued or running."""
    q = get_queue(queue)
    if q is None:
        try:
            func(*args, **kwargs)
            status = FINISHED
        except Exception:  # the task row (if any) carries the failure; the request goes on
            log.exception("in-process job %s failed", job_id or func.__name__)
            db.session.rollback()
            status = FAILED
        return EnqueuedJob(id=job_id or func.__name__, in_process=True, status=status)
    if job_id:
        from rq.job import Job, JobStatus
        from rq.exceptions import NoSuchJobError

        try:
            existing = Job.fetch(job_id, connection=q.connection)
            if existing.get_status() in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED,
                                         JobStatus.SCHEDULED):
                return EnqueuedJob(id=job_id, in_process=False, status=str(existing.get_status()))
        except NoSuchJobError:
            pass
    job = q.enqueue(func, *args, job_id=job_id, retry=retry, job_timeout=job_timeout, **kwargs)
    return EnqueuedJob(id=job.id, in_process=False, status=QUEUED)


def task_started(task_id: str, total: int = 0) -> BackgroundTask | None:
    task = db.session.get(BackgroundTask, task_id)
    if task is not None:
        task.status, task.total, task.progress, task.message = RUNNING, total, 0, None
        db.session.commit()
    return task


def task_progress(task_id: str, progress: int, total: int | None = None) -> None:
    task = db.session.get(BackgroundTask, task_id)
    if task is not None:
        task.progress = progress
        if total is not None:
            task.total = total
        db.session.commit()


def task_finished(task_id: str, result_path: str | None = None, message: str | None = None) -> None:
    task = db.session.get(BackgroundTask, task_id)
    if task is not None:
        task.status, task.finished_at = FINISHED, utcnow()
        task.progress = task.total or task.progress
        task.result_path, task.message = result_path, message
        db.session.commit()


def task_failed(task_id: str, message: str) -> None:
    db.session.rollback()
    task = db.session.get(BackgroundTask, task_id)
    if task is not None:
        task.status, task.finished_at, task.message = FAILED, utcnow(), message[:2000]
        db.session.commit()


def run_as_task(task_id: str, func, *args, **kwargs):
    """Wrap a job body so that its task row says running / finished / failed (with the reason)."""
    task_started(task_id)
    try:
        result = func(*args, **kwargs)
    except Exception as exc:
        task_failed(task_id, f"{type(exc).__name__}: {exc}")
        log.error("task %s failed\n%s", task_id, traceback.format_exc())
        raise
    return result


def create_task(task_id: str, kind: str, description: str, user_id=None, concession_id=None) -> BackgroundTask:
    """Create (or reset a failed) task row; an existing queued/running/finished one is returned as is."""
    task = db.session.get(BackgroundTask, task_id)
    if task is None:
        task = BackgroundTask(id=task_id, kind=kind, description=description, user_id=user_id,
                              concession_id=concession_id, status=QUEUED)
        db.session.add(task)
    elif task.status == FAILED:
        task.status, task.progress, task.message, task.finished_at = QUEUED, 0, None, None
    db.session.commit()
    return task
