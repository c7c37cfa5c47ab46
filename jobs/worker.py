"""The RQ worker of ``flask worker``: RQ's forking worker, inside the app context, except for the send.

RQ forks a work horse per job, so that a job that leaks or crashes takes nothing else with it. A
send runs one job per medium (50 a night, under a second each), and in a fresh work horse each one
would connect to the database again, compile its statements again and load its run's shared plan
again: the send's medium jobs (``IN_PROCESS_JOBS``) run in the worker process itself, as RQ's
``SimpleWorker`` runs every job, keeping a warm database connection and the plan between media. A
thread renews the job's lease in Redis meanwhile, as the forking worker does while it waits for its
work horse: the medium of a worker killed mid-job is taken up again once that short lease expires
(~90 s, ``StartedJobRegistry``), not after the job's one-hour time limit (``SimpleWorker``'s lease).
Every other job (PDFs, mails, statistics) still forks.
"""
from __future__ import annotations

import threading

from rq import Worker
from rq.worker import WorkerStatus

from backoffice.extensions import db

IN_PROCESS_JOBS = frozenset({"jobs.send.send_medium_job"})


class AppWorker(Worker):
    """An RQ worker running each job in a fresh app context of ``app``."""

    def __init__(self, queues, *, app, in_process_jobs=IN_PROCESS_JOBS, **kwargs):
        super().__init__(queues, **kwargs)
        self.app = app
        self.in_process_jobs = in_process_jobs

    def perform_job(self, job, queue, *args, **kwargs):  # rq 3 also passes the execution
        # The context's teardown removes the job's database session: nothing leaks into the next job.
        with self.app.app_context():
            return super().perform_job(job, queue, *args, **kwargs)

    def main_work_horse(self, job, queue):
        # A forked work horse must not use the connections pooled by the worker process.
        db.engine.dispose(close=False)
        return super().main_work_horse(job, queue)

    def execute_job(self, job, queue):
        if job.func_name not in self.in_process_jobs:
            return super().execute_job(job, queue)
        execution = self.prepare_execution(job)
        done = threading.Event()
        beat = threading.Thread(target=self._keep_heartbeat, args=(job, execution, done),
                                name="job-heartbeat", daemon=True)
        beat.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            done.set()
            beat.join()
        self.set_state(WorkerStatus.IDLE)

    def _keep_heartbeat(self, job, execution, done: threading.Event) -> None:
        while not done.wait(self.job_monitoring_interval):
            try:
                self.maintain_heartbeats(job, execution)
            except Exception:  # a missed beat only shortens the job's lease; the job goes on
                self.log.warning("heartbeat of job %s failed", job.id, exc_info=True)
