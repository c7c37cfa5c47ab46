"""Periodic jobs, declared as data in one place, and the scheduler that enqueues them.

``periodic_jobs()`` lists (name, dotted function, cron expression in Europe/Paris time): the
nightly send at ``SEND_SCHEDULE`` (default 02:00) and every ``SCHEDULE`` declared by a jobs module
(e.g. ``jobs.scoring.SCHEDULE``: the nightly score refresh).

Run it with RQ's cron scheduler (rq ≥ 2.5) inside the app: ``flask --app wsgi.py send cron``, next
to one or more ``flask --app wsgi.py worker --with-scheduler`` (the workers run the jobs; the
``--with-scheduler`` part re-enqueues retries after their backoff). Several cron processes are
harmless: the nightly send is keyed by its date.
"""
from __future__ import annotations

import importlib
import os
import time

import click
from flask import current_app
from flask.cli import AppGroup

TIMEZONE = "Europe/Paris"
# Modules whose SCHEDULE = [(dotted function, cron expression)] is added to the table.
JOB_MODULES = ("jobs.scoring", "jobs.storefront", "jobs.campaign_stats", "jobs.reports")


def send_cron_expression(hhmm: str) -> str:
    """"02:00" → "0 2 * * *"; a malformed value is refused with a clear message."""
    try:
        hours, minutes = (int(x) for x in hhmm.strip().split(":"))
    except ValueError:
        raise ValueError(f"SEND_SCHEDULE doit être au format HH:MM, pas {hhmm!r}") from None
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValueError(f"SEND_SCHEDULE hors limites : {hhmm!r}")
    return f"{minutes} {hours} * * *"


def periodic_jobs(config=None) -> list[tuple[str, str, str]]:
    """(name, dotted function, cron expression in Europe/Paris) of every periodic job."""
    config = config if config is not None else current_app.config
    jobs = [("nightly-send", "jobs.send.nightly_send", send_cron_expression(config.get("SEND_SCHEDULE", "02:00")))]
    for module_name in JOB_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for func, cron in getattr(module, "SCHEDULE", ()):
            jobs.append((func.rsplit(".", 1)[-1], func, cron))
    return jobs


def _resolve(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def build_cron_scheduler(connection, config=None):
    """An rq CronScheduler with every periodic job registered (cron fields in Europe/Paris)."""
    from rq.cron import CronScheduler

    # rq evaluates cron fields in the process's local time: this process is only the scheduler.
    os.environ["TZ"] = TIMEZONE
    time.tzset()
    scheduler = CronScheduler(connection=connection)
    for name, dotted, cron in periodic_jobs(config):
        scheduler.register(_resolve(dotted), "default", cron=cron, name=name, job_timeout=3600)
    return scheduler


send_cli = AppGroup("send", help="L'envoi vers les médias : lancer, planifier.")


@send_cli.command("run")
@click.option("--nightly", is_flag=True, help="Comme l'envoi de nuit (une seule fois par date).")
def run_command(nightly):
    """Start a send now (on the workers when REDIS_URL is set, else here)."""
    from jobs.send import start_send

    run_id = start_send(kind="nightly" if nightly else "manual")
    click.echo(f"send run {run_id} started")


@send_cli.command("cron")
def cron_command():
    """Run the periodic jobs: RQ's cron scheduler with REDIS_URL, else in this process."""
    from jobs.queue import redis_connection

    connection = redis_connection()
    for name, dotted, cron in periodic_jobs():
        click.echo(f"{name}: {dotted} at '{cron}' ({TIMEZONE})")
    if connection is None:
        click.echo("REDIS_URL is not set: the jobs run in this process when due")
        run_embedded_cron()
        return
    build_cron_scheduler(connection).start()


def next_runs(periodic, after):
    """{name: next datetime} of each periodic job strictly after ``after`` (aware, Europe/Paris)."""
    from croniter import croniter

    return {name: croniter(cron, after).get_next(type(after)) for name, _dotted, cron in periodic}


def run_embedded_cron(max_runs: int | None = None, clock=None, sleep=time.sleep) -> int:
    """Embedded mode (no Redis): run each periodic job in this process when it is due.

    The demo starts this beside the web server so that the nightly send runs by itself.
    """
    import datetime as dt
    import logging
    from zoneinfo import ZoneInfo

    clock = clock or (lambda: dt.datetime.now(ZoneInfo(TIMEZONE)))
    periodic = periodic_jobs()
    functions = {name: dotted for name, dotted, _cron in periodic}
    due = next_runs(periodic, clock())
    done = 0
    while max_runs is None or done < max_runs:
        name = min(due, key=due.get)
        wait = (due[name] - clock()).total_seconds()
        if wait > 0:
            sleep(min(wait, 60))
            continue
        try:
            _resolve(functions[name])()
        except Exception:  # one failing job must not stop the schedule
            logging.getLogger(__name__).exception("periodic job %s failed", name)
        done += 1
        due[name] = next_runs([p for p in periodic if p[0] == name], due[name])[name]
    return done


@send_cli.command("schedule")
def schedule_command():
    """List the periodic jobs."""
    for name, dotted, cron in periodic_jobs():
        click.echo(f"{name}\t{dotted}\t{cron}\t{TIMEZONE}")
