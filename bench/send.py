"""Benchmark of the send (issue 5): a full send from PostgreSQL, every feed file and the report.

    createdb -h 127.0.0.1 -U postgres bench_h5
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_h5 REDIS_URL=redis://127.0.0.1:6379/1 \
        .venv/bin/python bench/send.py --vehicles 100000 --media 50 --workers 1 2

Builds the data once (``--rebuild`` to start again): ``--vehicles`` vehicles over 200 concessions
(2 sites each), ``--media`` media cycling over every feed format, each configured for every
concession with one publication list. Then, for each worker count, it starts a send, runs that many
real ``flask worker --burst`` processes and reports the wall time until the run is finished, and the
peak RSS of any worker process (work horses included), sampled from /proc every 0.2 s (getrusage
would count this script's own memory: a child started by fork+exec inherits its parent's high-water
mark). Also
measures each feed writer alone in rows per second on one core. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import resource
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("FEED_FOLDER", "/tmp/bench_h5_feeds")
os.environ.setdefault("BACKOFFICE_INSTANCE_PATH", "/tmp/bench_h5_instance")
os.environ.setdefault("SEND_RETRY_INTERVALS", "0")
os.environ.setdefault("SEND_QUEUE", "bench-send")   # its own queue: test sessions on the same Redis never mix

MAKES = [("RENAULT", "CLIO", "hatchback"), ("PEUGEOT", "3008", "suv"), ("BMW", "SERIE 3", "sedan"),
         ("CITROEN", "C4", "hatchback"), ("VOLKSWAGEN", "GOLF", "hatchback"), ("TOYOTA", "YARIS", "hatchback"),
         ("AUDI", "A4 AVANT", "estate"), ("MINI", "COUNTRYMAN", "suv")]
FORMAT_CYCLE = ["generic_xml", "generic_csv", "google_vehicle_listings", "meta_catalog_csv", "meta_catalog_xml",
                "mobile_de_csv"]


def build(app, vehicles: int, media: int, concessions: int = 200) -> None:
    from sqlalchemy import insert

    from backoffice.extensions import db
    from models import Concession, Filiale, Pole, Site, Vehicle
    from models.publication import (ListSubscription, Medium, MediumConfig, PublicationList,
                                    publication_list_site)

    rng = random.Random(5)
    with app.app_context():
        db.drop_all()
        db.create_all()
        filiale = Filiale(name="Filiale bench")
        pole = Pole(name="Pôle bench", filiale=filiale)
        db.session.add_all([filiale, pole])
        db.session.flush()
        db.session.execute(insert(Concession), [
            {"code": f"C{i:04d}", "name": f"Concession {i}", "pole_id": pole.id} for i in range(concessions)])
        cids = [c.id for c in db.session.query(Concession).order_by(Concession.id)]
        db.session.execute(insert(Site), [
            {"concession_id": cid, "code": f"S{cid}{k}", "name": f"Site {cid}-{k}", "address": "1 rue du Stock",
             "postcode": "59000", "city": "Lille", "manager_name": "Responsable", "manager_phone": "0320000000"}
            for cid in cids for k in (1, 2)])
        sites = [(s.id, s.concession_id) for s in db.session.query(Site).order_by(Site.id)]
        today = dt.date.today()
        rows = []
        for n in range(vehicles):
            site_id, cid = sites[n % len(sites)]
            make, model, body = MAKES[n % len(MAKES)]
            price = Decimal(rng.randrange(6000, 60000))
            rows.append({
                "concession_id": cid, "site_id": site_id, "entry_number": f"{n:06d}", "status": "ST",
                "destination": "retail", "affectation": "sale", "make": make, "model": model,
                "version": "1.5 dCi 110 Business", "family": model, "genre": "VP", "energy": "diesel",
                "gearbox": None if n % 37 == 0 else ("manual" if n % 3 else "automatic"),
                "body_category": body, "mileage": rng.randrange(5000, 180000),
                "first_registration_date": today - dt.timedelta(days=rng.randrange(200, 3000)),
                "entry_date": today - dt.timedelta(days=rng.randrange(1, 200)), "sale_price_ttc": price,
                "sale_price_ht": (price / Decimal("1.2")).quantize(Decimal("0.01")), "vat_rate": Decimal("20"),
                "price_changed_on": today - dt.timedelta(days=rng.randrange(1, 90)), "colour": "Gris",
                "photo_count": 0 if n % 41 == 0 else rng.randrange(1, 15), "referenced": True,
                "vin": f"VF1{n:014d}", "description": "Très bon état, entretien à jour & garantie 12 mois",
                "score": rng.randrange(0, 11),
            })
            if len(rows) == 10000:
                db.session.execute(insert(Vehicle), rows)
                rows = []
        if rows:
            db.session.execute(insert(Vehicle), rows)
        db.session.execute(insert(PublicationList), [
            {"concession_id": cid, "name": "Toutes", "codes": f"L{cid}"} for cid in cids])
        lists = {pl.concession_id: pl.id for pl in db.session.query(PublicationList)}
        db.session.execute(insert(publication_list_site), [
            {"publication_list_id": lists[cid], "site_id": sid} for sid, cid in sites])
        db.session.execute(insert(Medium), [
            {"name": f"Média {m:02d}", "code": f"M{m:02d}", "kind": "classified", "destination": "retail",
             "feed_format": FORMAT_CYCLE[m % len(FORMAT_CYCLE)], "delivery_kind": "folder",
             "mandatory_fields": ["gearbox"] if m % 2 else [], "active": True} for m in range(media)])
        mids = [m.id for m in db.session.query(Medium).order_by(Medium.id)]
        db.session.execute(insert(MediumConfig), [
            {"concession_id": cid, "medium_id": mid, "selection_mode": "auto", "limit_mode": "none",
             "ordering": "score", "filter_min_score": 2 if mid % 5 == 0 else None}
            for mid in mids for cid in cids])
        configs = {(c.concession_id, c.medium_id): c.id for c in db.session.query(MediumConfig)}
        db.session.execute(insert(ListSubscription), [
            {"config_id": configs[(cid, mid)], "publication_list_id": lists[cid], "concession_id": cid,
             "customer_code": f"bm{cid}c{mid}"} for mid in mids for cid in cids])
        db.session.commit()


def bench_writers(app) -> None:
    from jobs.feeds import FORMATS
    from jobs.feeds.rows import feed_row, labels

    with app.app_context():
        names = labels()
        base = dict(
            id=1, entry_number="2029", vin="WBAFG41000LJ12345", registration="AB-123-CD", status="ST", genre="VP",
            make="BMW", model="X6", family="X6", version="xDrive40d 313 ch", energy="diesel", gearbox="automatic",
            body_category="suv", colour="Noir métallisé", doors=5, seats=5, fiscal_power=22, co2=190,
            mileage=53800, sale_price_ttc=Decimal("74990.00"), first_registration_date=dt.date(2019, 3, 14),
            registration_date=None, description="Toit ouvrant & sièges chauffants", photo_count=8,
            concession_id=1, site_id=1, site_code="GAP", site_name="Gap", site_address="12 avenue d'Embrun",
            site_postcode="05000", site_city="Gap", site_manager_name="Marie", site_manager_phone="0492",
            site_manager_email=None, concession_code="NORD", concession_name="Nord", customer_code="bm11c1")
        n = 100_000
        t = time.perf_counter()
        rows = [feed_row({**base, "id": i, "entry_number": str(i)}, "https://vo.example.fr", None, names)
                for i in range(n)]
        print(f"  row preparation: {n / (time.perf_counter() - t):,.0f} rows/s")

        class M:
            code, name = "BENCH", "Bench"
        import tempfile

        from jobs.feeds.templates import ListingStore, build_store, write_feed

        print("  per format: a whole feed written from rows | the send's two steps: rendering the store once per"
              " run, then writing one medium's feed from it (rows/s on one core, CPU time)")
        folder = Path(tempfile.mkdtemp(prefix="bench_h5_store_"))
        ids = [r["id"] for r in rows]
        for key, fmt in FORMATS.items():
            out = io.BytesIO()
            c = time.process_time()
            fmt.write(rows, M(), out)
            direct = n / (time.process_time() - c)
            c = time.process_time()
            build_store(fmt, rows, folder / key)
            render = n / (time.process_time() - c)
            store, medium_out = ListingStore(folder / key), io.BytesIO()
            c = time.process_time()
            write_feed(fmt, M(), store, [("bm11c1", ids, None)], medium_out)
            fill = n / (time.process_time() - c)
            print(f"  writer {key:<24} {direct:>9,.0f} | store {render:>9,.0f} then medium feed {fill:>11,.0f}"
                  f"  ({len(out.getvalue()) / 1e6:.0f} MB)")
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


class PeakRss:
    """The largest resident set of any process under the given ones, sampled in a thread."""

    def __init__(self, roots: list[int], every: float = 0.2):
        import threading

        self.roots, self.every, self.peak_kb, self._stop = set(roots), every, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> set[int]:
        parents = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    parents[int(entry)] = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    pass
        tree, grew = set(self.roots), True
        while grew:
            added = {pid for pid, ppid in parents.items() if ppid in tree and pid not in tree}
            tree |= added
            grew = bool(added)
        return tree

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self._tree():
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                except OSError:
                    pass
            self._stop.wait(self.every)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak_kb


def run_send(app, workers: int) -> None:
    from redis import Redis

    from backoffice.extensions import db
    from jobs.send import start_send
    from models.send import SendRun, report_row_count

    from rq import Queue

    Queue(os.environ["SEND_QUEUE"], connection=Redis.from_url(os.environ["REDIS_URL"])).delete(delete_jobs=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    env = dict(os.environ, BACKOFFICE_ENV="development")
    with app.app_context():
        started = time.perf_counter()
        run_id = start_send(kind="manual")
        enqueued = time.perf_counter() - started
        procs = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi.py", "worker",
                                   os.environ["SEND_QUEUE"], "--burst"],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for _ in range(workers)]
        sampler = PeakRss([p.pid for p in procs])
        for p in procs:
            _, err = p.communicate()
            if p.returncode:
                print(err.decode()[-2000:])
        elapsed = time.perf_counter() - started
        db.session.expire_all()
        run = db.session.get(SendRun, run_id)
        outcomes = report_row_count(db.session, run_id)   # SendOutcome (not sent) + SentListings rows
        states = {m.status for m in run.media}
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak = sampler.stop() / 1024
    print(f"  {workers} worker(s): wall {elapsed:.1f} s for {len(run.media)} media (enqueue {enqueued:.1f} s, "
          f"load average {load:.1f} on {os.cpu_count()} cores), workers' CPU {cpu:.1f} s "
          f"(≈ {cpu / workers:.1f} s each; PostgreSQL's share not counted), run {run.status}, media "
          f"{sorted(states)}, {outcomes:,} report rows; peak RSS of a worker process {peak:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vehicles", type=int, default=100_000)
    parser.add_argument("--media", type=int, default=50)
    parser.add_argument("--workers", type=int, nargs="*", default=[2, 1])
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--skip-writers", action="store_true")
    args = parser.parse_args()
    if "postgresql" not in os.environ.get("DATABASE_URL", ""):
        sys.exit("set DATABASE_URL to a PostgreSQL database of your own (bench_h5)")
    if not os.environ.get("REDIS_URL"):
        sys.exit("set REDIS_URL (redis://127.0.0.1:6379/1)")
    from backoffice import create_app
    from backoffice.extensions import db
    from models import Vehicle
    from models.publication import Medium

    app = create_app("development")
    with app.app_context():
        try:
            have = (db.session.query(Vehicle).count(), db.session.query(Medium).count())
        except Exception:
            db.session.rollback()
            have = (0, 0)
    if args.rebuild or have != (args.vehicles, args.media):
        t = time.perf_counter()
        build(app, args.vehicles, args.media)
        print(f"data built: {args.vehicles:,} vehicles, {args.media} media in {time.perf_counter() - t:.0f} s")
    print(f"send of {args.vehicles:,} vehicles × {args.media} media (PostgreSQL, RQ on Redis):")
    if not args.skip_writers:
        bench_writers(app)
    for workers in args.workers:
        run_send(app, workers)


if __name__ == "__main__":
    main()
