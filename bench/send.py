"""Benchmark of the send (issue 5): a full send from PostgreSQL, every feed file and the report.

    createdb -h 127.0.0.1 -U postgres bench_h5
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_h5 REDIS_URL=redis://127.0.0.1:6379/1 \
        .venv/bin/python bench/send.py --vehicles 100000 --media 50 --workers 1 2

Builds the data once (``--rebuild`` to start again): ``--vehicles`` vehicles over 200 concessions
(2 sites each), ``--media`` media cycling over every feed format, each configured for every
concession with one publication list. Also measures each feed writer alone in rows per second on
one core (``--skip-writers`` to leave that out). The database is then ANALYZEd, as autovacuum would
have done on a production server.

First it measures the disk of ``FEED_FOLDER`` as the send uses it: two threads each write five
100 MB files of data that never repeats through the send's ``FeedFile`` (direct I/O, fsync at the
end of each). Each send's line then gives its feeds' size at that speed: the wall time no send
could beat on this disk, whatever its CPU (a virtual disk whose host flushes on fsync may take
300 MB/s where a local NVMe takes GB/s).

Then, for each worker count of ``--workers``, two sends, each with workers standing by as in
production (where the RQ workers already run when the nightly send is enqueued at 02:00):

1. **first send (cold cache)**: the cache of rendered listings the send keeps between runs
   (``FEED_FOLDER/.listings/``) is removed first, if it exists;
2. **next night**: ``--changed-share`` (5 %) of the stock is changed first, as a day of dealer work
   would: one set-based UPDATE on a random (seeded, different at each next-night send) share of the
   vehicles lowers their price by 300 € (TTC, HT recomputed, price date today) and adds 100 km to
   their mileage. This modifies the benchmark database's vehicle rows on purpose, and the changes
   stay (a later run of this script starts from the changed stock). The cache is kept.
   ``--next-night-only`` runs only this one, on the cache an earlier run left (to compare changes
   to the nightly path quickly; without a cache it is a cold send). ``--nights N`` runs N next
   nights in a row, the disk measured again before each, then prints their wall times' minimum,
   median and maximum, and the same for the time above each one's disk floor (the disk and CPU
   speed of a virtual machine can move by a third within minutes).

Each send starts that many real ``flask worker <SEND_QUEUE>`` processes (not ``--burst``), waits
until all are registered and idle in Redis (reported as "start-up", not part of the wall time),
then calls ``start_send`` and reports:

- wall: from the ``start_send`` call (enqueueing included, also shown alone) until the run's
  ``finished_at`` is set in the database (polled every 0.05 s); the PDF bilan the run then asks for
  goes to the report queue, not to these workers, and is not counted; the feeds and stores the run
  replaced are freed after that by the worker that ended it: the time until they are is shown apart
  (and their CPU is in the workers');
- workers' CPU: user + system time of the worker processes and their work horses (getrusage of
  the children once they have exited), which includes their start-up (shown apart, read from
  /proc when they stand by) and their shutdown;
- PostgreSQL's CPU during the send (its processes' CPU time from /proc, when it runs on this
  machine: on a 2-core machine it shares the cores with the workers);
- peak RSS: the largest resident set of any worker process (work horses included) from their start
  to their stop, sampled from /proc every 0.2 s (getrusage would count this script's own memory: a
  child started by fork+exec inherits its parent's high-water mark);
- the run's and media's states, the number of report rows and the size of the feeds published.

The workers are then stopped (SIGTERM, RQ's warm shutdown; SIGKILL after 30 s). Their stderr goes to
a temporary file per worker, printed if the worker failed, logged a traceback or the run did not end
"done"; ``--worker-logs DIR`` keeps them (each medium's phase timings, each store's reuse) to see where
a send's time went. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
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


def analyze(app) -> None:
    """ANALYZE the database, as PostgreSQL's autovacuum does after a bulk load: without statistics its
    planner takes the 100,000 vehicles for a few hundred rows and scans them all for every batch of ids
    (110 ms for a batch of 1,000 changed rows instead of 13 ms). A server with autovacuum off (as on
    some test machines) would otherwise run the send with plans no production database has."""
    from sqlalchemy import text

    from backoffice.extensions import db

    with app.app_context(), db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


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


def process_tree(roots: set[int]) -> set[int]:
    """The given processes and all their descendants, from /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    tree, grew = set(roots), True
    while grew:
        added = {pid for pid, ppid in parents.items() if ppid in tree and pid not in tree}
        tree |= added
        grew = bool(added)
    return tree


class PeakRss:
    """The largest resident set of any process under the given ones, sampled in a thread."""

    def __init__(self, roots: list[int], every: float = 0.2):
        import threading

        self.roots, self.every, self.peak_kb, self._stop = set(roots), every, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in process_tree(self.roots):
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process has used itself so far (/proc/<pid>/stat), 0 if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")   # utime, stime


def postgres_cpu_seconds() -> float | None:
    """CPU time of the local PostgreSQL server so far: its live processes, plus the ended backends its
    postmaster has reaped (cutime, cstime); None when no PostgreSQL process runs on this machine."""
    total, found = 0.0, False
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat.rsplit(")", 1)[1].split()
        if not name.startswith("postgres"):
            continue
        found = True
        total += sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")   # utime stime cutime cstime
    return total if found else None


class Workers:
    """N ``flask worker <SEND_QUEUE>`` processes (no ``--burst``): standing by until stopped."""

    def __init__(self, count: int, log_names: list[Path] | None = None):
        env = dict(os.environ, BACKOFFICE_ENV="development")
        # Each worker's stderr (its jobs' phase timings) in a temporary file, or kept under log_names.
        self.logs = ([open(name, "w+b") for name in log_names] if log_names
                     else [tempfile.TemporaryFile() for _ in range(count)])
        self.procs = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi.py", "worker",
                                        os.environ["SEND_QUEUE"]],
                                       cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
                      for log in self.logs]
        self.pids = {p.pid for p in self.procs}

    def wait_idle(self, connection, timeout: float = 180.0) -> None:
        """Until every worker is registered on the queue and idle (blocked waiting for a job)."""
        from rq import Queue, Worker

        queue = Queue(os.environ["SEND_QUEUE"], connection=connection)
        host = socket.gethostname()
        deadline = time.monotonic() + timeout
        while True:
            dead = [p for p in self.procs if p.poll() is not None]
            if dead:
                raise RuntimeError(f"{len(dead)} worker(s) exited during start-up (exit code "
                                   f"{', '.join(str(p.returncode) for p in dead)})")
            # Only ours: a worker killed earlier stays registered until its key expires.
            idle = [w for w in Worker.all(connection=connection, queue=queue)
                    if w.pid in self.pids and w.hostname == host and w.get_state() == "idle"]
            if len(idle) == len(self.procs):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(idle)} of {len(self.procs)} worker(s) registered and idle on "
                                   f"queue {queue.name!r} after {timeout:.0f} s")
            time.sleep(0.05)

    def alive(self) -> bool:
        return any(p.poll() is None for p in self.procs)

    def stop(self, grace: float = 30.0) -> None:
        """SIGTERM (RQ's warm shutdown: a job under way is finished first), SIGKILL after ``grace`` s."""
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for p in self.procs:
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"  worker {p.pid} still running {grace:.0f} s after SIGTERM: killed (SIGKILL), with its"
                      f" work horse if any")
                for pid in process_tree({p.pid}) - {p.pid}:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                p.kill()
                p.wait()

    def errors(self, all_of_them: bool) -> list[str]:
        """The end of each worker's stderr that failed or logged a traceback (every one if ``all_of_them``)."""
        out = []
        for p, log in zip(self.procs, self.logs):
            log.seek(0)
            text = log.read().decode(errors="replace")
            log.close()
            if p.returncode or "Traceback" in text or (all_of_them and text.strip()):
                tail = text if len(text) <= 3000 else "…" + text[-3000:].split("\n", 1)[-1]
                out.append(f"  --- worker {p.pid} (exit code {p.returncode}), end of its stderr:\n" + tail.rstrip())
        return out


def clear_listing_cache() -> None:
    """Remove the cache of rendered listings kept between sends, whether it exists or not."""
    shutil.rmtree(Path(os.environ["FEED_FOLDER"]) / ".listings", ignore_errors=True)


def change_stock(app, share: float, seed: int) -> int:
    """A day of dealer work on ``share`` of the stock, in one set-based UPDATE: a random (``seed``) set
    of vehicles gets its price lowered by 300 € (HT recomputed, price date today) and 100 km more.

    Deliberately modifies the vehicle rows of the benchmark database; returns how many changed."""
    from sqlalchemy import Integer, any_, bindparam, func, select, update
    from sqlalchemy.dialects.postgresql import ARRAY

    from backoffice.extensions import db
    from models import Vehicle
    from models.clock import utcnow

    with app.app_context():
        ids = db.session.execute(select(Vehicle.id).order_by(Vehicle.id)).scalars().all()
        chosen = sorted(random.Random(seed).sample(ids, round(len(ids) * share)))
        ttc = Vehicle.sale_price_ttc - 300
        db.session.execute(
            update(Vehicle)
            .where(Vehicle.id == any_(bindparam("ids", chosen, type_=ARRAY(Integer))))   # one array parameter
            .values(sale_price_ttc=ttc, sale_price_ht=func.round(ttc / (1 + Vehicle.vat_rate / 100), 2),
                    price_changed_on=dt.date.today(), mileage=Vehicle.mileage + 100, updated_at=utcnow())
            .execution_options(synchronize_session=False))
        db.session.commit()
    return len(chosen)


def run_send(app, workers: int, label: str, disk: float, timeout: float = 600.0, log_dir: Path | None = None,
             log_tag: str | None = None) -> tuple[float, float]:
    """One send with ``workers`` workers standing by; prints one line of figures (see the module doc)
    and returns its (wall time, disk floor). With ``log_dir``, each worker's log is kept there
    (``<workers>w-<log_tag, or the label's first word>-<n>.log``)."""
    from redis import Redis
    from rq import Queue

    from backoffice.extensions import db
    from jobs.send import start_send
    from sqlalchemy import func, select

    from jobs.send_plan import RETIRED
    from models.send import RUNNING, PublishedFeed, SendRun, report_row_count

    connection = Redis.from_url(os.environ["REDIS_URL"])
    Queue(os.environ["SEND_QUEUE"], connection=connection).delete(delete_jobs=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    t = time.perf_counter()
    names = None
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        names = [log_dir / f"{workers}w-{log_tag or label.split()[0]}-{n}.log" for n in range(workers)]
    pool = Workers(workers, names)
    sampler = PeakRss(list(pool.pids))
    status = pg_before = pg_after = None
    freed = 0.0
    problem = ""
    try:
        pool.wait_idle(connection)
        startup = time.perf_counter() - t
        startup_cpu = sum(cpu_seconds(pid) for pid in pool.pids)
        with app.app_context():
            pg_before = postgres_cpu_seconds()
            started = time.perf_counter()
            run_id = start_send(kind="manual")
            enqueued = time.perf_counter() - started
            while True:
                db.session.expire_all()
                run = db.session.get(SendRun, run_id)
                finished = run.finished_at is not None or run.status != RUNNING
                elapsed = time.perf_counter() - started
                if finished:
                    break
                if not pool.alive():
                    problem = "every worker exited before the run was finished"
                    break
                if elapsed > timeout:
                    problem = f"the run was not finished after {timeout:.0f} s: gave up"
                    break
                db.session.rollback()   # no transaction left open between polls
                time.sleep(0.05)
            pg_after = postgres_cpu_seconds()
            # The feeds and stores the run replaced are freed once it is over (jobs.send_plan.RETIRED),
            # by the worker that ended it: reported apart, and waited for before the workers stop.
            retired = Path(os.environ["FEED_FOLDER"]) / RETIRED / f"run-{run_id}"
            while retired.exists() and time.perf_counter() - started < timeout:
                time.sleep(0.05)
            freed = time.perf_counter() - started - elapsed
            outcomes = report_row_count(db.session, run_id)   # NotSentListings + SentListings rows
            feed_bytes = db.session.execute(select(func.sum(PublishedFeed.size_bytes))
                                            .where(PublishedFeed.run_id == run_id)).scalar() or 0
            status, media = run.status, len(run.media)
            states = {m.status for m in run.media}
            db.session.rollback()
    except RuntimeError as exc:
        problem = str(exc)
    finally:
        pool.stop()
        peak = sampler.stop() / 1024
    pg = "n/a (not on this machine)" if pg_before is None or pg_after is None else f"{pg_after - pg_before:.1f} s"
    for text in pool.errors(all_of_them=status != "done"):
        print(text)
    if status is None:
        sys.exit(f"  {workers} worker(s), {label}: {problem}")
    if problem:
        print(f"  {workers} worker(s), {label}: {problem}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"  {workers} worker(s), {label}: wall {elapsed:.1f} s for {media} media (enqueue {enqueued:.1f} s;"
          f" workers standing by after {startup:.1f} s of start-up, not counted; load average {load:.1f} on"
          f" {os.cpu_count()} cores), workers' CPU {cpu:.1f} s including their start-up ({startup_cpu:.1f} s)"
          f" (≈ {cpu / workers:.1f} s each), PostgreSQL's CPU during the send {pg}, run {status}, media"
          f" {sorted(states)}, {outcomes:,} report rows, {feed_bytes / 1e9:.2f} GB of feeds (written at the"
          f" disk's speed alone: {feed_bytes / disk:.1f} s; the files replaced"
          f" freed {freed:.1f} s after the run); peak RSS of a worker process {peak:.0f} MB")
    return elapsed, feed_bytes / disk


def bench_disk(workers: int = 2, files: int = 5, size: int = 100 << 20) -> float:
    """The durable write speed of FEED_FOLDER's disk as the send writes feeds, in bytes per second:
    ``workers`` threads each write ``files`` files of ``size`` bytes through ``FeedFile`` (direct I/O,
    fsync at the end of each). No send can publish its feeds faster than this: its floor."""
    import threading

    import numpy as np

    from jobs.delivery import FeedFile

    folder = Path(os.environ["FEED_FOLDER"]) / ".bench-disk"
    folder.mkdir(parents=True, exist_ok=True)
    random_block = np.frombuffer(os.urandom(1 << 20), np.uint64)
    pages = np.arange((1 << 20) // 4096, dtype=np.uint64)

    def write(n: int) -> None:
        # One random 1 MB block, each 4 KB page of it stamped with its own number: no two pages written
        # are the same, so a virtual disk that deduplicates or compresses is measured as feeds use it.
        block = random_block.copy()
        stamps, data = block[::512], memoryview(block).cast("B")
        number = n * files * (size >> 20) * len(pages)
        for i in range(files):
            with FeedFile(folder / f"{n}-{i}.tmp") as out:
                for _ in range(size >> 20):
                    stamps[:] = pages + np.uint64(number)
                    number += len(pages)
                    out.write(data)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    speed = workers * files * size / (time.perf_counter() - started)
    shutil.rmtree(folder, ignore_errors=True)
    return speed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vehicles", type=int, default=100_000)
    parser.add_argument("--media", type=int, default=50)
    parser.add_argument("--workers", type=int, nargs="*", default=[2, 1])
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--skip-writers", action="store_true")
    parser.add_argument("--worker-logs", type=Path, metavar="DIR",
                        help="keep each worker's log (its media's phase timings) in DIR")
    parser.add_argument("--changed-share", type=float, default=0.05,
                        help="share of the vehicles changed before the next-night send (default 0.05)")
    parser.add_argument("--next-night-only", action="store_true",
                        help="skip the first (cold) send: only next-night sends, on the cache an earlier run left")
    parser.add_argument("--nights", type=int, default=1, metavar="N",
                        help="next nights in a row per worker count, with their minimum, median and maximum")
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
    analyze(app)
    print(f"send of {args.vehicles:,} vehicles × {args.media} media (PostgreSQL, RQ on Redis):")
    disk = bench_disk()
    print(f"  disk of FEED_FOLDER: {disk / 1e6:,.0f} MB/s of durable feed writes (2 writers of 100 MB files, direct"
          f" I/O, fsync each): the floor of a send's wall time is its feeds' size at this speed")
    if not args.skip_writers:
        bench_writers(app)
    if not 0 <= args.changed_share <= 1:
        sys.exit("--changed-share is a share of the stock, between 0 and 1")
    share = f"{args.changed_share * 100:g} %"
    for night, workers in enumerate(args.workers):
        if not args.next_night_only:
            clear_listing_cache()
            run_send(app, workers, "first send (cold cache)", disk, log_dir=args.worker_logs)
        nights = []
        for n in range(max(1, args.nights)):
            if n:
                disk = bench_disk()
                print(f"  disk of FEED_FOLDER: {disk / 1e6:,.0f} MB/s")
            changed = change_stock(app, args.changed_share, seed=1000 + night + 100 * n)
            nights.append(run_send(app, workers, f"next night ({share} of the stock changed: {changed:,} vehicles)",
                                   disk, log_dir=args.worker_logs, log_tag="next" if n == 0 else f"next{n + 1}"))
        if len(nights) > 1:
            walls = [wall for wall, _ in nights]
            above = [wall - floor for wall, floor in nights]
            print(f"  {workers} worker(s), {len(nights)} next nights: wall min {min(walls):.1f} / median"
                  f" {statistics.median(walls):.1f} / max {max(walls):.1f} s; above the disk's floor min"
                  f" {min(above):.1f} / median {statistics.median(above):.1f} / max {max(above):.1f} s")


if __name__ == "__main__":
    main()
