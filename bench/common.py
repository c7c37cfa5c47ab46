"""Shared helpers of the benchmark scripts: app, logged-in client, statement counter, timings.

Benchmarks are scripts, not tests: they print figures (p50/p95 server time through the Flask test
client, i.e. app-level with no network, and the SQL statements each page issues).

Typical run (PostgreSQL, 100,000 vehicles, 200 generated concessions)::

    createdb -h 127.0.0.1 -U postgres bench
    export DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench BACKOFFICE_INSTANCE_PATH=/tmp/bench
    flask --app wsgi.py demo --reset --vehicles 100000 --concessions 200
    python -m bench.dashboards
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from contextlib import contextmanager

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_app():
    """The app on DATABASE_URL, CSRF off for the scripted logins (the pages read only)."""
    from backoffice import create_app

    app = create_app()
    app.config["WTF_CSRF_ENABLED"] = False
    app.config["RATELIMIT_ENABLED"] = False
    return app


class StatementCounter:
    """Counts the SQL statements sent by the engine (SQLAlchemy ``before_cursor_execute``)."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.count = 0
        self.statements: list[str] = []
        event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany):
        self.count += 1
        self.statements.append(statement)

    @contextmanager
    def counting(self):
        self.count = 0
        self.statements = []
        yield self


def login(app, email: str, password: str = "demo-password"):
    client = app.test_client()
    response = client.post("/auth/login", data={"email": email, "password": password})
    if response.status_code != 302:
        raise SystemExit(f"login of {email} failed ({response.status_code})")
    return client


def percentile(values, q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def measure(client, counter: StatementCounter, url: str, runs: int = 30, warmup: int = 3) -> dict:
    """Time ``runs`` GETs of ``url`` (after ``warmup``); p50/p95 in ms and statements per request."""
    for _ in range(warmup):
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
    times, statements = [], []
    for _ in range(runs):
        with counter.counting():
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        statements.append(counter.count)
    return {"url": url, "p50": statistics.median(times), "p95": percentile(times, 95),
            "statements": max(statements), "runs": runs}


def report(label: str, result: dict, target_ms: float | None = None) -> str:
    verdict = ""
    if target_ms is not None:
        verdict = "  OK" if result["p95"] <= target_ms else f"  OVER TARGET ({target_ms:.0f} ms)"
    line = (f"{label:<46} p50 {result['p50']:7.1f} ms   p95 {result['p95']:7.1f} ms   "
            f"{result['statements']:3d} statements{verdict}")
    print(line, flush=True)
    return line


def vacuum(app) -> None:
    """VACUUM ANALYZE the vehicle table on PostgreSQL (statistics and index-only scans after a bulk load)."""
    from sqlalchemy import text

    from backoffice.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE vehicle"))


def describe_database(app) -> str:
    from sqlalchemy import func, select

    from backoffice.extensions import db
    from models import Concession, Vehicle

    with app.app_context():
        vehicles = db.session.execute(select(func.count()).select_from(Vehicle)).scalar_one()
        concessions = db.session.execute(select(func.count()).select_from(Concession)).scalar_one()
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        return (f"{db.engine.dialect.name}: {vehicles} vehicle rows, {concessions} concessions "
                f"(machine load average {load}, {os.cpu_count()} CPUs)")


def prepare(no_vacuum: bool = False):
    """The app on the benchmark database, vacuumed unless asked not to, and its statement counter."""
    app = make_app()
    if not no_vacuum:
        vacuum(app)
    print(describe_database(app))
    with app.app_context():
        from backoffice.extensions import db

        counter = StatementCounter(db.engine)
    return app, counter
