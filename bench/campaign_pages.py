"""Benchmark of the campaign journey pages at network size (§9): prints figures, asserts nothing.

    .venv/bin/python bench/campaign_pages.py [--offers 50000] [--concessions 2000] [--repeat 3]

Loads the data set of bench/campaigns.py (a flash sent to every concession, dealer campaigns sharing its
references) into a scratch SQLite database (or DATABASE_URL), then times, through the app as a browser
would call it: the calendar of one month as the filiale (every offer of the network) and as a CDV (one
concession), a concession's copy of the flash, the filiale's master flash page, and saving an offer with
its conflict warning.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("BACKOFFICE_INSTANCE_PATH", tempfile.mkdtemp(prefix="bench-campaign-pages-"))

from bench.campaigns import build_spans, load_spans, timed  # noqa: E402


def load(spans, concessions):
    # Masters are sent, dealers' copies received, until validated.
    return load_spans(spans, concessions, lambda s: "validated" if s.validated_at else (
        "sent" if s.concession_id is None else "received"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=50_000)
    parser.add_argument("--concessions", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from backoffice import create_app
    from backoffice.extensions import db
    from backoffice.security import create_user
    from models import Concession
    from tests.conftest import BackofficeClient

    url = os.environ.get("DATABASE_URL") or "sqlite:///" + os.path.join(tempfile.mkdtemp(), "bench.sqlite3")
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    spans = build_spans(args.offers, args.concessions)
    with app.app_context():
        db.drop_all()
        db.create_all()
        started = time.perf_counter()
        campaigns = load(spans, args.concessions)
        print(f"database ({db.engine.dialect.name}): {len(spans):,} offers in {len(campaigns):,} campaigns, "
              f"loaded in {time.perf_counter() - started:.1f} s")
        create_user("filiale@bench.example", "demo-password", "filiale")
        busiest = max(range(1, args.concessions + 1),
                      key=lambda c: sum(1 for s in spans if s.concession_id == c))
        create_user("cdv@bench.example", "demo-password", "dealer_manager",
                    concessions=[db.session.get(Concession, busiest)])
        db.session.commit()
        master = next(cid for cid, s in campaigns.items()
                      if s.concession_id is None and s.campaign_start == dt.date(2026, 3, 1))
        copy = next(cid for cid, s in campaigns.items() if s.concession_id == busiest and s.owner == "filiale"
                    and s.campaign_start == dt.date(2026, 3, 1))

    filiale, cdv = BackofficeClient(app.test_client()), BackofficeClient(app.test_client())
    filiale.login("filiale@bench.example")
    cdv.login("cdv@bench.example")
    for who, client, path in (
            ("filiale", filiale, "/campaigns/calendar/?month=2026-03"),
            ("filiale", filiale, "/campaigns/calendar/?month=2026-03&view=grid"),
            ("filiale", filiale, "/campaigns/calendar/?month=2026-03&sort=offer"),
            ("cdv", cdv, "/campaigns/calendar/?month=2026-03"),
            ("cdv", cdv, f"/campaigns/{copy}/"),
            ("filiale", filiale, f"/campaigns/{master}/"),
            ("filiale", filiale, "/campaigns/"),
            ("cdv", cdv, "/campaigns/")):
        response, best, median = timed(lambda: client.get(path), args.repeat)
        status = response.status_code
        print(f"GET {path} as {who}: {status}, best {best:.0f} ms, median {median:.0f} ms")

    html = cdv.get(f"/campaigns/{copy}/").get_data(as_text=True)
    reference = re.search(r'data-reference="([^"]+)"', html).group(1)
    times = []
    for i in range(args.repeat):
        started = time.perf_counter()
        response = cdv.form(f"/campaigns/{copy}/offers/new", {
            "reference": reference, "label": f"Bench {i}", "discount_kind": "amount", "discount_value": "100",
            "start_date": "2026-03-10", "end_date": "2026-03-12"})
        times.append((time.perf_counter() - started) * 1000)
    print(f"POST a new offer ({reference}, with its conflict warning) as cdv: {response.status_code}, "
          f"best {min(times):.0f} ms, median {statistics.median(times):.0f} ms")


if __name__ == "__main__":
    main()
