"""Benchmark of the campaign conflict rules (§7, §9): prints figures, asserts nothing.

    .venv/bin/python bench/campaigns.py [--offers 50000] [--concessions 2000]

The data set is shaped like the real network at size: one filiale flash of 20 offers sent to every
concession (its copies are most of the offers), previous and next months' flashes, and dealer campaigns
sharing references with the flash so that conflicts exist. Targets: full scan ≤ 100 ms, check on save ≤ 5 ms.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from models.campaign_rules import ConflictIndex, OfferSpan, find_conflicts  # noqa: E402

REFERENCES = [f"MODEL-{i:03d}" for i in range(400)]


def build_spans(offers: int, concessions: int, seed: int = 7) -> list[OfferSpan]:
    rng = random.Random(seed)
    spans: list[OfferSpan] = []
    oid = cid = 0
    month = dt.date(2026, 3, 1)
    flash_refs = rng.sample(REFERENCES, 20)
    all_concessions = frozenset(range(1, concessions + 1))
    # Master flashes of three months (targets: everyone).
    masters = []
    for m, (start, end) in enumerate(((dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
                                      (month, dt.date(2026, 3, 31)), (dt.date(2026, 4, 1), dt.date(2026, 4, 30)))):
        cid += 1
        masters.append((cid, start, end))
        for ref in flash_refs:
            oid += 1
            spans.append(OfferSpan(oid, cid, ref, start, end, "filiale", None, all_concessions, cid, start))
    current_master = masters[1][0]
    copy_budget = int(offers * 0.8)
    c = 1
    while len(spans) < copy_budget and c <= concessions:
        cid += 1
        validated = dt.datetime(2026, 3, 1, 8) + dt.timedelta(minutes=rng.randint(0, 5000))
        for ref in flash_refs:
            oid += 1
            spans.append(OfferSpan(oid, cid, ref, month, dt.date(2026, 3, 31), "filiale", c, frozenset(),
                                   current_master, month, validated))
        c += 1
    while len(spans) < offers:
        cid += 1
        concession = rng.randint(1, concessions)
        start = month + dt.timedelta(days=rng.randint(-20, 40))
        for _ in range(rng.randint(1, 5)):
            oid += 1
            s = start + dt.timedelta(days=rng.randint(0, 5))
            ref = rng.choice(flash_refs) if rng.random() < 0.3 else rng.choice(REFERENCES)
            spans.append(OfferSpan(oid, cid, ref, s, s + dt.timedelta(days=rng.randint(3, 20)), "dealer",
                                   concession, frozenset(), cid, start))
    return spans[:offers]


def load_spans(spans, concessions: int, state_of) -> dict:
    """The network, campaigns and offers of ``spans`` in the database (set-based inserts, committed);
    ``state_of(span)`` gives the state of a span's campaign. Returns campaign id → its first span."""
    from sqlalchemy import insert

    from backoffice.extensions import db
    from models import Concession, Filiale, Pole
    from models.campaign import Campaign, Offer, campaign_concession

    pole = Pole(name="Pôle", filiale=Filiale(name="Filiale"))
    db.session.add(pole)
    db.session.flush()
    db.session.execute(insert(Concession), [{"id": i, "code": f"C{i:04d}", "name": f"Concession {i}",
                                             "pole_id": pole.id} for i in range(1, concessions + 1)])
    campaigns = {}
    for s in spans:
        campaigns.setdefault(s.campaign_id, s)
    rows = [{"id": cid, "name": f"Campagne {cid}", "kind": "dealer" if s.owner == "dealer" else "flash",
             "concession_id": s.concession_id,
             "parent_id": None if s.concession_id is None or s.owner == "dealer" else s.family_id,
             "start_date": s.campaign_start, "end_date": s.campaign_start + dt.timedelta(days=60),
             "state": state_of(s), "validated_at": s.validated_at} for cid, s in campaigns.items()]
    db.session.execute(insert(Campaign), sorted(rows, key=lambda r: r["parent_id"] is not None))
    db.session.execute(insert(campaign_concession), [
        {"campaign_id": cid, "concession_id": c} for cid, s in campaigns.items() if s.concession_id is None
        for c in s.targets])
    db.session.execute(insert(Offer), [
        {"id": s.offer_id, "campaign_id": s.campaign_id, "reference": s.reference, "label": s.reference,
         "discount_kind": "amount", "discount_value": 100, "start_date": s.start, "end_date": s.end,
         "origin": "filiale" if s.owner == "filiale" else "dealer", "deleted": False} for s in spans])
    db.session.commit()
    return campaigns


def timed(func, repeat):
    runs = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = func()
        runs.append((time.perf_counter() - started) * 1000)
    return result, min(runs), statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=50_000)
    parser.add_argument("--concessions", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", action="store_true",
                        help="Also load the offers into a scratch SQLite database (or DATABASE_URL) and time "
                             "the check on save as the app runs it (query + check).")
    args = parser.parse_args()

    spans = build_spans(args.offers, args.concessions)
    conflicts, best, median = timed(lambda: find_conflicts(spans), args.repeat)
    pairs = sum(len(v) for v in conflicts.values()) // 2
    print(f"conflict scan: {len(spans):,} offers, {len(conflicts):,} offers in conflict ({pairs:,} pairs): "
          f"best {best:.1f} ms, median {median:.1f} ms (target ≤ 100 ms)")

    index, ibest, _ = timed(lambda: ConflictIndex(spans), 1)
    rng = random.Random(1)
    probes = [rng.choice(spans) for _ in range(200)]
    times = []
    for p in probes:
        started = time.perf_counter()
        index.check(p)
        times.append((time.perf_counter() - started) * 1000)
    print(f"check on save (index of {len(spans):,} offers, built in {ibest:.1f} ms once): "
          f"median {statistics.median(times):.3f} ms, worst {max(times):.3f} ms over {len(probes)} offers "
          f"(target ≤ 5 ms)")

    # The check as the app does it: only the offers of the saved offer's reference are loaded.
    probe = probes[0]
    same_ref = [s for s in spans if s.reference == probe.reference]
    _, rbest, rmedian = timed(lambda: ConflictIndex(same_ref).check(probe), 20)
    print(f"check on save from the {len(same_ref):,} offers of one reference (what check_offer_conflicts "
          f"loads): best {rbest:.2f} ms, median {rmedian:.2f} ms")
    if args.db:
        bench_database(spans, args.concessions)


def bench_database(spans, concessions: int) -> None:
    """Time check_offer_conflicts (one query on the reference + the check) and the full load + scan."""
    import tempfile

    os.environ.setdefault("BACKOFFICE_INSTANCE_PATH", tempfile.mkdtemp(prefix="bench-campaigns-"))

    from backoffice import create_app
    from backoffice.extensions import db
    from models.campaign import Offer, check_offer_conflicts, offer_spans

    url = os.environ.get("DATABASE_URL") or "sqlite:///" + os.path.join(tempfile.mkdtemp(), "bench.sqlite3")
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        db.drop_all()
        db.create_all()
        campaigns = load_spans(spans, concessions, lambda s: "validated" if s.validated_at else "draft")
        print(f"database ({db.engine.dialect.name}): {len(spans):,} offers in {len(campaigns):,} campaigns loaded")
        rng = random.Random(3)
        ids = [s.offer_id for s in rng.sample(spans, 50)]
        times = []
        for oid in ids:
            offer = db.session.get(Offer, oid)
            started = time.perf_counter()
            check_offer_conflicts(db.session, offer)
            times.append((time.perf_counter() - started) * 1000)
        print(f"check on save with the database (query of the reference + check): "
              f"median {statistics.median(times):.1f} ms, worst {max(times):.1f} ms over {len(ids)} offers")
        started = time.perf_counter()
        loaded = offer_spans(db.session)
        load_ms = (time.perf_counter() - started) * 1000
        _, scan_best, _ = timed(lambda: find_conflicts(loaded), 3)
        print(f"calendar scan with the database (every offer of the network): load {load_ms:.0f} ms + scan "
              f"{scan_best:.0f} ms")
        month = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
        started = time.perf_counter()
        loaded = offer_spans(db.session, period=month)
        load_ms = (time.perf_counter() - started) * 1000
        _, scan_best, _ = timed(lambda: find_conflicts(loaded), 3)
        print(f"calendar of one month with the database ({len(loaded):,} offers): load {load_ms:.0f} ms + scan "
              f"{scan_best:.0f} ms")


if __name__ == "__main__":
    main()
