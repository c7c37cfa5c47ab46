"""What every medium of a send works from, prepared once per run and shared through files.

A send of 100,000 vehicles × 50 media runs one job per medium, on several workers. Loading the
stock, deciding and rendering listings once per medium would repeat the same work fifty times, so
the run keeps, in ``FEED_FOLDER/.staging/run-<id>/``:

- ``decisions-<medium>.pickle``: the engine's decision groups of each medium, from one load of the
  inputs and one ``decide`` over every medium of the run (all media decide on the same stock state),
  by the first job that finds nobody deciding;
- ``fingerprints.pickle`` and ``sites.pickle``: the vehicles a medium of the run may publish, each
  with a fingerprint of its feed row (computed by PostgreSQL) and its place in the stores
  (concession, then score), and its site, with the contact resolver;
- ``store-<format>``: each format's listing store (``jobs.feeds.templates``). A job that finds
  stores nobody renders yet renders them one after the other, so two workers starting a send split
  the formats between them. A store keeps from the format's previous store (kept in
  ``FEED_FOLDER/.listings/`` with its base, see ``store_context``) every listing whose row has the
  same fingerprint, left in their base, and loads, normalises and renders only the others: on a night where 5 % of the stock
  changed, 5 % of the listings are rendered;
- ``details.pickle``: what a listing with its own contact or link needs (make, status, reference,
  public link, site contact), loaded by the first job of a medium that needs it;
- ``rows.pickle``: the feed rows of the night's changed vehicles (at most ``ROWS_SHARED``), loaded once
  by the first job rendering a store, for the other jobs rendering one.

Each file is written under a file lock, to a temporary name then renamed: a job killed while
building leaves nothing half-written, and the next one builds it again. ``discard`` removes them
when the run ends (the held feeds waiting for confirmation in the same folder stay).
"""
from __future__ import annotations

import dataclasses
import fcntl
import gc
import hashlib
import json
import logging
import os
import pickle
import shutil
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np
from flask import current_app
from sqlalchemy import Text, cast, func, select, tuple_

from backoffice.extensions import db

from .delivery import retire
from .feeds import get_format, mandatory_fields_for
from .feeds.templates import ListingStore, StoreError, StoreOrder, base_path, build_store
from .vehicle_index import VehicleIndex

log = logging.getLogger(__name__)

PLAN_FILES = ("decisions-*.pickle", "decisions.ready", "fingerprints.pickle", "sites.pickle", "details.pickle",
              "rows.pickle", "store-*", "*.lock")
LISTINGS_CACHE = ".listings"   # under FEED_FOLDER: each format's last store, for the next run
RETIRED = ".retired"           # under FEED_FOLDER: what a run replaced, freed once it is over
# Below this share of changed vehicles, their rows are fetched by id; above it, all rows are read.
FETCH_BY_ID_SHARE = 0.2
# Feed rows a job shares with the run's other jobs (rows.pickle), at most: a night's changed rows,
# not a whole stock (a first send's 100,000 normalised rows would take longer to pickle than to load).
ROWS_SHARED = 20_000


def run_folder(run_id: int) -> Path:
    folder = Path(current_app.config["FEED_FOLDER"]) / ".staging" / f"run-{run_id}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def retired_folder(run_id: int) -> Path:
    """Where a run keeps the files it replaces (published feeds, kept stores) until it is over: freeing
    gigabytes of blocks while the feeds are written slows the writes down (``delivery.retire``)."""
    return Path(current_app.config["FEED_FOLDER"]) / RETIRED / f"run-{run_id}"


def remove_retired(run_id: int) -> None:
    """Free what the run replaced, once it is over; also what runs ended by a crashed worker left."""
    from models.send import SendRun

    folder = retired_folder(run_id).parent
    runs = {int(p.name[4:]): p for p in folder.glob("run-*") if p.name[4:].isdigit()}
    if not runs:
        return
    over = set(db.session.execute(select(SendRun.id).where(SendRun.id.in_(runs),
                                                           SendRun.finished_at.isnot(None))).scalars())
    for ended in over | {run_id}:
        if ended in runs:
            shutil.rmtree(runs[ended], ignore_errors=True)


@contextmanager
def _locked(path: Path, wait: bool = True):
    """Hold the build lock of ``path``; without ``wait``, yield False at once if another job holds it."""
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True


@contextmanager
def _gc_paused():
    """No automatic garbage collection meanwhile. The run's shared work makes hundreds of thousands of
    objects that all live on (the engine's inputs and decisions, the stores' rows), so each automatic
    collection walks them all again and frees nothing: a third of the engine's time (0.6 s a night)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _ensure(path: Path, build, wait: bool = True) -> bool:
    """Build ``path`` unless it exists (one builder at a time); False if busy and not waiting."""
    if path.exists():
        return True
    with _locked(path, wait) as held:
        if not held:
            return False
        if not path.exists():
            build()
    return True


def _dump(obj, path: Path) -> None:
    temp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with open(temp, "wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(temp, path)


def _load(path: Path):
    with open(path, "rb") as fh:
        return pickle.load(fh)


_kept: dict[str, tuple] = {}   # file name → (path, inode, mtime, what it holds)


def _load_kept(path: Path, load=None):
    """``_load`` (or ``load``) of a file every medium of the run reads (sites, details, a format's
    store), kept in the process for the run's next media (a worker runs the send's jobs in-process,
    ``jobs.worker``); one of each name."""
    stat = path.stat()
    key = (str(path), stat.st_ino, stat.st_mtime_ns)
    kept = _kept.get(path.name)
    if kept is not None and kept[:3] == key:
        return kept[3]
    _kept.pop(path.name, None)   # the previous run's goes before this one is loaded
    value = (load or _load)(path)
    _kept[path.name] = (*key, value)
    return value


class MediumPlan:
    """One medium's share of the run: its decision groups, and what its listings need."""

    def __init__(self, run, folder: Path, groups, sites, resolver, site_index=None):
        self.run, self.folder = run, folder
        self.groups = sorted(groups, key=lambda g: g.list_id)   # feed order: lists, then rank
        self.sites = sites            # vehicle id → site id
        self.resolver = resolver      # models.contact_resolution.ContactResolver
        self._site_index = site_index
        self._details = None

    def site_of(self, vehicle_ids) -> np.ndarray:
        """The site ids of ``vehicle_ids`` (an array of candidates), in one numpy gather."""
        if self._site_index is None:
            self._site_index = _site_index(self.sites)
        index, site_ids = self._site_index
        at = index.find(vehicle_ids)
        if (at < 0).any():
            raise KeyError("vehicle outside the run's candidates")
        return site_ids[at]

    @property
    def details(self) -> dict[int, tuple]:
        """vehicle id → (make, status, reference, public link, site contact as printed), loaded only when
        listings need them (a concession with its own contacts, a medium with its own listing links)."""
        if self._details is None:
            path = self.folder / "details.pickle"
            _ensure(path, lambda: _dump(_details(self.run), path))
            self._details = _load_kept(path)
        return self._details


def prepare(run) -> None:
    """Share the run's common work between the jobs that start together, without waiting on each other.

    This job decides every medium of the run if nobody does yet, then renders the listing store of
    every format nobody has rendered or is rendering. Jobs wait for another's work only in
    ``listing_store`` and ``medium_plan``."""
    folder = run_folder(run.id)
    _ensure(folder / "decisions.ready", lambda: _prepare_decisions(run, folder), wait=False)
    rows = _Rows(run, folder)
    for fmt in _run_formats(run):
        path = folder / f"store-{fmt.key}"
        if path.exists():
            continue
        with _locked(path, wait=False) as held:
            if held and not path.exists():
                _render_store(fmt, rows, path)


def medium_plan(run, medium_id: int) -> MediumPlan:
    """The medium's plan (waiting for, or making, the run's decisions)."""
    folder = run_folder(run.id)
    _ensure(folder / "decisions.ready", lambda: _prepare_decisions(run, folder))
    _ensure(folder / "sites.pickle", lambda: _load_candidates(run, folder))
    decisions = folder / f"decisions-{medium_id}.pickle"
    groups = _load(decisions) if decisions.exists() else []
    sites, resolver, site_index = _load_kept(folder / "sites.pickle", _load_sites)
    return MediumPlan(run, folder, groups, sites, resolver, site_index)


def _load_sites(path: Path):
    """sites.pickle, with the index of its vehicles' sites made once per process (``MediumPlan.site_of``)."""
    sites, resolver = _load(path)
    return sites, resolver, _site_index(sites)


def _site_index(sites: dict[int, int]) -> tuple[VehicleIndex, np.ndarray]:
    return (VehicleIndex(np.fromiter(sites.keys(), np.int64, len(sites))),
            np.fromiter(sites.values(), np.int64, len(sites)))


def listing_store(run, fmt) -> ListingStore:
    """The format's listing store for this run (rendered by ``prepare``, or here if nobody did)."""
    folder = run_folder(run.id)
    path = folder / f"store-{fmt.key}"
    _ensure(path, lambda: _render_store(fmt, _Rows(run, folder), path))
    # Opened once per process and run: its index (100,000 listings) is read once, not per medium.
    return _load_kept(path, ListingStore)


def _run_media(run) -> list[int]:
    from models.send import SendMedium

    return [m for (m,) in db.session.execute(select(SendMedium.medium_id).where(SendMedium.run_id == run.id))]


def _run_formats(run) -> list:
    from models.publication import Medium

    keys = db.session.execute(select(Medium.feed_format).where(Medium.id.in_(_run_media(run)))).scalars()
    return list({get_format(k).key: get_format(k) for k in keys}.values())


# Listing stores, rendered again only for the vehicles that changed ------------------------------------------

def store_context(fmt) -> bytes:
    """What a format's listings depend on besides their vehicle's row: the feed code, our public
    address, the signing key of links and photos, the labels, and how rows are fingerprinted. A store
    is reused by the next run only with the same context (a deployment or a new address renders all)."""
    from .feeds.rows import labels

    facts = [_feed_code_version(), fmt.key, db.session.get_bind().dialect.name, public_base_url(),
             current_app.config["SECRET_KEY"], json.dumps(labels(), sort_keys=True)]
    return hashlib.sha256("\0".join(facts).encode()).digest()


@lru_cache(maxsize=1)
def _feed_code_version() -> str:
    """A digest of the feed formats' code (jobs/feeds/*.py): a changed writer must not reuse listings."""
    sha = hashlib.sha256()
    for source in sorted((Path(__file__).parent / "feeds").glob("*.py")):
        sha.update(source.name.encode() + b"\0" + source.read_bytes())
    return sha.hexdigest()


def _listings_cache(fmt) -> Path:
    folder = Path(current_app.config["FEED_FOLDER"]) / LISTINGS_CACHE
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"store-{fmt.key}"


def _previous_store(fmt, context: bytes) -> ListingStore | None:
    """The format's store of the last run, if it has the same context."""
    try:
        store = ListingStore(_listings_cache(fmt))
    except FileNotFoundError:
        return None
    except (OSError, StoreError) as exc:   # damaged: render every listing, the new store replaces it
        log.warning("listing store of %s not reused: %s", fmt.key, exc)
        return None
    return store if store.same_context(context) else None


def _render_store(fmt, rows: "_Rows", path: Path) -> None:
    """Render the run's store of ``fmt``, keeping the unchanged listings of the previous store (in its
    base), then keep it with its base (hard links, no copy) as the previous store of the next run."""
    with _gc_paused():
        _build_and_keep_store(fmt, rows, path)


def _build_and_keep_store(fmt, rows: "_Rows", path: Path) -> None:
    started = time.perf_counter()
    ids, prints = rows.fingerprint_arrays()
    context = store_context(fmt)
    previous = _previous_store(fmt, context)
    kept = previous.unchanged(ids, prints) if previous is not None else np.zeros(len(ids), bool)
    reused = ids[kept]
    rendered, fingerprints = rows.load(ids[~kept].tolist())
    build_store(fmt, rendered, path, context=context, fingerprints=fingerprints, previous=previous, reused=reused,
                order=rows.order())
    log.info("listing store %s: %d listings reused, %d rendered, %s, in %.2f s", fmt.key, len(reused), len(rendered),
             "on its base" if base_path(path).exists() else "written whole", time.perf_counter() - started)
    kept, retired = _listings_cache(fmt), retired_folder(rows.run.id)
    try:
        # A store built on a base is kept with it: the base first (a store whose base is not the one
        # it was built on is refused, and the next run renders every listing).
        if base_path(path).exists():
            _keep(base_path(path), base_path(kept), retired)
        _keep(path, kept, retired)
        if not base_path(path).exists() and base_path(kept).exists():
            retire(base_path(kept), retired)
            base_path(kept).unlink()
    except OSError as exc:   # the send goes on; the next run renders every listing
        log.warning("listing store of %s not kept for the next run: %s", fmt.key, exc)


def _keep(path: Path, kept: Path, retired: Path) -> None:
    """Make ``kept`` a hard link of ``path`` (the file it replaces is retired, freed after the run)."""
    if kept.exists() and os.path.samefile(path, kept):
        return   # rename() of two links of one file does nothing
    temp = kept.with_name(kept.name + f".{os.getpid()}.tmp")
    try:
        temp.unlink(missing_ok=True)
        os.link(path, temp)
        retire(kept, retired)
        os.replace(temp, kept)
    finally:
        temp.unlink(missing_ok=True)


class _Rows:
    """The feed rows of this job, loaded by vehicle id when a store needs them (once per job)."""

    def __init__(self, run, folder: Path):
        self.run, self.folder = run, folder
        self.rows: dict[int, dict] = {}
        self.prints: dict[int, bytes] = {}
        self._candidates: tuple[dict, dict] | None = None
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None
        self._order: StoreOrder | None = None
        self._shared_read = False

    def fingerprints(self) -> dict[int, bytes]:
        """vehicle id → row fingerprint of every vehicle a medium of the run may publish."""
        return self._snapshot()[0]

    def fingerprint_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``fingerprints`` as arrays: the vehicle ids, and their fingerprints as "V16" items."""
        if self._arrays is None:
            prints = self.fingerprints()
            self._arrays = (np.fromiter(prints.keys(), np.int64, len(prints)),
                            np.frombuffer(b"".join(prints.values()), "V16"))
        return self._arrays

    def order(self) -> StoreOrder:
        """The candidates' place in the stores: each concession's vehicles together, by score (the
        default ordering of a medium's lists, ``models.send_decision``), so that most feeds copy
        their listings a run at a time. Made once for the job's stores."""
        if self._order is None:
            self._order = StoreOrder(self._snapshot()[1])
        return self._order

    def _snapshot(self) -> tuple[dict, dict]:
        """The run's (fingerprints, order) of the candidates, saved once by ``_load_candidates``."""
        if self._candidates is None:
            _ensure(self.folder / "sites.pickle", lambda: _load_candidates(self.run, self.folder))
            self._candidates = _load(self.folder / "fingerprints.pickle")
        return self._candidates

    def load(self, vehicle_ids) -> tuple[list[dict], dict[int, bytes]]:
        """The normalised rows of ``vehicle_ids`` and the fingerprints of what was loaded."""
        missing = [v for v in vehicle_ids if v not in self.rows]
        if missing and not self._shared_read:
            # The rows another job of the run loaded for its stores (the job that decided the run then
            # renders a store or two: it does not fetch and normalise the same rows again).
            self._shared_read = True
            shared = self.folder / "rows.pickle"
            if shared.exists():
                rows, prints = _load(shared)
                self.rows.update(rows)
                self.prints.update(prints)
                missing = [v for v in missing if v not in self.rows]
        if missing:
            self._fetch(missing)
            if len(self.rows) <= ROWS_SHARED:
                _dump((self.rows, self.prints), self.folder / "rows.pickle")
        wanted = [v for v in vehicle_ids if v in self.rows]   # a vehicle deleted meanwhile has no row
        return [self.rows[v] for v in wanted], {v: self.prints[v] for v in wanted}

    def _fetch(self, vehicle_ids: list[int]) -> None:
        from models.vehicle import Vehicle

        from .feeds.rows import ROW_COLUMNS, feed_row, labels

        names, secret, base = labels(), current_app.config["SECRET_KEY"], public_base_url()
        columns = [c.key for c in ROW_COLUMNS]
        fingerprint = _fingerprint_column()
        stmt = _candidates_stmt(self.run)
        if fingerprint is not None:
            stmt = stmt.add_columns(fingerprint)
        total = len(self.fingerprints())
        wanted = set(vehicle_ids)
        if len(vehicle_ids) > FETCH_BY_ID_SHARE * total:
            batches = [stmt]
        else:
            ordered = sorted(vehicle_ids)
            batches = [stmt.where(Vehicle.id.in_(ordered[k:k + 1000])) for k in range(0, len(ordered), 1000)]
        for batch in batches:
            for raw in db.session.execute(batch):
                vehicle_id = raw[0]
                if vehicle_id not in wanted:
                    continue
                values = raw[:len(columns)]
                self.prints[vehicle_id] = (bytes.fromhex(raw[-1]) if fingerprint is not None
                                           else _python_fingerprint(values))
                self.rows[vehicle_id] = feed_row(dict(zip(columns, values)), base, None, names, secret=secret)


def _published_statuses(run) -> list[str]:
    from models.publication import MediumConfig
    from models.send_decision import DEFAULT_PUBLISHED_STATUSES

    statuses = {s for (value,) in db.session.execute(select(MediumConfig.published_statuses)
                                                     .where(MediumConfig.medium_id.in_(_run_media(run))))
                for s in (value or DEFAULT_PUBLISHED_STATUSES)} or set(DEFAULT_PUBLISHED_STATUSES)
    return sorted(statuses)


def _candidates_stmt(run):
    """The feed rows of every vehicle a medium of the run may publish (its status is published somewhere)."""
    from models.vehicle import Vehicle

    from .feeds.rows import vehicle_rows_stmt

    return vehicle_rows_stmt().where(Vehicle.status.in_(_published_statuses(run)))


def _fingerprint_column():
    """A fingerprint of the whole feed row computed by PostgreSQL (md5 of its text), or None elsewhere."""
    from .feeds.rows import ROW_COLUMNS

    if db.session.get_bind().dialect.name != "postgresql":
        return None
    return func.md5(cast(tuple_(*ROW_COLUMNS), Text))


def _python_fingerprint(values) -> bytes:
    return hashlib.md5(repr(tuple(values)).encode(), usedforsecurity=False).digest()


def _load_candidates(run, folder: Path) -> None:
    """Save each candidate vehicle's row fingerprint, and its site with the contact resolver, for
    the run's jobs (the same snapshot for all of them)."""
    from models.publication_inputs import load_contact_resolver
    from models.send_decision import score_order_key
    from models.vehicle import Vehicle

    from .feeds.rows import ROW_COLUMNS

    fingerprint = _fingerprint_column()
    stmt = _candidates_stmt(run)
    prints, sites, order = {}, {}, {}
    if fingerprint is not None:
        for vehicle_id, site_id, concession_id, score, digest in db.session.execute(
                stmt.with_only_columns(Vehicle.id, Vehicle.site_id, Vehicle.concession_id, Vehicle.score,
                                       fingerprint)):
            prints[vehicle_id], sites[vehicle_id] = bytes.fromhex(digest), site_id
            order[vehicle_id] = (concession_id, score_order_key(score))
    else:
        result = db.session.execute(stmt.add_columns(Vehicle.score))
        keys = list(result.keys())
        site, concession, score, width = (keys.index("site_id"), keys.index("concession_id"), keys.index("score"),
                                          len(ROW_COLUMNS))
        for raw in result:
            # The fingerprint is of the feed row alone, as ``_Rows._fetch`` computes it.
            prints[raw[0]], sites[raw[0]] = _python_fingerprint(raw[:width]), raw[site]
            order[raw[0]] = (raw[concession], score_order_key(raw[score]))
    _dump((prints, order), folder / "fingerprints.pickle")
    _dump((sites, load_contact_resolver(db.session)), folder / "sites.pickle")


def _details(run) -> dict[int, tuple]:
    """vehicle id → (make, status, reference, public link, site contact) of every candidate vehicle."""
    from models.organisation import Concession, Site
    from models.vehicle import Vehicle, public_vehicle_token

    from .feeds.rows import public_page

    secret, base = current_app.config["SECRET_KEY"], public_base_url()
    stmt = _candidates_stmt(run).with_only_columns(
        Vehicle.id, Vehicle.make, Vehicle.status, Concession.code, Vehicle.entry_number, Site.manager_name,
        Site.manager_phone, Site.manager_email)
    return {vid: (make, status, f"{code}-{entry}", public_page(base, public_vehicle_token(secret, vid)),
                  (name, phone, email))
            for vid, make, status, code, entry, name, phone, email in db.session.execute(stmt)}


def _prepare_decisions(run, folder: Path) -> None:
    """One ``decide`` over every medium of the run: all media decide on the same stock state."""
    with _gc_paused():
        _decide_every_medium(run, folder)


def _decide_every_medium(run, folder: Path) -> None:
    from models.publication import Medium
    from models.publication_inputs import load_decision_inputs
    from models.send_decision import decide

    medium_ids = _run_media(run)
    formats = dict(db.session.execute(select(Medium.id, Medium.feed_format).where(Medium.id.in_(medium_ids))).all())
    inputs = load_decision_inputs(db.session, medium_ids=medium_ids, today=run.decision_date)
    # A format's required fields join the medium's mandatory ones: a listing the portal would refuse
    # is "filtré média" with the engine's reason instead of being sent.
    inputs.media = [dataclasses.replace(m, mandatory_fields=tuple(mandatory_fields_for(formats.get(m.id),
                                                                                       m.mandatory_fields)))
                    for m in inputs.media]
    groups: dict[int, list] = {m: [] for m in medium_ids}
    for group in decide(inputs).groups:
        groups.setdefault(group.medium_id, []).append(group)
    for medium_id, medium_groups in groups.items():
        _dump(medium_groups, folder / f"decisions-{medium_id}.pickle")
    (folder / "decisions.ready").touch()


def public_base_url() -> str:
    """Our public address, for photo URLs (and listing links of media without a listing base)."""
    return (current_app.config.get("FEED_PUBLIC_BASE_URL") or os.environ.get("FEED_PUBLIC_BASE_URL")
            or "https://vo.example.fr")


def discard(run_id: int) -> None:
    """Remove the run's shared files once it is over, and the feeds staged by attempts that died
    (``kill -9``) without cleaning up; a held feed waiting for confirmation stays."""
    from models.send import SendMedium

    folder = Path(current_app.config["FEED_FOLDER"]) / ".staging" / f"run-{run_id}"
    kept = {p for (p,) in db.session.execute(select(SendMedium.pending_path).where(
        SendMedium.run_id == run_id, SendMedium.pending_path.isnot(None)))}
    for pattern in PLAN_FILES + ("*.tmp",):
        for path in folder.glob(pattern):
            if str(path) not in kept:
                path.unlink(missing_ok=True)
