"""The send's feed writer: listings rendered once per run and format, their slots filled per medium.

Fifty media in six formats would render every vehicle fifty times; a vehicle's listing differs
between media of one format only by its slots (customer code, link, contact). So the first medium
of a format in a run renders every candidate vehicle's parts once into a *listing store* (one file:
the encoded parts of each vehicle, separated by NUL bytes, then an index), and each medium's job
maps the store and writes its feed by joining the parts of its sent vehicles with its own slot
values. Output is byte for byte what ``FeedFormat.write`` gives for the same rows.

A listing depends only on its vehicle's row and on the store's *context* (the format's code, our
public address, the signing key, the labels): the store keeps a fingerprint of each vehicle's row,
and the next night's store keeps the listings whose row did not change from the previous store of
the same context, in that store's base, instead of rendering them again (``build_store``'s
``previous`` and ``reused``).
"""
from __future__ import annotations

import mmap
import os
from array import array
from itertools import chain
from operator import getitem
from pathlib import Path
from typing import Iterable, Mapping

from . import FeedFormat

_SEP = b"\0"   # never inside a rendered part (jobs.feeds.base: values lose their NUL characters)
_MAGIC = b"VOSTORE3"
_NO_FINGERPRINT = bytes(16)
_NO_BASE = bytes(16)
_TRAILER = 32 + 16 + 16 + 8 + 8 + 8   # context, token, base token, count, index offset, magic
_CHUNK = 1024          # listings joined at a time by write_feed: about 1 MB, within the CPU cache
# A store built on the previous one keeps its unchanged listings where they are, in its *base* (the
# last store written whole, hard-linked beside it as "<store>.base"), and holds only the listings
# rendered since: a night copies 5 % of the listings instead of 1.2 GB. Past this share of listings
# of its own, a store is written whole again (and becomes the next stores' base).
LAYER_LIMIT = 0.3


class StoreError(ValueError):
    """A file that is not a complete listing store (the send then renders every listing again)."""


def base_path(path: Path) -> Path:
    """Where a store built on a base finds it: a hard link beside it."""
    return path.with_name(path.name + ".base")


def build_store(fmt: FeedFormat, rows: Iterable[dict], path: Path, *, context: bytes = b"",
                fingerprints: Mapping[int, bytes] | None = None, previous: "ListingStore | None" = None,
                reused: Iterable[int] = (), layered: bool | None = None) -> int:
    """Render every row's listing into ``path``, atomically; returns the listings stored.

    Each vehicle is stored twice: its parts around every slot, and whole with its own link and its
    site's contact (the common case), where only the customer code is left as a NUL byte.
    ``fingerprints`` (vehicle id → 16 bytes) say what row each rendered listing comes from. The
    ``reused`` vehicles keep their listing from ``previous``, a store of the same ``context`` where
    they have the fingerprint of their current row, instead of being rendered: left in place in the
    previous store's base when it has one or is one (``layered``; by default while the listings of
    the store's own stay under ``LAYER_LIMIT``), else copied."""
    from . import slot_value

    if len(context) > 32:
        raise ValueError("a store context is at most 32 bytes")
    rows = list(rows)
    reused = list(reused)
    encoding, errors, listing, slots = fmt.encoding, fmt.errors, fmt.listing, fmt.slots
    fingerprint = (fingerprints or {}).get
    ids, parts_at, wholes_at, ends_at, sources, prints = array("q"), array("q"), array("q"), array("q"), \
        bytearray(), []
    base = None
    if previous is not None:
        at = list(map(previous.position.__getitem__, reused))
        if previous.base is None:
            in_base = at
        else:
            in_base = [i for i in at if previous.sources[i]]
        own = len(rows) + len(at) - len(in_base)
        if layered if layered is not None else own <= LAYER_LIMIT * max(len(at) + len(rows), 1):
            base = previous.base_store()
    temp = path.with_name(path.name + f".{os.getpid()}.tmp")
    position = 0
    pending: list = []

    def flush(fh):
        fh.write(b"".join(pending))
        pending.clear()

    try:
        if base is not None:
            # The base first: a store exists only complete, with its base beside it.
            linked = base_path(temp)
            linked.unlink(missing_ok=True)
            try:
                os.link(base.path, linked)
            except OSError:   # no hard links here: the store is written whole
                base = None
        with open(temp, "wb") as fh:
            if previous is not None:
                old_parts, old_wholes, old_ends = previous.parts_at, previous.wholes_at, previous.ends_at
                old_prints, old_sources = previous.fingerprints, previous.sources
                kept = in_base if base is not None else []
                copied = sorted(at) if base is None else sorted(set(at).difference(in_base))
                # Listings left in the base keep their offsets there (gathered by C calls, not a loop).
                for column, old in ((ids, previous.ids), (parts_at, old_parts), (wholes_at, old_wholes),
                                    (ends_at, old_ends)):
                    column.extend(map(old.__getitem__, kept))
                sources.extend(b"\1" * len(kept))
                prints.extend([old_prints[16 * i:16 * i + 16] for i in kept])
                # The others are copied into this store, in the previous store's order.
                views = previous.views()
                for i in copied:
                    first, middle, last = old_parts[i], old_wholes[i], old_ends[i]
                    pending.append(views[old_sources[i]][first:last])
                    ids.append(previous.ids[i])
                    prints.append(old_prints[16 * i:16 * i + 16])
                    parts_at.append(position)
                    wholes_at.append(position + middle - first)
                    position += last - first
                    ends_at.append(position)
                    sources.append(0)
                    if len(pending) >= 2048:
                        flush(fh)
                flush(fh)
            for row in rows:
                parts = listing(row)
                data = "\0".join(parts).encode(encoding, errors)
                values = ["\0" if s.kind == "customer_code" else s.render(slot_value(s.kind, row)) for s in slots]
                whole = ("".join(chain.from_iterable(zip(parts, values))) + parts[-1]).encode(encoding, errors)
                pending.append(data)
                pending.append(whole)
                ids.append(row["id"])
                parts_at.append(position)
                position += len(data)
                wholes_at.append(position)
                position += len(whole)
                ends_at.append(position)
                sources.append(0)
                prints.append(fingerprint(row["id"], _NO_FINGERPRINT))
                if len(pending) >= 2048:
                    flush(fh)
            flush(fh)
            # The index goes after the listings: ids, offsets, sources, fingerprints, context, tokens,
            # then its place.
            for column in (ids, parts_at, wholes_at, ends_at):
                fh.write(column.tobytes())
            fh.write(bytes(sources))
            fh.write(b"".join(prints))
            fh.write(context.ljust(32, b"\0"))
            fh.write(os.urandom(16))   # this store's token: what a store built on it checks its base by
            fh.write(base.token if base is not None else _NO_BASE)
            fh.write(len(ids).to_bytes(8, "little") + position.to_bytes(8, "little") + _MAGIC)
        if base is not None:
            os.replace(base_path(temp), base_path(path))
        else:
            base_path(path).unlink(missing_ok=True)
        os.replace(temp, path)   # the store exists only once complete
    except BaseException:
        temp.unlink(missing_ok=True)
        base_path(temp).unlink(missing_ok=True)
        raise
    return len(ids)


class ListingStore:
    """A built store, mapped read-only; ``vehicle_ids`` are the vehicles it has a listing of, and
    ``position`` maps each to its index ``i``: its parts are ``blob[parts_at[i]:wholes_at[i]]``, its
    whole listing ``blob[wholes_at[i]:ends_at[i]]``, where ``blob`` is the store's own listings, or
    its base's when ``sources[i]`` is 1 (always 0 in a store without base)."""

    def __init__(self, path: Path, *, as_base: bool = False):
        self.path = Path(path)
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size < _TRAILER:
                raise StoreError(f"{path}: not a listing store")
            self.blob = mmap.mmap(fh.fileno(), 0, prot=mmap.PROT_READ)
        blob = self.blob
        count = int.from_bytes(blob[size - 24:size - 16], "little")
        data_end = int.from_bytes(blob[size - 16:size - 8], "little")
        if blob[size - 8:] != _MAGIC or data_end + 4 * 8 * count + count + 16 * count + _TRAILER != size:
            raise StoreError(f"{path}: not a complete listing store")
        at = data_end + 4 * 8 * count + count + 16 * count
        self.context = blob[at:at + 32]
        self.token, base_token = blob[at + 32:at + 48], blob[at + 48:at + 64]
        self.base = None
        if as_base:   # only its listings' bytes are read, through the store built on it
            if base_token != _NO_BASE:
                raise StoreError(f"{path}: a base built on another base")
            return
        at = data_end
        columns = []
        for _ in range(4):
            columns.append(array("q", blob[at:at + 8 * count]))
            at += 8 * count
        self.ids, self.parts_at, self.wholes_at, self.ends_at = columns
        self.sources = blob[at:at + count]
        at += count
        self.fingerprints = blob[at:at + 16 * count]
        if base_token != _NO_BASE:
            try:
                self.base = ListingStore(base_path(self.path), as_base=True)
            except FileNotFoundError:
                raise StoreError(f"{path}: its base is missing") from None
            if self.base.token != base_token:
                raise StoreError(f"{path}: its base is not the one it was built on")
        self.position = dict(zip(self.ids, range(count)))
        self.vehicle_ids = frozenset(self.ids)   # "are all these listings stored?" in one C call (issuperset)

    def __len__(self) -> int:
        return len(self.ids)

    def base_store(self) -> "ListingStore":
        """The store written whole that a store built on this one keeps its listings in."""
        return self.base if self.base is not None else self

    def views(self) -> tuple[memoryview, memoryview]:
        """The listings' bytes by source: (this store's own, its base's)."""
        own = memoryview(self.blob)
        return own, memoryview(self.base.blob) if self.base is not None else own

    def fingerprint_of(self) -> dict[int, bytes]:
        """vehicle id → the fingerprint of the row its listing was rendered from."""
        prints = self.fingerprints
        return dict(zip(self.ids, [prints[k:k + 16] for k in range(0, 16 * len(self.ids), 16)]))

    def same_context(self, context: bytes) -> bool:
        return self.context == context.ljust(32, b"\0")


def write_feed(fmt: FeedFormat, medium, store: ListingStore, lists: Iterable[tuple], out) -> int:
    """Write one medium's feed from the store; returns the listings written.

    ``lists`` yields, in feed order, (customer code, vehicle ids, own) per publication list: when
    ``own`` is None every listing has the vehicle's own link and its site's contact, and is copied
    whole, the list's customer code put in by one replace; otherwise ``own`` holds (link, contact)
    per vehicle and each listing's slots are rendered."""
    encoding, errors = fmt.encoding, fmt.errors
    kinds = {"customer_code": 0, "url": 1, "contact": 2}
    # Rendered slot values repeat (a list's customer code, a site's contact): encoded once each.
    slots = [(kinds[s.kind], s.render, {} if s.kind != "url" else None) for s in fmt.slots]
    code_slot = next((s.render for s in fmt.slots if s.kind == "customer_code"), None)
    out.write(fmt.header(medium).encode(encoding, errors))
    position, sources = store.position, store.sources
    part_starts, whole_starts, whole_ends = store.parts_at, store.wholes_at, store.ends_at
    views = store.views()
    view = views[0]
    count = 0
    for customer_code, vehicle_ids, own in lists:
        count += len(vehicle_ids)
        if own is None:
            # Slices of a memoryview, joined: one copy of each listing (mmap slices would copy twice),
            # a chunk at a time: a chunk stays in the CPU cache from the join to the replace, the
            # hash and the write, where a whole feed's bytes (100 MB) would be fetched from memory
            # by each of them again.
            at = list(map(position.__getitem__, vehicle_ids))
            spans = map(slice, map(whole_starts.__getitem__, at), map(whole_ends.__getitem__, at))
            if store.base is None:
                listings = list(map(view.__getitem__, spans))
            else:   # each from this store's own listings or from its base's
                listings = list(map(getitem, map(views.__getitem__, map(sources.__getitem__, at)), spans))
            code = code_slot(customer_code).encode(encoding, errors) if code_slot is not None else None
            for first in range(0, len(listings), _CHUNK):
                data = b"".join(listings[first:first + _CHUNK])
                out.write(data if code is None else data.replace(_SEP, code))
            continue
        pending: list[bytes] = []
        append = pending.append
        for vehicle_id, (link, contact) in zip(vehicle_ids, own):
            i = position[vehicle_id]
            parts = views[sources[i]][part_starts[i]:whole_starts[i]].tobytes().split(_SEP)
            values = (customer_code, link, contact)
            append(parts[0])
            for n, (kind, render, cache) in enumerate(slots, 1):
                value = values[kind]
                if cache is None:
                    append(render(value).encode(encoding, errors))
                else:
                    data = cache.get(value)
                    if data is None:
                        data = cache[value] = render(value).encode(encoding, errors)
                    append(data)
                append(parts[n])
        out.write(b"".join(pending))
    out.write(fmt.footer.encode(encoding, errors))
    return count
