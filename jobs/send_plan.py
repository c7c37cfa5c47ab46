"""What every medium of a send works from, prepared once per run and shared through files.

A send of 100,000 vehicles × 50 media runs one job per medium, on several workers. Loading the
stock, deciding and rendering listings once per medium would repeat the same work fifty times, so
the run keeps, in ``FEED_FOLDER/.staging/run-<id>/``:

- ``decisions-<medium>.pickle``: the engine's decision groups of each medium, from one load of the
  inputs and one ``decide`` over every medium of the run (all media decide on the same stock state),
  by the first job that finds nobody deciding;
- ``store-<format>``: each format's listing store (``jobs.feeds.templates``). A job that finds
  stores nobody renders yet loads and normalises the feed rows once and renders them one after the
  other, so two workers starting a send split the formats between them;
- ``sites.pickle``: each vehicle's site with the contact resolver, and ``details.pickle``: what a
  listing with its own contact or link needs (make, status, reference, public link, site contact),
  saved by the first job that loads the rows.

Each file is written under a file lock, to a temporary name then renamed: a job killed while
building leaves nothing half-written, and the next one builds it again. ``discard`` removes them
when the run ends (the held feeds waiting for confirmation in the same folder stay).
"""
from __future__ import annotations

import dataclasses
import fcntl
import os
import pickle
from contextlib import contextmanager
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from backoffice.extensions import db

from .feeds import get_format, mandatory_fields_for
from .feeds.templates import ListingStore, build_store

PLAN_FILES = ("decisions-*.pickle", "decisions.ready", "sites.pickle", "details.pickle", "store-*", "*.lock")


def run_folder(run_id: int) -> Path:
    folder = Path(current_app.config["FEED_FOLDER"]) / ".staging" / f"run-{run_id}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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


class MediumPlan:
    """One medium's share of the run: its decision groups, and what its listings need."""

    def __init__(self, folder: Path, groups, sites, resolver):
        self.folder = folder
        self.groups = sorted(groups, key=lambda g: g.list_id)   # feed order: lists, then rank
        self.sites = sites            # vehicle id → site id
        self.resolver = resolver      # models.contact_resolution.ContactResolver
        self._details = None

    @property
    def details(self) -> dict[int, tuple]:
        """vehicle id → (make, status, reference, public link, site contact as printed), loaded only when
        listings need them (a concession with its own contacts, a medium with its own listing links)."""
        if self._details is None:
            self._details = _load(self.folder / "details.pickle")
        return self._details


def prepare(run) -> None:
    """Share the run's common work between the jobs that start together, without waiting on each other.

    This job decides every medium of the run if nobody does yet, then renders the listing store of
    every format nobody has rendered or is rendering (loading and normalising the rows once for all
    of them). Jobs wait for another's work only in ``listing_store`` and ``medium_plan``."""
    folder = run_folder(run.id)
    _ensure(folder / "decisions.ready", lambda: _prepare_decisions(run, folder), wait=False)
    rows = None
    for fmt in _run_formats(run):
        path = folder / f"store-{fmt.key}"
        if path.exists():
            continue
        with _locked(path, wait=False) as held:
            if held and not path.exists():
                rows = rows if rows is not None else _rows(run, folder)
                build_store(fmt, rows, path)


def medium_plan(run, medium_id: int) -> MediumPlan:
    """The medium's plan (waiting for, or making, the run's decisions)."""
    folder = run_folder(run.id)
    _ensure(folder / "decisions.ready", lambda: _prepare_decisions(run, folder))
    _ensure(folder / "sites.pickle", lambda: _rows(run, folder))
    decisions = folder / f"decisions-{medium_id}.pickle"
    groups = _load(decisions) if decisions.exists() else []
    sites, resolver = _load(folder / "sites.pickle")
    return MediumPlan(folder, groups, sites, resolver)


def listing_store(run, fmt) -> ListingStore:
    """The format's listing store for this run (rendered by ``prepare``, or here if nobody did)."""
    folder = run_folder(run.id)
    path = folder / f"store-{fmt.key}"
    _ensure(path, lambda: build_store(fmt, _rows(run, folder), path))
    return ListingStore(path)


def _run_media(run) -> list[int]:
    from models.send import SendMedium

    return [m for (m,) in db.session.execute(select(SendMedium.medium_id).where(SendMedium.run_id == run.id))]


def _run_formats(run) -> list:
    from models.publication import Medium

    keys = db.session.execute(select(Medium.feed_format).where(Medium.id.in_(_run_media(run)))).scalars()
    return list({get_format(k).key: get_format(k) for k in keys}.values())


def _rows(run, folder: Path) -> list[dict]:
    """The feed rows of every vehicle a medium of the run may publish, normalised once for all formats
    of this job; also saves each vehicle's site and listing facts for the media's jobs (same content
    whoever saves them)."""
    from models.publication import MediumConfig
    from models.publication_inputs import load_contact_resolver
    from models.send_decision import DEFAULT_PUBLISHED_STATUSES
    from models.vehicle import Vehicle

    from .feeds.rows import feed_row, labels, vehicle_rows_stmt

    statuses = {s for (value,) in db.session.execute(select(MediumConfig.published_statuses)
                                                     .where(MediumConfig.medium_id.in_(_run_media(run))))
                for s in (value or DEFAULT_PUBLISHED_STATUSES)} or set(DEFAULT_PUBLISHED_STATUSES)
    result = db.session.execute(vehicle_rows_stmt().where(Vehicle.status.in_(sorted(statuses))))
    columns = list(result.keys())
    names, secret, base = labels(), current_app.config["SECRET_KEY"], public_base_url()
    rows = [feed_row(dict(zip(columns, raw)), base, None, names, secret=secret) for raw in result]
    if not (folder / "sites.pickle").exists():
        _dump({r["id"]: (r["make"], r["status"], f'{r["concession_code"]}-{r["entry_number"]}', r["url"],
                         (r["contact_name"], r["contact_phone"], r["contact_email"])) for r in rows},
              folder / "details.pickle")
        _dump(({r["id"]: r["site_id"] for r in rows}, load_contact_resolver(db.session)), folder / "sites.pickle")
    return rows


def _prepare_decisions(run, folder: Path) -> None:
    """One ``decide`` over every medium of the run: all media decide on the same stock state."""
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
