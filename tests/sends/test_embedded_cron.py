"""Embedded mode (no Redis): `flask send cron` runs the periodic jobs in its own process."""
import datetime as dt
from zoneinfo import ZoneInfo

from backoffice.extensions import db
from jobs import schedule
from models.send import SendRun


def test_without_redis_the_periodic_jobs_run_in_process_when_due_and_the_nightly_send_happens(
        app, network, publication, feed_folder, monkeypatch):
    """Embedded mode: `flask send cron` runs each job at its time; the nightly send runs by itself."""
    paris = ZoneInfo("Europe/Paris")
    now = [dt.datetime(2026, 11, 22, 1, 58, tzinfo=paris)]
    slept = []

    def sleep(seconds):  # the clock moves only when the scheduler waits
        slept.append(seconds)
        now[0] += dt.timedelta(seconds=seconds)

    ran = []
    real_resolve = schedule._resolve

    def resolve(dotted):
        function = real_resolve(dotted)

        def recorded():
            ran.append((dotted, now[0].strftime("%H:%M")))
            return function() if dotted == "jobs.send.nightly_send" else None
        return recorded

    monkeypatch.setattr(schedule, "_resolve", resolve)
    assert schedule.run_embedded_cron(max_runs=1, clock=lambda: now[0], sleep=sleep) == 1
    assert ran == [("jobs.send.nightly_send", "02:00")]
    assert sum(slept) == 120
    runs = db.session.query(SendRun).all()
    assert [(r.kind, r.status) for r in runs] == [("nightly", "done")]
