"""Test fixtures: tables created once per session, emptied after each test; factories as callables.

The suite runs on SQLite by default and on PostgreSQL when DATABASE_URL is set (scripts/test.sh runs
both). Data is committed for real so that live servers, browsers and RQ workers see it.
"""
from __future__ import annotations

import os
import re
import tempfile

import pytest

# The config reads the environment at import: point the instance folder at a temp dir first.
_INSTANCE = tempfile.mkdtemp(prefix="backoffice-test-")
os.environ.setdefault("BACKOFFICE_INSTANCE_PATH", _INSTANCE)
os.environ["BACKOFFICE_ENV"] = "testing"

from backoffice import create_app  # noqa: E402
from backoffice.extensions import db  # noqa: E402
from backoffice.i18n import compile_catalogs  # noqa: E402

from .factories import Factories  # noqa: E402

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


@pytest.fixture(scope="session")
def app():
    compile_catalogs()
    app = create_app("testing")

    # Tests hold an app context, which test-client requests then share (Flask reuses it): clear
    # ``g`` at the start of each request so that logins and CSRF tokens never leak between clients.
    def _fresh_globals():
        from flask import g

        g.__dict__.clear()

    app.before_request_funcs.setdefault(None, []).insert(0, _fresh_globals)
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def _empty_tables():
    if db.engine.dialect.name == "postgresql":
        # One query finds the tables a test filled; truncating only those keeps PostgreSQL runs fast.
        probes = " UNION ALL ".join(f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM \"{t.name}\")"
                                    for t in db.metadata.sorted_tables)
        filled = {row[0] for row in db.session.execute(db.text(probes))}
        # DELETE rather than TRUNCATE: TRUNCATE swaps files and syncs them, far slower on small tables.
        for table in reversed(db.metadata.sorted_tables):
            if table.name in filled:
                db.session.execute(table.delete())
    else:
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture(autouse=True)
def _app_context(request, app):
    """Every test runs inside an app context and leaves empty tables behind."""
    if "no_db" in request.keywords:
        yield
        return
    from backoffice.extensions import limiter

    with app.app_context():
        limiter.reset()
        yield
        db.session.rollback()
        db.session.remove()
        _empty_tables()


@pytest.fixture
def factories(app) -> Factories:
    return Factories(db)


@pytest.fixture
def network(factories):
    """Two concessions (Nord: GAP, DAINVILLE; Sud: RENNES, AGEN) with one account per role."""
    return factories.network()


class BackofficeClient:
    """A test client that logs in and posts forms with the session's CSRF token."""

    def __init__(self, client):
        self.client = client
        self._csrf = None

    def __getattr__(self, name):
        return getattr(self.client, name)

    @property
    def csrf_token(self) -> str:
        if self._csrf is None:
            html = self.client.get("/auth/login").get_data(as_text=True)
            if "csrf_token" not in html:
                html = self.client.get("/").get_data(as_text=True)
            self._csrf = csrf_from(html)
        return self._csrf

    def login(self, email, password="demo-password"):
        self.client.post("/auth/logout", data={"csrf_token": self.csrf_token})
        self._csrf = None
        response = self.client.post("/auth/login", data={"email": email, "password": password,
                                                        "csrf_token": self.csrf_token})
        self._csrf = None  # the token is re-issued with the new session
        return response

    def form(self, url, data=None, **kwargs):
        """POST a form with the CSRF token."""
        payload = dict(data or {})
        payload.setdefault("csrf_token", self.csrf_token)
        return self.client.post(url, data=payload, **kwargs)


def csrf_from(html: str) -> str | None:
    m = CSRF_RE.search(html)
    return (m.group(1) or m.group(2)) if m else None


@pytest.fixture
def client(app) -> BackofficeClient:
    return BackofficeClient(app.test_client())


@pytest.fixture
def login(app):
    """``login(user_or_email)`` → a logged-in BackofficeClient (a fresh client each call)."""
    def _login(user) -> BackofficeClient:
        c = BackofficeClient(app.test_client())
        email = user if isinstance(user, str) else user.email
        response = c.login(email)
        assert response.status_code == 302, f"login of {email} failed"
        return c
    return _login


# Browser tests -------------------------------------------------------------------------------
ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "test-artifacts")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture
def live_server(app):
    """The app served on 127.0.0.1:<free port> in a thread; yields its base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="session")
def _browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(_browser, live_server):
    """A fresh Chromium page; ``page.login(email)`` logs in through the real form."""
    context = _browser.new_context(locale="fr-FR", viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15000)
    base = live_server

    def login(email, password="demo-password"):
        pg.goto(base + "/auth/login")
        pg.fill("input[name=email]", email)
        pg.fill("input[name=password]", password)
        pg.click("[data-testid=login-submit]")
        pg.wait_for_url(lambda url: "/auth/login" not in url)

    def screenshot(name):
        os.makedirs(ARTIFACTS, exist_ok=True)
        path = os.path.join(ARTIFACTS, f"{name}.png")
        pg.screenshot(path=path, full_page=True)
        return path

    pg.base_url = base
    pg.login = login
    pg.artifact = screenshot
    yield pg
    context.close()
