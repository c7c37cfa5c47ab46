"""Flask CLI commands: users, demo data, translations, the worker."""
from __future__ import annotations

import logging

import time

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from .extensions import db


def register(app: Flask) -> None:
    app.cli.add_command(create_user_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(translations_command)
    app.cli.add_command(worker_command)


@click.command("create-user")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(
    ["admin", "filiale", "validator", "dealer_manager", "dealer_staff"]))
@click.option("--concession", "concession_codes", multiple=True, help="Concession code (dealer roles).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--first-name", default=None)
@click.option("--last-name", default=None)
@with_appcontext
def create_user_command(email, role, concession_codes, password, first_name, last_name):
    """Create a user with one role (no self-registration exists)."""
    from sqlalchemy import select

    from models import Concession, User
    from models.permissions import DEALER_ROLES

    from .security import create_user

    if db.session.execute(select(User).where(User.email == email.strip().lower())).first():
        raise click.ClickException(f"a user {email} already exists")
    concessions = db.session.execute(select(Concession).where(Concession.code.in_(concession_codes))).scalars().all()
    missing = set(concession_codes) - {c.code for c in concessions}
    if missing:
        raise click.ClickException(f"unknown concession code(s): {', '.join(sorted(missing))}")
    if role in DEALER_ROLES and not concessions:
        raise click.ClickException("dealer roles need at least one --concession")
    if len(password) < 12:
        raise click.ClickException("the password needs at least 12 characters")
    create_user(email, password, role, concessions, first_name=first_name, last_name=last_name)
    db.session.commit()
    click.echo(f"created {email} ({role})")


@click.command("demo")
@click.option("--vehicles", default=150, show_default=True, help="Vehicles in stock to generate.")
@click.option("--concessions", default=0, show_default=True, help="Generated concessions besides the demo ones.")
@click.option("--reset", is_flag=True, help="Drop every table first (destroys all data).")
@click.option("--if-empty", is_flag=True, help="Do nothing when demo data is already there.")
@click.option("--seed", default=42, show_default=True)
@with_appcontext
def demo_command(vehicles, concessions, reset, if_empty, seed):
    """Build the demo organisation, accounts and stock; larger with --vehicles/--concessions."""
    from sqlalchemy import select

    from models import User

    from .demo import build

    if reset:
        db.drop_all()
        db.create_all()
    elif db.session.execute(select(User.id).limit(1)).first():
        if if_empty:
            click.echo("demo data already present")
            return
        raise click.ClickException("the database already has data: use --reset to rebuild it")
    started = time.perf_counter()
    build(vehicles=vehicles, concessions=concessions, seed=seed, log=click.echo)
    if db.engine.dialect.name == "postgresql":
        # Fresh statistics after a bulk load, or the planner picks sequential scans for the first pages.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE")
    click.echo(f"demo data built in {time.perf_counter() - started:.1f} s "
               f"({vehicles} vehicles, {concessions} generated concessions)")


@click.group("translations")
def translations_command():
    """Translation catalogs."""


@translations_command.command("compile")
def compile_translations():
    """Compile every .po catalog to .mo."""
    from .i18n import compile_catalogs

    for path in compile_catalogs():
        click.echo(f"compiled {path}")


@click.command("worker")
@click.argument("queues", nargs=-1)
@click.option("--with-scheduler", is_flag=True, help="Also run RQ's scheduler (retries with backoff).")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker_command(queues, with_scheduler, burst):
    """Start an RQ worker inside the app context (needs REDIS_URL)."""
    from jobs.queue import redis_connection
    from jobs.worker import AppWorker

    connection = redis_connection()
    if connection is None:
        raise click.ClickException("REDIS_URL is not set: without Redis, jobs run in-process")
    app = current_app._get_current_object()
    # The jobs' own progress lines (a send medium's phase timings) go to the worker's output too.
    jobs_log = logging.getLogger("jobs")
    if not jobs_log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s.%(msecs)03d %(name)s %(levelname)s %(message)s",
                                               "%H:%M:%S"))
        jobs_log.addHandler(handler)
        jobs_log.setLevel(logging.INFO)
    # Imported once here, not in every job (forked work horses inherit them).
    import jobs.reports  # noqa: F401
    import jobs.send  # noqa: F401

    # One connection now initialises the database dialect once, not in every forked work horse. The
    # pool is then emptied, so that RQ's scheduler process and the first work horses inherit no
    # connection; the send's medium jobs, run in this process (jobs.worker), open one and reuse it.
    with db.engine.connect():
        pass
    db.engine.dispose()
    worker = AppWorker(list(queues) or ["default"], connection=connection, app=app)
    worker.work(with_scheduler=with_scheduler, burst=burst)
