"""Benchmark of the send decision engine (§6.5, issue 4).

1. The engine alone: 100,000 synthetic vehicles × 50 media with realistic configurations
   (target ≤ 2 s on one core).
2. A one-concession dry run from the database via compute_decisions (~500 vehicles × 20 media,
   target ≤ 0.3 s), on a throw-away SQLite database (or DATABASE_URL).

Run: .venv/bin/python bench/engine.py [--vehicles 100000] [--media 50] [--skip-db]
Prints figures; asserts nothing (speed is never a test).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from models.send_decision import (MANDATORY_FIELDS, ORDERINGS, ConfigInput, CustomFilter,  # noqa: E402
                                  DecisionInputs, MediumInput, StateInput, SubscriptionInput, VehicleInput,
                                  counts_by_list, counts_by_medium, decide, fields_mask)

TODAY = dt.date(2026, 6, 15)
MAKES = ("RENAULT", "PEUGEOT", "CITROEN", "DACIA", "VOLKSWAGEN", "TOYOTA", "BMW", "AUDI", "FORD", "OPEL")
COLOURS = ("Blanc", "Gris", "Noir", "Bleu", "Rouge")
COMMON_REQUIREMENTS = (("gearbox", "sale_price_ttc", "mileage", "photo", "body_category"),
                       ("sale_price_ttc", "photo"), ("gearbox", "sale_price_ttc"), ("sale_price_ttc",), ())


def synthetic_inputs(n_vehicles=100_000, n_media=50, n_concessions=200, seed=1) -> DecisionInputs:
    """A network like the demo's at scale: every concession subscribes most media with 1–3 lists."""
    rng = random.Random(seed)
    full = fields_mask(MANDATORY_FIELDS)
    optional = ["gearbox", "body_category", "sale_price_ttc", "photo", "colour", "vin", "mileage"]
    sites_of = {c: [c * 10 + i for i in range(rng.randint(1, 4))] for c in range(1, n_concessions + 1)}
    all_sites = [(c, s) for c, sites in sites_of.items() for s in sites]
    vehicles = []
    for i in range(1, n_vehicles + 1):
        concession, site = rng.choice(all_sites)
        missing = [k for k in optional if rng.random() < 0.06]
        photos = 0 if "photo" in missing else rng.randint(1, 25)
        price = None if "sale_price_ttc" in missing else float(rng.randrange(3000, 60000, 10))
        vehicles.append(VehicleInput(
            i, concession, site, rng.choices(("ST", "VD", "DV", "ARR", "CDE", "VND"), (62, 10, 8, 8, 7, 5))[0],
            rng.choices(("retail", "trade", "none", "destruction", "transfer"), (55, 20, 19, 2, 4))[0],
            full & ~fields_mask(missing), rng.choice(MAKES), rng.choice(("VP", "VP", "VP", "VU")),
            rng.choice(COLOURS), rng.choice((None, *range(0, 11))), photos,
            TODAY - dt.timedelta(days=int(rng.expovariate(1 / 70))),
            TODAY - dt.timedelta(days=rng.randint(0, 60)), dt.date(rng.randint(2012, 2026), rng.randint(1, 12), 1),
            price, None if price is None else price * 0.85, rng.random() < 0.8))
    media = [MediumInput(m, f"Média {m}", "trade" if m % 10 == 0 else "retail",
                         rng.choice(COMMON_REQUIREMENTS)) for m in range(1, n_media + 1)]
    configs, subscriptions, states = {}, [], []
    list_id = 0
    filters = [CustomFilter(min_score=6), CustomFilter(max_stock_days=180, min_sale_price=1000),
               CustomFilter(min_photos=3, requires_cote=True), CustomFilter(makes=frozenset({"RENAULT", "DACIA"})),
               CustomFilter(max_vehicle_age=8, max_price_age_days=45)]
    lists_of = {}
    for c, sites in sites_of.items():
        lists_of[c] = []
        for _ in range(rng.randint(1, 3)):
            list_id += 1
            lists_of[c].append((list_id, tuple(rng.sample(sites, rng.randint(1, len(sites))))))
    for c in sites_of:
        for medium in media:
            if rng.random() > 0.85:  # most concessions subscribe most media
                continue
            limit_mode = rng.choices(("none", "global", "per_list"), (70, 20, 10))[0]
            configs[(c, medium.id)] = ConfigInput(
                c, medium.id, selection_mode="manual" if rng.random() < 0.05 else "auto", limit_mode=limit_mode,
                limit_value=rng.choice((20, 45, 100, 300)) if limit_mode == "global" else None,
                ordering=rng.choice(ORDERINGS), admin_imposed=rng.random() < 0.02,
                custom_filter=rng.choice(filters) if rng.random() < 0.3 else None)
            for lid, sites in lists_of[c]:
                subscriptions.append(SubscriptionInput(medium.id, lid, c, sites, f"bm{lid}c{medium.id}",
                                                       rng.choice((10, 25, 50)) if limit_mode == "per_list"
                                                       else None))
    for v in rng.sample(vehicles, n_vehicles // 10):  # one vehicle in ten has a state on a few media
        for m in rng.sample(media, 3):
            states.append(StateInput(v.id, m.id, rng.choice("PSDDD"), rng.random() < 0.01))
    return DecisionInputs(vehicles, media, configs, subscriptions, states, TODAY)


def bench_engine(n_vehicles, n_media, repeat=3):
    started = time.perf_counter()
    inputs = synthetic_inputs(n_vehicles, n_media)
    print(f"synthetic inputs: {len(inputs.vehicles):,} vehicles, {len(inputs.media)} media, "
          f"{len(inputs.configs):,} configurations, {len(inputs.subscriptions):,} subscriptions, "
          f"{len(inputs.states):,} states (built in {time.perf_counter() - started:.1f} s)")
    best = best_cpu = None
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = decide(inputs)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - started_cpu
        best = elapsed if best is None else min(best, elapsed)
        best_cpu = cpu if best_cpu is None else min(best_cpu, cpu)
    candidates = len(result)
    counts = counts_by_medium(result)
    totals = {o: sum(c[o] for c in counts.values()) for o in next(iter(counts.values()))}
    started = time.perf_counter()
    counts_by_medium(result), counts_by_list(result)
    summary = time.perf_counter() - started
    started = time.perf_counter()
    materialised = sum(1 for _ in result)
    iterate = time.perf_counter() - started
    print(f"engine decide(): {best:.2f} s wall, {best_cpu:.2f} s CPU (best of {repeat}; one core) for "
          f"{candidates:,} candidates (vehicle × medium × list); load average {os.getloadavg()[0]:.1f}")
    print("  outcomes: " + ", ".join(f"{k} {v:,}" for k, v in totals.items()))
    print(f"  summaries (counts per medium and per list): {summary * 1000:.0f} ms")
    print(f"  materialising every Decision object ({materialised:,}): {iterate:.2f} s")
    return best


def bench_database(n_vehicles=500, n_media=20, repeat=5):
    """One concession's dry run from a database: compute_decisions as the dashboard calls it."""
    import tempfile

    from backoffice import create_app
    from backoffice.extensions import db
    from models import Concession, Filiale, Pole, Site, Vehicle
    from models.publication import (ListSubscription, Medium, MediumConfig, PublicationList, VehicleMediumState,
                                    compute_decision_set, compute_decisions)
    from sqlalchemy import insert, select

    from backoffice.demo.vehicles import vehicle_row

    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    rng = random.Random(3)
    with app.app_context():
        db.drop_all()
        db.create_all()
        pole = Pole(name="Pôle", filiale=Filiale(name="Filiale"))
        concessions = [Concession(code=f"C{i}", name=f"Concession {i}", pole=pole) for i in range(10)]
        for c in concessions:
            c.sites = [Site(code=f"S{j}", name=f"{c.code} site {j}") for j in range(3)]
        db.session.add_all(concessions)
        db.session.commit()
        sites = db.session.execute(select(Site.id, Site.concession_id)).all()
        rows = []
        for n in range(n_vehicles * len(concessions)):
            site = sites[n % len(sites)]
            rows.append(vehicle_row(rng, TODAY, site.concession_id, site.id, None, n + 1))
        db.session.execute(insert(Vehicle), rows)
        media = [Medium(name=f"Média {m}", code=f"m{m}", destination="trade" if m % 10 == 0 else "retail",
                        mandatory_fields=list(rng.choice(COMMON_REQUIREMENTS))) for m in range(n_media)]
        db.session.add_all(media)
        db.session.flush()
        for c in concessions:
            plist = PublicationList(concession_id=c.id, name=f"Liste {c.code}", codes="PE05 AU62", sites=c.sites)
            db.session.add(plist)
            for m in media:
                config = MediumConfig(concession_id=c.id, medium_id=m.id, ordering=rng.choice(ORDERINGS),
                                      limit_mode=rng.choice(("none", "global")), limit_value=100,
                                      filter_min_score=rng.choice((None, 5)))
                config.subscriptions.append(ListSubscription(publication_list=plist, concession_id=c.id,
                                                             customer_code="bm11c1"))
                db.session.add(config)
        db.session.flush()
        target = concessions[0]
        ids = db.session.execute(select(Vehicle.id).where(Vehicle.concession_id == target.id)).scalars().all()
        db.session.execute(insert(VehicleMediumState), [
            dict(vehicle_id=v, medium_id=rng.choice(media).id, concession_id=target.id, state=rng.choice("PSD"))
            for v in rng.sample(ids, 60)])
        db.session.commit()
        timings, cpu = [], []
        for _ in range(repeat):
            db.session.expire_all()
            started, started_cpu = time.perf_counter(), time.process_time()
            decisions = compute_decisions(db.session, concession_ids=[target.id], today=TODAY)
            timings.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        started = time.perf_counter()
        compute_decision_set(db.session, concession_ids=[target.id], today=TODAY)
        grouped = time.perf_counter() - started
        print(f"database dry run ({db.engine.dialect.name}): one concession of {len(ids)} vehicles × {n_media} "
              f"media → {len(decisions):,} decisions in {min(timings):.3f} s wall, {min(cpu):.3f} s CPU "
              f"(best of {repeat}; "
              f"grouped DecisionSet {grouped:.3f} s)")
        db.session.remove()  # end the read transaction, else PostgreSQL's DROP waits on it
        db.drop_all()
    return min(timings)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=100_000)
    parser.add_argument("--media", type=int, default=50)
    parser.add_argument("--skip-db", action="store_true")
    args = parser.parse_args()
    bench_engine(args.vehicles, args.media)
    if not args.skip_db:
        bench_database()
