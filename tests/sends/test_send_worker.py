"""The send on the real Redis with real `flask worker` processes: end to end, kill -9, lost Redis data."""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xxhash
from sqlalchemy import func, select

from backoffice.extensions import db
from jobs.feeds.validate import parse_feed, validate_feed
from jobs.send import medium_decisions, start_send
from models.publication_inputs import compute_decisions
from models.send import DONE, PublishedFeed, SendMedium, SendRun

from .report import outcomes

pytestmark = pytest.mark.services

REDIS_URL = "redis://127.0.0.1:6379/1"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_queue(app, feed_folder, monkeypatch):
    """Redis database 1, with a queue of this test's own: other runs sharing the database (the
    benchmark, another test session) never take its jobs, and it never touches theirs."""
    import uuid

    from redis import Redis
    from rq import Queue

    connection = Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except Exception:  # pragma: no cover
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    name = f"sends-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    monkeypatch.setitem(app.config, "SEND_QUEUE", name)
    queue = Queue(name, connection=connection)
    yield queue
    queue.delete(delete_jobs=True)


def worker_env(app, feed_folder, **extra):
    env = dict(os.environ)
    env.update({
        "BACKOFFICE_ENV": "testing", "REDIS_URL": REDIS_URL, "FEED_FOLDER": str(feed_folder),
        "BACKOFFICE_INSTANCE_PATH": os.environ["BACKOFFICE_INSTANCE_PATH"], "SEND_RETRY_INTERVALS": "0,0",
        "SEND_QUEUE": app.config["SEND_QUEUE"],
    })
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite"):
        env["DATABASE_URL"] = url
    env.pop("SEND_FAULTS", None)
    env.update(extra)
    return env


def flask_worker(env, burst=True):
    args = [sys.executable, "-m", "flask", "--app", "wsgi.py", "worker", env["SEND_QUEUE"]] + (
        ["--burst"] if burst else [])
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)


def run_worker(env, timeout=120):
    proc = flask_worker(env)
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out.decode(errors="replace")[-3000:]
    return out


def fresh():
    db.session.rollback()
    db.session.expire_all()


def test_a_send_runs_on_a_real_worker_and_matches_the_engine(app, network, factories, publication, feed_folder,
                                                             redis_queue):
    for i in range(6):
        factories.vehicle(network.gap if i % 2 else network.rennes, photo_count=1 + i % 3,
                          gearbox=None if i == 4 else "manual")
    eden = publication.medium("EDEN", "generic_xml", [network.nord, network.sud], mandatory=["gearbox"])
    mobile = publication.medium("MOBILE", "mobile_de_csv", [network.nord, network.sud])
    # The engine's decisions, with each medium's mandatory fields widened by its format (as the job does).
    expected = {m.id: {(d.vehicle_id, d.list_id): (d.outcome, list(d.reasons))
                       for d in medium_decisions(m, dt.date.today())}
                for m in (eden, mobile)}
    assert expected[eden.id] == {(d.vehicle_id, d.list_id): (d.outcome, list(d.reasons))
                                 for d in compute_decisions(db.session, medium_ids=[eden.id])}

    run_id = start_send()
    fresh()
    assert db.session.get(SendRun, run_id).status == "running"     # queued on Redis, not run here
    out = run_worker(worker_env(app, feed_folder))

    fresh()
    run = db.session.get(SendRun, run_id)
    assert run.status == DONE and run.finished_at is not None, out.decode(errors="replace")[-4000:]
    for medium in (eden, mobile):
        assert outcomes(run_id, medium.id) == expected[medium.id]
    xml = parse_feed("generic_xml", (feed_folder / "EDEN" / "EDEN.xml").read_bytes())
    assert len(xml) == sum(1 for o, _ in expected[eden.id].values() if o == "sent") == 5
    data = (feed_folder / "MOBILE" / "MOBILE.csv").read_bytes()
    assert validate_feed("mobile_de_csv", data) == []
    assert len(parse_feed("mobile_de_csv", data)) == 5      # the car without gearbox: filtered, not sent


def children(pid):
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def test_a_worker_killed_mid_medium_leaves_the_previous_feed_and_the_retry_publishes_once(
        app, network, factories, publication, feed_folder, redis_queue):
    from rq.registry import StartedJobRegistry

    cars = [factories.vehicle(network.gap, photo_count=1) for _ in range(3)]
    publication.medium("EDEN", "generic_csv", [network.nord])
    start_send()
    run_worker(worker_env(app, feed_folder))
    feed = feed_folder / "EDEN" / "EDEN.csv"
    before = feed.read_bytes()
    cars[0].mileage = 99999
    db.session.commit()

    run_id = start_send()
    proc = flask_worker(worker_env(app, feed_folder, SEND_FAULTS="slow=EDEN:6"), burst=False)
    deadline = time.time() + 60
    while True:   # wait until the worker is inside the medium's job
        fresh()
        sm = db.session.execute(select(SendMedium).where(SendMedium.run_id == run_id)).scalar_one()
        if sm.status == "running":
            break
        assert time.time() < deadline, "the worker never started the medium"
        time.sleep(0.2)
    time.sleep(0.5)
    assert children(proc.pid) == []            # the send's medium runs in the worker itself, no work horse
    registry = StartedJobRegistry(queue=redis_queue)
    leases = [score for _, score in redis_queue.connection.zrange(registry.key, 0, -1, withscores=True)]
    assert leases and max(leases) < time.time() + 120   # the heartbeat's lease, not the job's hour-long limit
    os.kill(proc.pid, signal.SIGKILL)          # kill -9 of the worker, mid-medium
    proc.wait(timeout=10)

    assert feed.read_bytes() == before                    # the portal still has the previous feed
    fresh()
    assert db.session.get(SendRun, run_id).status == "running"
    # Two minutes later, the lease of the dead worker's job has expired: what the next worker does.
    registry.cleanup(timestamp=time.time() + 120)
    run_worker(worker_env(app, feed_folder))

    fresh()
    sm = db.session.execute(select(SendMedium).where(SendMedium.run_id == run_id)).scalar_one()
    assert sm.status == DONE and sm.attempts == 2
    published = db.session.execute(select(PublishedFeed).where(PublishedFeed.send_medium_id == sm.id)).scalar_one()
    after_retry = feed.read_bytes()
    assert "99999" in {x["mileage_km"] for x in parse_feed("generic_csv", after_retry)}
    assert db.session.get(SendRun, run_id).status == DONE
    assert published.checksum == "xxh3-128:" + xxhash.xxh3_128(after_retry).hexdigest()

    # Asking again for the same run is a no-op: nothing published twice.
    mtime = feed.stat().st_mtime_ns
    from jobs.send import enqueue_pending_media
    enqueue_pending_media(run_id)
    run_worker(worker_env(app, feed_folder))
    assert feed.stat().st_mtime_ns == mtime
    fresh()
    assert db.session.execute(select(func.count()).select_from(PublishedFeed)).scalar_one() == 2  # one per run


def sleeping_job(seconds):
    time.sleep(seconds)
    return "slept"


def test_a_job_run_in_the_worker_process_keeps_renewing_its_lease(app, redis_queue):
    """While a medium runs in the worker process, its heartbeat goes on: a long medium is not taken for
    a dead worker's and handed to another one."""
    import threading

    from rq.registry import StartedJobRegistry

    from jobs.worker import AppWorker

    job = redis_queue.enqueue(sleeping_job, 3.5)
    worker = AppWorker([redis_queue], connection=redis_queue.connection, app=app, job_monitoring_interval=1,
                       in_process_jobs={job.func_name})
    key, leases, finished = StartedJobRegistry(queue=redis_queue).key, [], threading.Event()

    def watch():
        while not finished.wait(0.2):
            leases.extend(score for _, score in redis_queue.connection.zrange(key, 0, -1, withscores=True))
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        worker.work(burst=True)
    finally:
        finished.set()
        watcher.join()
    job.refresh()
    assert job.return_value() == "slept"
    assert leases and max(leases) - min(leases) >= 2     # renewed during the 3.5 s, not set once


EVENTS: list[tuple[str, float]] = []   # (what, when) of the jobs below, run in this process


def releasing_job(name, seconds, fail_once_key=None):
    """A job whose end only waits (as a medium's last writes do): it releases its worker, then sleeps."""
    from rq import get_current_job

    from jobs.worker import release_worker

    EVENTS.append((f"{name} started", time.monotonic()))
    release_worker()
    time.sleep(seconds)
    if fail_once_key and get_current_job().connection.incr(fail_once_key) == 1:
        raise RuntimeError(f"{name} failed after its release")
    EVENTS.append((f"{name} ended", time.monotonic()))
    return name


def in_process_worker(app, redis_queue, *jobs, **kwargs):
    from jobs.worker import AppWorker

    return AppWorker([redis_queue], connection=redis_queue.connection, app=app, job_monitoring_interval=1,
                     in_process_jobs={job.func_name for job in jobs}, **kwargs)


def test_a_released_job_ends_while_its_worker_runs_the_next_one_one_at_a_time(app, redis_queue):
    """A medium waiting for its last writes lets its worker start the next medium; the worker never has
    more than one job so waiting, and stops only once it has ended."""
    EVENTS.clear()
    jobs = [redis_queue.enqueue(releasing_job, name, seconds)
            for name, seconds in (("first", 1.0), ("second", 2.0), ("third", 0.5))]
    in_process_worker(app, redis_queue, *jobs).work(burst=True)
    when = dict(EVENTS)
    assert when["second started"] < when["first ended"]         # overlapped
    assert when["third started"] >= when["first ended"]         # not a third in flight
    assert when["third started"] < when["second ended"]
    assert set(when) == {f"{n} {e}" for n in ("first", "second", "third") for e in ("started", "ended")}
    for job in jobs:                                             # each ended as a job: result recorded
        job.refresh()
        assert job.get_status() == "finished"
    assert [job.return_value() for job in jobs] == ["first", "second", "third"]


def test_a_released_job_that_fails_is_retried_and_a_stuck_one_times_out(app, redis_queue):
    """Released or not, a job keeps RQ's rules: its failure is retried, and its time limit holds in the
    thread it runs in."""
    import uuid

    from rq import Retry

    EVENTS.clear()
    key = f"test-release-{uuid.uuid4().hex}"
    flaky = redis_queue.enqueue(releasing_job, "flaky", 0.2, key, retry=Retry(max=1))
    stuck = redis_queue.enqueue(releasing_job, "stuck", 5, job_timeout=1)
    in_process_worker(app, redis_queue, flaky, stuck).work(burst=True)
    redis_queue.connection.delete(key)
    flaky.refresh()
    stuck.refresh()
    assert flaky.get_status() == "finished" and flaky.return_value() == "flaky"
    assert [e for e, _ in EVENTS].count("flaky started") == 2    # failed after its release, run again
    assert stuck.get_status() == "failed"
    assert "JobTimeoutException" in stuck.latest_result().exc_string
    assert "stuck ended" not in dict(EVENTS)


def test_a_nightly_send_whose_redis_jobs_were_lost_is_finished_by_asking_again(
        app, network, factories, publication, feed_folder, redis_queue):
    factories.vehicle(network.gap, photo_count=1)
    publication.medium("EDEN", "generic_csv", [network.nord])
    import random
    day = dt.date(2000, 1, 1) + dt.timedelta(days=random.randrange(20000))  # a job id no other session uses
    run_id = start_send(kind="nightly", today=day)
    for job_id in redis_queue.job_ids:                   # Redis restarted without its data
        redis_queue.connection.delete(f"rq:job:{job_id}")
    redis_queue.empty()
    assert redis_queue.count == 0
    assert start_send(kind="nightly", today=day) == run_id   # the same run: its pending media re-enqueued
    out = run_worker(worker_env(app, feed_folder))
    fresh()
    assert db.session.get(SendRun, run_id).status == DONE, out.decode(errors="replace")[-3000:]
    assert (feed_folder / "EDEN" / "EDEN.csv").exists()
