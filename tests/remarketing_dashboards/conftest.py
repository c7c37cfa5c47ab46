"""Generated stock for the dashboard tests, and helpers reading bars out of a dashboard page."""
from __future__ import annotations

import datetime as dt
import html
import random
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, insert, select

from backoffice.demo.vehicles import vehicle_row
from backoffice.extensions import db
from models import Scope, Vehicle
from models.scoring import refresh_scores
from models.stock_filters import stock_conditions
from models.stock_indicators import clear_network_cache

BAR_RE = re.compile(r'<a href="([^"]+)" class="chart-bar" data-key="([^"]*)" data-value="([^"]*)"'
                    r'(?: data-testid="([^"]*)")?')
LINK_RE = re.compile(r'<a class="phrase[^"]*" data-testid="([^"]+)" href="([^"]+)">([^<]*)</a>')


@pytest.fixture
def stock(network):
    """About 160 realistic vehicles in Nord (GAP, DAINVILLE) and 80 in Sud, scored.

    Sud vehicles carry the markers SUDMARKER (model) and SUDMAKE (make of a few) so a leak shows."""
    clear_network_cache()
    rng = random.Random(7)
    today = dt.date.today()
    rows = []
    for i in range(160):
        site = network.gap if i % 3 else network.dainville
        rows.append(vehicle_row(rng, today, site.concession_id, site.id, None, 1000 + i))
    for i in range(80):
        site = network.rennes if i % 2 else network.agen
        row = vehicle_row(rng, today, site.concession_id, site.id, None, 5000 + i)
        row.update(model="SUDMARKER", entry_number=f"S{i:05d}")
        if i % 4 == 0:
            row["make"] = "SUDMAKE"
        rows.append(row)
    for i in range(40):  # a sales history, so resale ease has something to learn from
        site = network.gap
        rows.append(vehicle_row(rng, today, site.concession_id, site.id, None, 3000 + i, sold=True))
    db.session.execute(insert(Vehicle), rows)
    db.session.commit()
    refresh_scores(db.session, today=today)
    db.session.commit()
    yield network
    clear_network_cache()


def bars(body: str, testid_prefix: str | None = None) -> list[tuple[str, str, int]]:
    """(href, key, count) of every linked bar of a page (optionally of one chart)."""
    found = []
    for href, key, value, testid in BAR_RE.findall(body):
        if testid_prefix and not (testid or "").startswith(testid_prefix + "-"):
            continue
        found.append((html.unescape(href), key, int(float(value))))
    return found


def phrases(body: str) -> dict[str, tuple[str, int]]:
    """{testid: (href, number at the start of the phrase)} of the blue phrases."""
    out = {}
    for testid, href, text in LINK_RE.findall(body):
        m = re.match(r"\s*([\d\u202f\u00a0 ]+)", html.unescape(text))
        if m:
            out[testid] = (html.unescape(href), int(re.sub(r"\D", "", m.group(1))))
    return out


def rows_behind(href: str, user) -> int:
    """How many vehicles the stock list at ``href`` holds for ``user`` (its own conditions + scope)."""
    parts = urlsplit(href)
    m = re.match(r"^/stock/([a-z]+)/$", parts.path)
    assert m, f"not a stock list link: {href}"
    params = {k: v for k, v in parse_qs(parts.query).items()}
    params["destination"] = [m.group(1)]
    stmt = select(func.count()).select_from(Vehicle).where(*stock_conditions(params, dt.date.today()))
    stmt = Scope.for_user(user).filter(stmt, Vehicle)
    return db.session.execute(stmt).scalar_one()


COUNT_RE = re.compile(r'data-testid="vehicle-count">([^<]*)<')


def list_count(client, href: str) -> int:
    """The "Nombre de véhicules" the stock list at ``href`` shows to the logged-in ``client``."""
    response = client.get(href)
    assert response.status_code == 200, f"{href}: HTTP {response.status_code}"
    m = COUNT_RE.search(response.get_data(as_text=True))
    assert m, f"{href}: no vehicle count on the list page"
    return int(re.sub(r"\D", "", html.unescape(m.group(1))))


def count(user, **where) -> int:
    """Direct count of the user's vehicles with column equalities (for expected figures)."""
    stmt = select(func.count()).select_from(Vehicle).filter_by(**where)
    return db.session.execute(Scope.for_user(user).filter(stmt, Vehicle)).scalar_one()
