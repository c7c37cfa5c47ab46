"""The send (envoi) and its report (bilan d'envoi), §6.5.

A send is one ``SendRun`` and one ``SendMedium`` per active medium (unique per run and medium: the
database refuses a second one, which with the deterministic job id makes retries idempotent).
Each medium's job records its report (``write_medium_report``): one ``SentListings`` row per
concession holding every listing sent (vehicle ids, list, rank, contact), and one ``NotSentListings``
row per concession × publication list × outcome × reasons holding the vehicles that were *not* sent
(with their ranks); it publishes one ``PublishedFeed`` (the file or POST that reached the portal, with
its checksum). The shrink guard holds a medium whose feed would lose more than half of its listings
(or become empty) until an admin confirms.

The rules (progress, shrink guard, report phrases) are plain functions at the bottom of this
module, tested directly.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import NamedTuple, Sequence

import numpy as np

from sqlalchemy import (Boolean, Date, DateTime, ForeignKey, Index, Integer, SmallInteger, String, Text,
                        UniqueConstraint, delete, insert)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.extensions import db

from .clock import utcnow

# Run and medium states.
PENDING, RUNNING, PUBLISHING, DONE, HELD, FAILED, SKIPPED = (
    "pending", "running", "publishing", "done", "held", "failed", "skipped")
FINAL_MEDIUM_STATES = (DONE, HELD, FAILED, SKIPPED)

# Outcomes, as the decision engine names them (models.publication).
SENT = "sent"
OUTCOMES = ("sent", "filtered_media", "filtered_custom", "deselected", "not_selected", "limit_reached")
FILTERED_OUTCOMES = ("filtered_media", "filtered_custom")

SHRINK_LIMIT = 0.5   # a feed losing more than this share of the previous send's listings is held


class SendRun(db.Model):
    """One envoi: nightly (one per day, keyed by date) or on demand."""
    id: Mapped[int] = mapped_column(primary_key=True)
    run_key: Mapped[str] = mapped_column(String(60), unique=True)   # "nightly-2026-11-22", "manual-…"
    kind: Mapped[str] = mapped_column(String(10), default="manual")  # nightly | manual
    status: Mapped[str] = mapped_column(String(12), default=RUNNING, index=True)
    decision_date: Mapped[dt.date] = mapped_column(Date)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    media_total: Mapped[int] = mapped_column(Integer, default=0)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    media: Mapped[list[SendMedium]] = relationship(back_populates="run", cascade="all, delete-orphan",
                                                    order_by="SendMedium.medium_name")
    requested_by = relationship("User")


class SendMedium(db.Model):
    """A medium within a run: its job's state, counts and what was published."""
    __table_args__ = (UniqueConstraint("run_id", "medium_id", name="uq_send_medium_run_medium"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("send_run.id", ondelete="CASCADE"), index=True)
    medium_id: Mapped[int] = mapped_column(Integer, index=True)   # models.publication.Medium.id
    medium_name: Mapped[str] = mapped_column(String(120))
    medium_code: Mapped[str | None] = mapped_column(String(40))
    job_id: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(12), default=PENDING)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    list_codes: Mapped[str | None] = mapped_column(Text)   # "bm11c1, bm11c2" (customer codes at the medium)
    sent_count: Mapped[int] = mapped_column(Integer, default=0)
    filtered_count: Mapped[int] = mapped_column(Integer, default=0)
    other_count: Mapped[int] = mapped_column(Integer, default=0)   # deselected, not selected, limit
    previous_count: Mapped[int | None] = mapped_column(Integer)     # listings of the last published feed
    message: Mapped[str | None] = mapped_column(Text)               # failure or hold reason
    pending_path: Mapped[str | None] = mapped_column(String(500))   # held feed waiting for confirmation
    pending_checksum: Mapped[str | None] = mapped_column(String(64))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    run: Mapped[SendRun] = relationship(back_populates="media")
    feed: Mapped[PublishedFeed | None] = relationship(back_populates="send_medium", uselist=False)


class _PackedVehicles:
    """What the packed report rows share: scoped on ``concession_id`` (``models.scope.Scope``), their
    vehicles in ``vehicle_ids`` framed by commas (",12,15,18,")."""

    @classmethod
    def in_concessions(cls, concession_ids):
        return cls.concession_id.in_(concession_ids)

    @classmethod
    def has_vehicle(cls, vehicle_id: int):
        """The rows listing this vehicle (portable LIKE on the comma-framed id list)."""
        return cls.vehicle_ids.like(f"%,{int(vehicle_id)},%")


class NotSentListings(_PackedVehicles, db.Model):
    """Every decision *not* sent on one medium for one concession's vehicles in one run that share a
    publication list, an outcome and the same reasons: one row, not one per car.

    The not-sent decisions are a minority (about 300,000 of 5 million a night) but their reasons are few
    (the engine shares them per missing-field set or failed criterion), so they fall into about 12,000
    such groups. ``vehicle_ids`` is ",12,15,18," in rank order (rank ascending, no rank last, then vehicle
    id), found with ``has_vehicle`` as in ``SentListings``; ``ranks`` is ",3,,7," in the same order (an
    empty item is no rank), or NULL when no vehicle of the row has one (the usual case). Reasons are kept
    one per line, phrased for the user ("véhicule sans type de boîte de renseigné"). ``concession_id`` is
    the vehicles' concession, the scope column (``in_concessions``).
    """
    __tablename__ = "not_sent_listings"
    __table_args__ = (
        Index("ix_not_sent_listings_medium_outcome", "send_medium_id", "outcome"),
        Index("ix_not_sent_listings_run_concession", "run_id", "concession_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("send_run.id", ondelete="CASCADE"))
    send_medium_id: Mapped[int] = mapped_column(ForeignKey("send_medium.id", ondelete="CASCADE"))
    concession_id: Mapped[int] = mapped_column(Integer)
    publication_list_id: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[str | None] = mapped_column(Text)
    listing_count: Mapped[int] = mapped_column(Integer)
    vehicle_ids: Mapped[str] = mapped_column(Text)    # no FK: a sold and deleted car keeps its report
    ranks: Mapped[str | None] = mapped_column(Text)

    def decoded(self) -> list[NotSentListing]:
        return decode_not_sent(self.vehicle_ids, self.ranks, self.publication_list_id, self.outcome, self.reasons)


class SentListings(_PackedVehicles, db.Model):
    """Every listing sent on one medium for one concession's vehicles in one run: one row, not one per car.

    ``vehicle_ids`` is ",12,15,18," in feed order (a vehicle is found with ``LIKE '%,15,%'`` on any
    database, see ``has_vehicle``); ``listings`` is the JSON of ``encode_listings``: per listing, in the
    same order, its publication list, rank and contact. ``concession_id`` is the scope column, as in
    ``NotSentListings``.
    """
    __tablename__ = "sent_listings"
    __table_args__ = (
        UniqueConstraint("send_medium_id", "concession_id", name="uq_sent_listings_medium_concession"),
        Index("ix_sent_listings_run_concession", "run_id", "concession_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("send_run.id", ondelete="CASCADE"))
    send_medium_id: Mapped[int] = mapped_column(ForeignKey("send_medium.id", ondelete="CASCADE"))
    concession_id: Mapped[int] = mapped_column(Integer)
    listing_count: Mapped[int] = mapped_column(Integer)
    vehicle_ids: Mapped[str] = mapped_column(Text)
    listings: Mapped[str] = mapped_column(Text)

    def decoded(self) -> list[Listing]:
        return decode_listings(self.vehicle_ids, self.listings)


class PublishedFeed(db.Model):
    """A feed that reached the portal for one (run, medium): at most one, by the unique key."""
    id: Mapped[int] = mapped_column(primary_key=True)
    send_medium_id: Mapped[int] = mapped_column(ForeignKey("send_medium.id", ondelete="CASCADE"), unique=True)
    medium_id: Mapped[int] = mapped_column(Integer, index=True)
    run_id: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(40))
    delivery: Mapped[str] = mapped_column(String(10))          # folder | http
    target: Mapped[str] = mapped_column(String(500))           # file path or URL
    checksum: Mapped[str] = mapped_column(String(64))          # of the bytes published (jobs.delivery)
    size_bytes: Mapped[int] = mapped_column(Integer)
    listing_count: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(120))
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)  # published after a shrink-guard hold
    published_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)

    send_medium: Mapped[SendMedium] = relationship(back_populates="feed")


# Report storage: plain encoding of sent listings, and the writer of one medium's report -----------------

class Listing(NamedTuple):
    """One sent listing (vehicle × publication list) as the report shows it."""
    vehicle_id: int
    list_id: int | None
    rank: int | None
    contact_name: str | None
    contact_phone: str | None


def encode_listings(vehicle_ids: Sequence[int], list_ids: Sequence[int | None], ranks: Sequence[int | None],
                    contacts: Sequence[tuple[str | None, str | None] | None]) -> tuple[str, str]:
    """(vehicle_ids, listings) texts of a ``SentListings`` row from parallel sequences in feed order.

    ``contacts`` holds (name, phone) or None per listing (a longer tuple such as (name, phone, email)
    is accepted, its first two items kept). List ids and ranks are kept as runs (a list's listings
    follow each other, ranked 1, 2, 3…): [list id, count] and [first rank, count] for first,
    first + 1, … (or [null, count]); a contact repeats over many listings (one per site), so
    "contacts" keeps each once and "contact" an index per listing.
    """
    if not (len(vehicle_ids) == len(list_ids) == len(ranks) == len(contacts)):
        raise ValueError("listing columns of different lengths")
    table = list(dict.fromkeys(contacts))
    number = dict(zip(table, range(len(table))))
    rows = encode_sent_listings([0] * len(vehicle_ids), vehicle_ids, list_ids, ranks,
                                list(map(number.__getitem__, contacts)), table)
    return rows[0][1:] if rows else (",", '{"v":2,"list":[],"rank":[],"contact":[],"contacts":[]}')


_NONE = np.iinfo(np.int64).min   # a missing list id or rank, in the integer columns below


def encode_sent_listings(concession_ids, vehicle_ids, list_ids, ranks, contact_codes, contacts
                         ) -> dict[int, tuple[int, str, str]]:
    """The ``SentListings`` rows of a medium's sent listings, encoded as ``encode_listings`` does:
    concession id → (listing count, vehicle_ids text, listings JSON).

    The columns are parallel, in feed order (sequences or integer arrays; list ids and ranks may hold
    None); a listing's contact is its index in ``contacts`` (distinct values). A medium's 100,000
    listings are encoded in a few numpy passes over all of them, then cut per concession: one pass
    per concession costs more in numpy's call overhead than the work itself (200 concessions)."""
    concessions = np.asarray(concession_ids, np.int64)
    n = len(concessions)
    if not n:
        return {}
    order = np.argsort(concessions, kind="stable")   # each concession's listings together, in feed order
    concessions = concessions[order]
    vehicles = np.asarray(vehicle_ids, np.int64)[order]
    lists = _with_none(list_ids)[order]
    ranked = _with_none(ranks)[order]
    codes = np.asarray(contact_codes, np.int64)[order]
    starts = np.flatnonzero(np.r_[True, concessions[1:] != concessions[:-1]])
    ends = np.r_[starts[1:], n]
    row = np.repeat(np.arange(len(starts)), ends - starts)   # each listing's row
    new_row = np.r_[True, row[1:] != row[:-1]]

    # Runs of one list, and of consecutive ranks (first, first + 1…) or of no rank, within a row.
    list_runs = np.flatnonzero(new_row | np.r_[True, lists[1:] != lists[:-1]])
    steps = np.where(ranked == _NONE, _NONE, ranked - np.arange(n))   # constant along a run
    rank_runs = np.flatnonzero(new_row | np.r_[True, steps[1:] != steps[:-1]])

    # Contacts numbered per row by first appearance.
    width = int(codes.max()) + 1 if len(codes) else 1
    pairs, first, at = np.unique(row * width + codes, return_index=True, return_inverse=True)
    by_first = np.argsort(first, kind="stable")
    pair_rows = pairs[by_first] // width
    numbers = np.empty(len(pairs), np.int64)
    numbers[by_first] = np.arange(len(pairs)) - np.searchsorted(pair_rows, pair_rows)
    contact_of = numbers[at.ravel()]
    row_contacts = np.searchsorted(pair_rows, np.arange(len(starts) + 1))

    ids_text, ids_at = _decimal_items(vehicles)
    index_text, index_at = _decimal_items(contact_of)
    bounds = np.r_[starts, n]   # each row's first listing, and the end
    ids_at, index_at = ids_at[bounds].tolist(), index_at[bounds].tolist()
    list_bounds = np.searchsorted(list_runs, starts).tolist() + [len(list_runs)]
    rank_bounds = np.searchsorted(rank_runs, starts).tolist() + [len(rank_runs)]
    list_items = list(zip(_or_none(lists[list_runs]), np.diff(np.r_[list_runs, n]).tolist()))
    rank_items = list(zip(_or_none(ranked[rank_runs]), np.diff(np.r_[rank_runs, n]).tolist()))
    used = (pairs[by_first] % width).tolist()
    out = {}
    for k, (concession_id, start, end) in enumerate(zip(concessions[starts].tolist(), starts.tolist(),
                                                        ends.tolist())):
        head = json.dumps({"v": 2, "list": list_items[list_bounds[k]:list_bounds[k + 1]],
                           "rank": rank_items[rank_bounds[k]:rank_bounds[k + 1]]},
                          ensure_ascii=False, separators=(",", ":"))
        people = [contacts[c] for c in used[row_contacts[k]:row_contacts[k + 1]]]
        tail = json.dumps([c if c is None else c[:2] for c in people], ensure_ascii=False, separators=(",", ":"))
        # The same text as json.dumps of the whole dict: "contact" is a plain list of small integers.
        details = f'{head[:-1]},"contact":[{index_text[index_at[k]:index_at[k + 1] - 1]}],"contacts":{tail}}}'
        out[concession_id] = (end - start, "," + ids_text[ids_at[k]:ids_at[k + 1]], details)
    return out


def _with_none(values) -> np.ndarray:
    """An integer column, None as ``_NONE``."""
    if isinstance(values, np.ndarray):
        return values.astype(np.int64, copy=False)
    return np.fromiter((_NONE if v is None else v for v in values), np.int64, len(values))


def _or_none(values: np.ndarray) -> list:
    return [None if v == _NONE else v for v in values.tolist()]


def _decimal_items(values: np.ndarray) -> tuple[str, np.ndarray]:
    """("12,15,18,", offsets): each non-negative integer in decimal followed by a comma, and where
    each one starts (plus the end), from their digits as a character matrix (a row per value,
    leading zeros dropped by a mask): 100,000 ids in ~5 ms where ``str`` per id takes ~25 ms. The
    digits come one column at a time from 32-bit integers (a division by a constant, vectorised),
    three times faster than dividing the 64-bit values by every power of ten at once."""
    values = np.asarray(values, np.int64)
    if not len(values):
        return "", np.zeros(1, np.int64)
    if values.min() < 0:
        raise ValueError("negative integer in a packed list")
    width = len(str(int(values.max())))
    rest = values.astype(np.uint32) if width <= 9 else values.copy()
    chars = np.empty((len(values), width + 1), np.uint8)
    chars[:, width] = ord(",")
    for column in range(width - 1, -1, -1):
        chars[:, column] = rest % 10
        rest //= 10
    chars[:, :width] += ord("0")
    digits = np.searchsorted(10 ** np.arange(1, width, dtype=np.int64), values, side="right") + 1   # 0 has one
    keep = np.arange(width + 1) >= (width - digits)[:, None]
    return chars[keep].tobytes().decode("ascii"), np.r_[0, np.cumsum(digits + 1)]


def decode_vehicle_ids(vehicle_ids: str) -> list[int]:
    """The vehicle ids of a ``SentListings.vehicle_ids`` text, in feed order."""
    inner = vehicle_ids.strip(",")
    return [int(x) for x in inner.split(",")] if inner else []


def decode_listings(vehicle_ids: str, listings: str) -> list[Listing]:
    """The listings of a ``SentListings`` row, in feed order (inverse of ``encode_listings``; rows
    written before runs were kept, with one value per listing, are read too)."""
    ids = decode_vehicle_ids(vehicle_ids)
    data = json.loads(listings)
    lists, ranks, index = data["list"], data["rank"], data["contact"]
    if data.get("v") == 2:
        lists = [value for value, n in lists for _ in range(n)]
        ranks = [r for first, n in ranks for r in ([None] * n if first is None else range(first, first + n))]
    if not (len(ids) == len(lists) == len(ranks) == len(index)):
        raise ValueError("corrupt sent listings row: columns of different lengths")
    people = [None if c is None else tuple(c) for c in data["contacts"]]
    contacts = [None if i is None else people[i] for i in index]
    names = [None if c is None else c[0] for c in contacts]
    phones = [None if c is None else c[1] for c in contacts]
    return list(map(Listing, ids, lists, ranks, names, phones))


class NotSentListing(NamedTuple):
    """One decision not sent (vehicle × publication list) as the report shows it."""
    vehicle_id: int
    list_id: int | None
    rank: int | None
    outcome: str
    reasons: str | None   # one per line

    @property
    def reason_list(self) -> list[str]:
        return [r for r in (self.reasons or "").split("\n") if r]


def encode_ranks(ranks: Sequence[int | None]) -> str | None:
    """The ``NotSentListings.ranks`` text: ",3,,7," (an empty item is no rank), None when no rank at all."""
    if all(r is None for r in ranks):
        return None
    return "," + ",".join("" if r is None else str(r) for r in ranks) + ","


def decode_ranks(ranks: str | None, count: int) -> list[int | None]:
    """The ranks of a ``NotSentListings`` row of ``count`` vehicles (inverse of ``encode_ranks``)."""
    if ranks is None:
        return [None] * count
    out = [int(x) if x else None for x in ranks[1:-1].split(",")]
    if len(out) != count:
        raise ValueError("corrupt not-sent listings row: ranks and vehicles of different lengths")
    return out


def decode_not_sent(vehicle_ids: str, ranks: str | None, list_id: int | None, outcome: str,
                    reasons: str | None) -> list[NotSentListing]:
    """The decisions of a ``NotSentListings`` row, in its rank order."""
    ids = decode_vehicle_ids(vehicle_ids)
    return [NotSentListing(v, list_id, r, outcome, reasons) for v, r in zip(ids, decode_ranks(ranks, len(ids)))]


def _not_sent_order(item: tuple[int, int | None]) -> tuple:
    vehicle_id, rank = item
    return rank is None, rank or 0, vehicle_id


def pack_not_sent(not_sent) -> list[dict]:
    """The ``NotSentListings`` columns (without run and medium) of the decisions not sent (``Decision``):
    one dict per (concession, publication list, outcome, reasons), in order of first appearance, its
    vehicles in rank order (rank ascending, no rank last, then vehicle id)."""
    groups: dict[tuple, tuple[list, list]] = {}
    for d in not_sent:
        # The engine shares one reasons tuple per group of vehicles: hashing it is cheap.
        key = (d.concession_id, d.list_id, d.outcome, d.reasons)
        group = groups.get(key)
        if group is None:
            group = groups[key] = ([], [])
        group[0].append(d.vehicle_id)
        group[1].append(d.rank)
    # Reasons are stored joined by lines: two tuples of the same text are one group.
    merged: dict[tuple, tuple[list, list]] = {}
    for (concession_id, list_id, outcome, reasons), (ids, ranks) in groups.items():
        into = merged.setdefault((concession_id, list_id, outcome, "\n".join(reasons) or None), ([], []))
        into[0].extend(ids)
        into[1].extend(ranks)
    rows = []
    for (concession_id, list_id, outcome, reasons), (ids, ranks) in merged.items():
        if ranks.count(None) == len(ranks):   # the usual case: no rank, a plain sort of the ids
            ids.sort()
        else:
            items = sorted(zip(ids, ranks), key=_not_sent_order)
            ids, ranks = [v for v, _ in items], [r for _, r in items]
        rows.append({"concession_id": concession_id, "publication_list_id": list_id, "outcome": outcome,
                     "reasons": reasons, "listing_count": len(ids), "vehicle_ids": "," + ",".join(map(str, ids)) + ",",
                     "ranks": encode_ranks(ranks)})
    return rows


def _feed_order(d) -> tuple:
    # jobs.send writes a feed in (list, rank, vehicle) order; the listings are kept in the same order.
    return d.list_id, d.rank if d.rank is not None else 1 << 30, d.vehicle_id


def write_medium_report(session, sm: SendMedium, decisions, contacts) -> tuple[int, int]:
    """Replace the report of one send medium from the engine's decisions (``Decision``); ``contacts``
    maps (vehicle id, list id) → (name, phone, email) of each sent listing. See ``write_report_rows``."""
    sent_by_concession: dict[int, list] = {}
    not_sent = []
    for d in decisions:
        if d.outcome == SENT:
            sent_by_concession.setdefault(d.concession_id, []).append(d)
        else:
            not_sent.append(d)
    get_contact = contacts.get
    sent = {}
    for concession_id, listings in sent_by_concession.items():
        listings.sort(key=_feed_order)
        sent[concession_id] = ([d.vehicle_id for d in listings], [d.list_id for d in listings],
                               [d.rank for d in listings], [get_contact((d.vehicle_id, d.list_id)) for d in listings])
    return write_report_rows(session, sm, sent, not_sent)


def write_report_rows(session, sm: SendMedium, sent: dict[int, tuple[list, list, list, list]] | tuple, not_sent,
                      *, replace: bool = True, contacts: Sequence[tuple | None] | None = None) -> tuple[int, int]:
    """Replace the report of one send medium: one ``SentListings`` row per concession with its sent
    listings, one ``NotSentListings`` row per (concession, publication list, outcome, reasons) with the
    decisions not sent. Returns (sent rows, not-sent rows) written.

    ``sent`` maps a concession id to the parallel columns (vehicle ids, list ids, ranks, contacts) of
    its sent listings in feed order; or, with ``contacts``, ``sent`` is the columns (concession ids,
    vehicle ids, list ids, ranks, contact numbers in ``contacts``) of all the medium's sent listings
    in feed order (``encode_sent_listings``, the send's). ``not_sent`` are the other decisions
    (``Decision``). The rows of an earlier attempt of the same medium are deleted first, so a retried
    medium replaces them (a first attempt, which has none to replace, passes ``replace=False``).
    """
    if replace:
        session.execute(delete(NotSentListings).where(NotSentListings.send_medium_id == sm.id))
        session.execute(delete(SentListings).where(SentListings.send_medium_id == sm.id))
    run_id, sm_id = sm.run_id, sm.id
    others = pack_not_sent(not_sent)
    for row in others:
        row["run_id"], row["send_medium_id"] = run_id, sm_id
    if contacts is None:
        rows = []
        for concession_id, columns in sent.items():
            if len(columns[0]):
                vehicle_ids, listings = encode_listings(*columns)
                rows.append({"run_id": run_id, "send_medium_id": sm_id, "concession_id": concession_id,
                             "listing_count": len(columns[0]), "vehicle_ids": vehicle_ids, "listings": listings})
    else:
        encoded = encode_sent_listings(*sent, contacts)
        rows = [{"run_id": run_id, "send_medium_id": sm_id, "concession_id": concession_id, "listing_count": count,
                 "vehicle_ids": vehicle_ids, "listings": listings}
                for concession_id, (count, vehicle_ids, listings) in encoded.items()]
    _insert_rows(session, NotSentListings.__table__, others)
    _insert_rows(session, SentListings.__table__, rows)
    return len(rows), len(others)


def _insert_rows(session, table, rows: list[dict]) -> None:
    """Insert ``rows`` (dicts of the same keys) into ``table`` in the session's transaction: by COPY on
    PostgreSQL (each medium's rows carry about 1 MB of packed ids: COPY streams them without the
    parameter binding of an executemany), else by an executemany."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), rows)
        return
    names = list(rows[0])
    columns = ", ".join(table.c[name].name for name in names)
    with connection.connection.driver_connection.cursor() as cursor:
        with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[name] for name in names])


# Rules ---------------------------------------------------------------------------------------------

def shrink_hold_reason(previous_count: int | None, new_count: int) -> str | None:
    """Why a feed must be held before publishing, or None. Plain data in, French sentence out.

    Some portals delete the dealer's whole stock on an empty upload, so an empty feed, or one that
    loses more than half the listings of the previous published feed, waits for a confirmation.
    The first feed of a medium (no previous one) is never held.
    """
    from flask_babel import gettext as _

    if previous_count is None or previous_count == 0:
        return None
    if new_count == 0:
        return _("Le flux serait vide alors que le précédent contenait %(n)d annonces.", n=previous_count)
    lost = previous_count - new_count
    if lost > SHRINK_LIMIT * previous_count:
        return _("Le flux perdrait %(lost)d annonces sur %(n)d (%(pct)d %%), plus de la moitié.",
                 lost=lost, n=previous_count, pct=round(100 * lost / previous_count))
    return None


def run_status(medium_states: list[str]) -> str:
    """A run's state from its media: running until every medium is final; then failed if one
    failed, held if one waits for confirmation, else done."""
    if not medium_states:
        return DONE
    if any(s not in FINAL_MEDIUM_STATES for s in medium_states):
        return RUNNING
    if FAILED in medium_states:
        return FAILED
    if HELD in medium_states:
        return HELD
    return DONE


def progress(medium_states: list[str]) -> tuple[int, int]:
    """(media finished, media total) for the progress bar."""
    return sum(1 for s in medium_states if s in FINAL_MEDIUM_STATES), len(medium_states)


def search_phrase(entry_number: str, medium_name: str, outcome: str, reason_count: int) -> str:
    """"VO 2029 diffusé sur X" / "VO 2029 filtré sur X pour 2 raisons" (guide §3.1)."""
    from flask_babel import gettext as _, ngettext

    if outcome == SENT:
        return _("VO %(ref)s diffusé sur %(medium)s", ref=entry_number, medium=medium_name)
    if outcome in FILTERED_OUTCOMES:
        return ngettext("VO %(ref)s filtré sur %(medium)s pour %(num)d raison",
                        "VO %(ref)s filtré sur %(medium)s pour %(num)d raisons",
                        reason_count, ref=entry_number, medium=medium_name)
    labels = {"deselected": _("désélectionné"), "not_selected": _("non sélectionné"),
              "limit_reached": _("limite atteinte")}
    return _("VO %(ref)s non diffusé sur %(medium)s (%(why)s)", ref=entry_number, medium=medium_name,
             why=labels.get(outcome, outcome))


# Report queries (set-based; scoped through models.scope.Scope) --------------------------------------

def medium_counts(session, run_id: int, scope) -> dict[int, dict[str, int]]:
    """send_medium id → {"sent": n, "filtered": n} within the scope, in two grouped queries.

    The network sees the counters kept on SendMedium; a dealer sees only the rows of their own
    concessions' vehicles (never another dealer's figures)."""
    from sqlalchemy import func, select

    out: dict[int, dict[str, int]] = {}
    sent = (select(SentListings.send_medium_id, func.sum(SentListings.listing_count))
            .where(SentListings.run_id == run_id).group_by(SentListings.send_medium_id))
    for sm_id, n in session.execute(scope.filter(sent, SentListings)):
        out.setdefault(sm_id, {"sent": 0, "filtered": 0})["sent"] = int(n or 0)
    filtered = (select(NotSentListings.send_medium_id, func.sum(NotSentListings.listing_count))
                .where(NotSentListings.run_id == run_id, NotSentListings.outcome.in_(FILTERED_OUTCOMES))
                .group_by(NotSentListings.send_medium_id))
    for sm_id, n in session.execute(scope.filter(filtered, NotSentListings)):
        out.setdefault(sm_id, {"sent": 0, "filtered": 0})["filtered"] = int(n or 0)
    return out


def sent_listings(session, scope, *, run_id: int | None = None,
                  send_medium_id: int | None = None) -> dict[int, list[Listing]]:
    """send_medium id → its sent listings within the scope (one query, decoded in Python), for a run or a medium."""
    from sqlalchemy import select

    stmt = select(SentListings.send_medium_id, SentListings.vehicle_ids, SentListings.listings)
    if run_id is not None:
        stmt = stmt.where(SentListings.run_id == run_id)
    if send_medium_id is not None:
        stmt = stmt.where(SentListings.send_medium_id == send_medium_id)
    out: dict[int, list[Listing]] = {}
    for sm_id, ids, listings in session.execute(scope.filter(stmt.order_by(SentListings.id), SentListings)):
        out.setdefault(sm_id, []).extend(decode_listings(ids, listings))
    return out


def not_sent_listings(session, scope, *, run_id: int | None = None, send_medium_id: int | None = None,
                      outcomes: Sequence[str] | None = None) -> dict[int, list[NotSentListing]]:
    """send_medium id → its decisions not sent within the scope (one query, decoded in Python), for a run
    or a medium, optionally of some outcomes only; in row order, each row's in rank order."""
    from sqlalchemy import select

    stmt = select(NotSentListings.send_medium_id, NotSentListings.vehicle_ids, NotSentListings.ranks,
                  NotSentListings.publication_list_id, NotSentListings.outcome, NotSentListings.reasons)
    if run_id is not None:
        stmt = stmt.where(NotSentListings.run_id == run_id)
    if send_medium_id is not None:
        stmt = stmt.where(NotSentListings.send_medium_id == send_medium_id)
    if outcomes is not None:
        stmt = stmt.where(NotSentListings.outcome.in_(list(outcomes)))
    out: dict[int, list[NotSentListing]] = {}
    for sm_id, *row in session.execute(scope.filter(stmt.order_by(NotSentListings.id), NotSentListings)):
        out.setdefault(sm_id, []).extend(decode_not_sent(*row))
    return out


REPORT_VEHICLE_CHUNK = 10_000   # ids per IN list (SQLite accepts 32,766 parameters)


def report_vehicles(session, vehicle_ids, columns) -> dict[int, tuple]:
    """vehicle id → (columns…) of the listed vehicles still in the stock (a deleted car is left out,
    as the former join did); one query per 10,000 ids."""
    from sqlalchemy import select

    from .vehicle import Vehicle

    ids = sorted(set(vehicle_ids))
    out: dict[int, tuple] = {}
    for i in range(0, len(ids), REPORT_VEHICLE_CHUNK):
        chunk = ids[i:i + REPORT_VEHICLE_CHUNK]
        for row in session.execute(select(Vehicle.id, *columns).where(Vehicle.id.in_(chunk))):
            out[row[0]] = tuple(row[1:])
    return out


def search_vehicle(session, run_id: int, reference: str, scope) -> list[dict]:
    """Where one VO reference (entry number) went in a run: one line per medium and outcome, in scope.

    Lines come from the ``SentListings`` ("diffusé") and ``NotSentListings`` rows of the vehicle's
    concession that list it."""
    from sqlalchemy import and_, case, or_, select

    from .vehicle import Vehicle

    vehicles = session.execute(select(Vehicle.id, Vehicle.entry_number, Vehicle.concession_id)
                               .where(Vehicle.entry_number == reference.strip())).all()
    if not vehicles:
        return []
    entry = {v.id: v.entry_number for v in vehicles}
    lines = []   # (medium name, send medium id, vehicle id, outcome, reasons)

    matches = [and_(SentListings.concession_id == v.concession_id, SentListings.has_vehicle(v.id))
               for v in vehicles]
    which = case(*[(m, v.id) for m, v in zip(matches, vehicles)])
    stmt = (select(which.label("vehicle_id"), SentListings.send_medium_id, SendMedium.medium_name)
            .join(SendMedium, SendMedium.id == SentListings.send_medium_id)
            .where(SentListings.run_id == run_id, or_(*matches)))
    for r in session.execute(scope.filter(stmt, SentListings)):
        lines.append((r.medium_name, r.send_medium_id, r.vehicle_id, SENT, []))

    matches = [and_(NotSentListings.concession_id == v.concession_id, NotSentListings.has_vehicle(v.id))
               for v in vehicles]
    which = case(*[(m, v.id) for m, v in zip(matches, vehicles)])
    stmt = (select(which.label("vehicle_id"), NotSentListings.outcome, NotSentListings.reasons,
                   SendMedium.medium_name, SendMedium.id.label("send_medium_id"))
            .join(SendMedium, SendMedium.id == NotSentListings.send_medium_id)
            .where(NotSentListings.run_id == run_id, or_(*matches))
            .order_by(NotSentListings.id))   # rows in the order the engine decided them, as before packing
    for r in session.execute(scope.filter(stmt, NotSentListings)):
        lines.append((r.medium_name, r.send_medium_id, r.vehicle_id, r.outcome,
                      [x for x in (r.reasons or "").split("\n") if x]))

    lines.sort(key=lambda line: (line[0], line[1]))   # by medium; sent first within a medium (stable)
    out, seen = [], set()
    for medium_name, sm_id, vehicle_id, outcome, reasons in lines:
        key = (vehicle_id, sm_id, outcome, tuple(reasons))
        if key in seen:   # the same vehicle decided alike through two lists: one line
            continue
        seen.add(key)
        out.append({"vehicle_id": vehicle_id, "send_medium_id": sm_id, "outcome": outcome,
                    "reasons": reasons, "medium": medium_name,
                    "phrase": search_phrase(entry[vehicle_id], medium_name, outcome, len(reasons))})
    return out


def latest_run_of_vehicle(session, vehicle) -> SendRun | None:
    """The latest run whose report mentions this vehicle (sent, or decided otherwise), in one query."""
    from sqlalchemy import or_, select

    in_not_sent = select(NotSentListings.run_id).where(NotSentListings.concession_id == vehicle.concession_id,
                                                       NotSentListings.has_vehicle(vehicle.id))
    in_sent = select(SentListings.run_id).where(SentListings.concession_id == vehicle.concession_id,
                                                SentListings.has_vehicle(vehicle.id))
    return session.execute(select(SendRun).where(or_(SendRun.id.in_(in_not_sent), SendRun.id.in_(in_sent)))
                           .order_by(SendRun.started_at.desc(), SendRun.id.desc()).limit(1)).scalar_one_or_none()


def report_row_count(session, run_id: int) -> int:
    """Rows a run's report takes in the database (sent and not-sent listings), for the benchmark."""
    from sqlalchemy import func, select

    return sum(session.execute(select(func.count()).select_from(m).where(m.run_id == run_id)).scalar_one()
               for m in (NotSentListings, SentListings))


def elapsed_phrase(then: dt.datetime, now: dt.datetime) -> str:
    """"il y a 7 h 21 min" (as the guide's "Dernier envoi"); minutes only under an hour, days beyond 48 h."""
    from flask_babel import gettext as _

    minutes = max(0, int((now - then).total_seconds() // 60))
    if minutes < 60:
        return _("il y a %(m)d min", m=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("il y a %(h)d h %(m)d min", h=hours, m=minutes)
    return _("il y a %(d)d jours", d=hours // 24)
