"""What every medium of a send works from, prepared once per run and shared through files.

A send of 100,000 vehicles × 50 media runs one job per medium, on several workers. Loading the
stock, deciding and rendering listings once per medium would repeat the same work fifty times, so
the run keeps, in ``FEED_FOLDER/.staging/run-<id>/``:

- ``decisions-<medium>.pickle``: the engine's decision groups of each medium, and
  ``listings.pickle``: per candidate vehicle what its listings need (site, make, status, reference,
  public link) and the contact resolver. Built by the first job of the run: one load of the
  inputs and one ``decide`` over every medium of the run, so all media decide on the same stock state;
- ``rows.pickle``: the feed rows of the candidate vehicles, loaded in the same pass;
- ``store-<format>``: each format's listing store (``jobs.feeds.templates``), rendered by the first
  job of that format from the rows.

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

from .feeds import get_format
from .feeds.templates import ListingStore, build_store

PLAN_FILES = ("decisions-*.pickle", "listings.pickle", "rows.pickle", "store-*", "*.lock")


def run_folder(run_id: int) -> Path:
    folder = Path(current_app.config["FEED_FOLDER"]) / ".staging" / f"run-{run_id}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def _locked(path: Path):
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


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

    def __init__(self, groups, vehicles, resolver):
        self.groups = groups          # models.send_decision.Group of this medium
        self.vehicles = vehicles      # vehicle id → (site_id, make, status, reference, public link)
        self.resolver = resolver      # models.contact_resolution.ContactResolver

    def decisions(self) -> list:
        """Every decision of the medium, lists in id order, sent ones in feed (rank) order."""
        return [d for g in sorted(self.groups, key=lambda g: g.list_id) for d in g]


def medium_plan(run, medium_id: int) -> MediumPlan:
    """The medium's plan, preparing the run first if no job did yet."""
    folder = run_folder(run.id)
    listings = folder / "listings.pickle"
    if not listings.exists():
        with _locked(listings):
            if not listings.exists():
                prepare(run, folder)
    decisions = folder / f"decisions-{medium_id}.pickle"
    groups = _load(decisions) if decisions.exists() else []
    vehicles, resolver = _load(listings)
    return MediumPlan(groups, vehicles, resolver)


def prepare(run, folder: Path) -> None:
    """Decide every medium of the run at once and save what their jobs need."""
    from models.publication import Medium
    from models.publication_inputs import load_contact_resolver, load_decision_inputs
    from models.send import SendMedium
    from models.send_decision import DEFAULT_PUBLISHED_STATUSES, decide
    from models.vehicle import Vehicle, public_vehicle_token

    from .feeds.rows import vehicle_rows_stmt

    medium_ids = [m for (m,) in db.session.execute(select(SendMedium.medium_id).where(SendMedium.run_id == run.id))]
    formats = dict(db.session.execute(select(Medium.id, Medium.feed_format).where(Medium.id.in_(medium_ids))).all())
    inputs = load_decision_inputs(db.session, medium_ids=medium_ids, today=run.decision_date)
    # A format's required fields join the medium's mandatory ones: a listing the portal would refuse
    # is "filtré média" with the engine's reason instead of being sent.
    inputs.media = [dataclasses.replace(m, mandatory_fields=tuple(dict.fromkeys(
        tuple(m.mandatory_fields) + tuple(get_format(formats.get(m.id)).required_vehicle_fields))))
        for m in inputs.media]
    groups: dict[int, list] = {m: [] for m in medium_ids}
    for group in decide(inputs).groups:
        groups.setdefault(group.medium_id, []).append(group)

    candidates = {v.id for v in inputs.vehicles}
    statuses = sorted({s for c in inputs.configs.values() for s in c.published_statuses}
                      or DEFAULT_PUBLISHED_STATUSES)
    result = db.session.execute(vehicle_rows_stmt().where(Vehicle.status.in_(statuses)))
    columns = list(result.keys())
    rows = [tuple(r) for r in result if r[0] in candidates]
    at = {name: i for i, name in enumerate(columns)}
    i_id, i_site, i_make, i_status, i_code, i_entry = (at[k] for k in (
        "id", "site_id", "make", "status", "concession_code", "entry_number"))
    secret = current_app.config["SECRET_KEY"]
    base = public_base_url().rstrip("/")
    vehicles = {r[i_id]: (r[i_site], r[i_make], r[i_status], f"{r[i_code]}-{r[i_entry]}",
                          f"{base}/vo/{public_vehicle_token(secret, r[i_id])}") for r in rows}

    _dump((columns, rows), folder / "rows.pickle")
    for medium_id, medium_groups in groups.items():
        _dump(medium_groups, folder / f"decisions-{medium_id}.pickle")
    _dump((vehicles, load_contact_resolver(db.session)), folder / "listings.pickle")   # last: marks it ready


def listing_store(run, fmt) -> ListingStore:
    """The format's listing store for this run, rendered by the first job that needs it."""
    from .feeds.rows import feed_row, labels

    folder = run_folder(run.id)
    path = folder / f"store-{fmt.key}"
    if not path.exists():
        with _locked(path):
            if not path.exists():
                columns, rows = _load(folder / "rows.pickle")
                names, secret, base = labels(), current_app.config["SECRET_KEY"], public_base_url()
                build_store(fmt, (feed_row(dict(zip(columns, r)), base, None, names, secret=secret) for r in rows),
                            path)
    return ListingStore(path)


def public_base_url() -> str:
    """Our public address, for photo URLs (and listing links of media without a listing base)."""
    return (current_app.config.get("FEED_PUBLIC_BASE_URL") or os.environ.get("FEED_PUBLIC_BASE_URL")
            or "https://vo.example.fr")


def discard(run_id: int) -> None:
    """Remove the run's plan files once it is over (held feeds in the folder stay)."""
    folder = Path(current_app.config["FEED_FOLDER"]) / ".staging" / f"run-{run_id}"
    for pattern in PLAN_FILES:
        for path in folder.glob(pattern):
            path.unlink(missing_ok=True)
