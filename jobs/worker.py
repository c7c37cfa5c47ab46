"""The RQ worker of ``flask worker``: RQ's forking worker, inside the app context, except for the send.

RQ forks a work horse per job, so that a job that leaks or crashes takes nothing else with it. A
send runs one job per medium (50 a night, under a second each), and in a fresh work horse each one
would connect to the database again, compile its statements again and load its run's shared plan
again: the send's medium jobs (``IN_PROCESS_JOBS``) run in the worker process itself, in a thread of
their own, keeping a warm database connection and the plan between media. A thread renews the job's
lease in Redis meanwhile, as the forking worker does while it waits for its work horse: the medium
of a worker killed mid-job is taken up again once that short lease expires (~90 s,
``StartedJobRegistry``), not after the job's one-hour time limit.

A medium's job ends waiting: for the disk to take the last of its feed, then for the database's
commits and the portal. A job that reaches that point says so (``release_worker``) and the worker
takes its next job meanwhile, so that its CPU and the disk work at the same time; the released job
still ends as a job does (RQ records its success or failure and retries it), and at most one job
is finishing so at a time. RQ keeps one execution record per running job, so two of them in a
worker is a state RQ knows. Every other job (PDFs, mails, statistics) still forks, once no job is
finishing (a fork copies only the forking thread, not the locks another one holds).
"""
from __future__ import annotations

import threading

from rq import Worker
from rq.timeouts import TimerDeathPenalty

from backoffice.extensions import db

IN_PROCESS_JOBS = frozenset({"jobs.send.send_medium_job"})

_running = threading.local()   # in a job's thread: the event its ``release_worker`` sets


def release_worker() -> None:
    """What is left of the current job only waits (the disk, the database, a portal): its worker may
    start its next job. Does nothing outside an ``AppWorker``'s in-process job."""
    released = getattr(_running, "released", None)
    if released is not None:
        released.set()


class AppWorker(Worker):
    """An RQ worker running each job in a fresh app context of ``app``."""

    def __init__(self, queues, *, app, in_process_jobs=IN_PROCESS_JOBS, **kwargs):
        super().__init__(queues, **kwargs)
        self.app = app
        self.in_process_jobs = in_process_jobs
        self._finishing: threading.Thread | None = None   # a released job's thread, until it ends

    @property
    def death_penalty_class(self):
        # A job's time limit is a SIGALRM in the main thread (a work horse's); in a job's own thread,
        # a timer raises it there.
        if threading.current_thread() is threading.main_thread():
            return Worker.death_penalty_class
        return TimerDeathPenalty

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
            self._wait_finishing()
            return super().execute_job(job, queue)
        execution = self.prepare_execution(job)
        released = threading.Event()
        thread = threading.Thread(target=self._run_in_thread, args=(job, queue, execution, released),
                                  name=f"job-{job.id}", daemon=True)
        thread.start()
        released.wait()            # the job ended, or only waits now
        self._wait_finishing()     # the job released before it, if any: one finishing at a time
        self._finishing = thread

    def _run_in_thread(self, job, queue, execution, released: threading.Event) -> None:
        _running.released = released
        done = threading.Event()
        beat = threading.Thread(target=self._keep_heartbeat, args=(job, execution, done),
                                name="job-heartbeat", daemon=True)
        beat.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            done.set()
            beat.join()
            released.set()

    def _wait_finishing(self) -> None:
        if self._finishing is not None:
            self._finishing.join()
            self._finishing = None

    def teardown(self):
        self._wait_finishing()   # a warm shutdown lets the released job end
        super().teardown()

    def _keep_heartbeat(self, job, execution, done: threading.Event) -> None:
        while not done.wait(self.job_monitoring_interval):
            try:
                self.maintain_heartbeats(job, execution)
            except Exception:  # a missed beat only shortens the job's lease; the job goes on
                self.log.warning("heartbeat of job %s failed", job.id, exc_info=True)
