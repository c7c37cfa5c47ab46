"""The send's plain rules, table-driven: shrink guard, run state, phrases, schedule."""
from __future__ import annotations

import datetime as dt

import pytest

from jobs.schedule import periodic_jobs, send_cron_expression
from models.send import elapsed_phrase, progress, run_status, search_phrase, shrink_hold_reason

pytestmark = pytest.mark.no_db


@pytest.fixture(autouse=True)
def _ctx(app):
    with app.test_request_context():
        yield


@pytest.mark.parametrize("previous, new, held", [
    (None, 0, False),    # first feed of a medium: never held
    (0, 0, False),
    (100, 100, False),
    (100, 50, False),    # exactly half lost: published
    (100, 49, True),     # more than half lost
    (100, 0, True),      # empty
    (3, 1, True),
    (4, 2, False),
    (10, 30, False),     # growing
])
def test_shrink_guard(previous, new, held):
    assert (shrink_hold_reason(previous, new) is not None) == held


def test_shrink_guard_says_why():
    assert shrink_hold_reason(120, 0) == "Le flux serait vide alors que le précédent contenait 120 annonces."
    assert shrink_hold_reason(100, 40) == "Le flux perdrait 60 annonces sur 100 (60 %), plus de la moitié."


@pytest.mark.parametrize("states, expected", [
    ([], "done"),
    (["done", "done"], "done"),
    (["done", "running"], "running"),
    (["done", "pending"], "running"),
    (["done", "publishing"], "running"),
    (["done", "held"], "held"),
    (["held", "failed", "done"], "failed"),
    (["skipped", "done"], "done"),
])
def test_run_state_follows_its_media(states, expected):
    assert run_status(states) == expected


def test_progress_counts_final_media():
    assert progress(["done", "held", "running", "pending", "failed"]) == (3, 5)


@pytest.mark.parametrize("outcome, reasons, phrase", [
    ("sent", 0, "VO 2029 diffusé sur eden-auto.com"),
    ("filtered_media", 2, "VO 2029 filtré sur eden-auto.com pour 2 raisons"),
    ("filtered_custom", 1, "VO 2029 filtré sur eden-auto.com pour 1 raison"),
    ("deselected", 1, "VO 2029 non diffusé sur eden-auto.com (désélectionné)"),
    ("limit_reached", 1, "VO 2029 non diffusé sur eden-auto.com (limite atteinte)"),
])
def test_search_phrases(outcome, reasons, phrase):
    assert search_phrase("2029", "eden-auto.com", outcome, reasons) == phrase


@pytest.mark.parametrize("minutes, phrase", [
    (0, "il y a 0 min"), (59, "il y a 59 min"), (441, "il y a 7 h 21 min"), (60 * 50, "il y a 2 jours")])
def test_elapsed_phrase(minutes, phrase):
    now = dt.datetime(2017, 7, 24, 14, 43)
    assert elapsed_phrase(now - dt.timedelta(minutes=minutes), now) == phrase


@pytest.mark.parametrize("value, cron", [("02:00", "0 2 * * *"), ("2:30", "30 2 * * *"), ("23:59", "59 23 * * *")])
def test_send_schedule_to_cron(value, cron):
    assert send_cron_expression(value) == cron


@pytest.mark.parametrize("value", ["24:00", "2h", "", "02:60"])
def test_a_bad_send_schedule_is_refused(value):
    with pytest.raises(ValueError):
        send_cron_expression(value)


def test_periodic_jobs_hold_the_nightly_send_and_the_score_refresh():
    jobs = {name: (func, cron) for name, func, cron in periodic_jobs({"SEND_SCHEDULE": "03:15"})}
    assert jobs["nightly-send"] == ("jobs.send.nightly_send", "15 3 * * *")
    assert jobs["refresh_all_scores"][0] == "jobs.scoring.refresh_all_scores"


def test_the_schedule_command_lists_the_periodic_jobs(app):
    result = app.test_cli_runner().invoke(args=["send", "schedule"])
    assert result.exit_code == 0
    assert "nightly-send\tjobs.send.nightly_send\t0 2 * * *\tEurope/Paris" in result.output


def test_the_cron_scheduler_registers_every_periodic_job(app, monkeypatch):
    import time

    from jobs.schedule import build_cron_scheduler

    monkeypatch.setenv("TZ", "UTC")          # restored after the test (the scheduler process sets Paris time)
    try:
        scheduler = build_cron_scheduler(connection=None, config={"SEND_SCHEDULE": "02:00"})
        jobs = {j.name: j for j in scheduler.get_jobs()}
        assert jobs["nightly-send"].cron == "0 2 * * *"
        assert jobs["nightly-send"].func_name == "jobs.send.nightly_send"
        # 02:00 in Paris is 01:00 or 00:00 UTC depending on the season.
        assert jobs["nightly-send"].next_enqueue_time.astimezone(dt.timezone.utc).hour in (0, 1)
    finally:
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()

