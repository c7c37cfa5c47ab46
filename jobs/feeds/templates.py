"""The send's feed writer: listings rendered once per run and format, their slots filled per medium.

Fifty media in six formats would render every vehicle fifty times; a vehicle's listing differs
between media of one format only by its slots (customer code, link, contact). So the first medium
of a format in a run renders every candidate vehicle's listing once into a *listing store* (one
file: each vehicle's listing whole, its customer code left as a NUL byte, then each one's encoded
parts separated by NUL bytes, then an index), and each medium's job maps the store and writes its
feed from it: the whole listings of its sent vehicles, copied a run of neighbours at a time (the
store keeps each concession's vehicles together by score, the default order of a list), or their
parts joined with its own slot values. Output is byte for byte what ``FeedFormat.write`` gives for
the same rows.

A listing depends only on its vehicle's row and on the store's *context* (the format's code, our
public address, the signing key, the labels): the store keeps a fingerprint of each vehicle's row,
and the next night's store keeps the listings whose row did not change from the previous store of
the same context, in that store's base, instead of rendering them again (``build_store``'s
``previous`` and ``reused``).
"""
from __future__ import annotations

import mmap
import os
import shutil
import tempfile
from array import array
from itertools import chain
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import numpy as np

from ..vehicle_index import VehicleIndex
from . import FeedFormat

_SEP = b"\0"   # never inside a rendered part (jobs.feeds.base: values lose their NUL characters)
_MAGIC = b"VOSTORE4"
_NO_FINGERPRINT = bytes(16)
_NO_BASE = bytes(16)
_TRAILER = 32 + 16 + 16 + 8 + 8 + 8   # context, token, base token, count, index offset, magic
_CHUNK = 1 << 20       # bytes joined at a time by write_feed: within the CPU cache
_COLUMNS = 5          # of the index: ids, wholes_at, ends_at, parts_at, parts_end
_LONG_RUN = 1 << 20   # a run of copied listings this long is written from the previous store as it is
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
                reused: Iterable[int] = (), layered: bool | None = None,
                order: "Mapping[int, tuple] | StoreOrder | None" = None) -> int:
    """Render every row's listing into ``path``, atomically; returns the listings stored.

    Each vehicle is stored twice: whole with its own link and its site's contact (the common case),
    where only the customer code is left as a NUL byte, and as its parts around every slot. The whole
    listings come first, one after the other in ``order`` (vehicle id → sort key, ties by id; by id
    without it; or a ``StoreOrder`` made of it once for several stores), then the parts: a feed
    listing vehicles in that order copies them a run at a time.
    ``fingerprints`` (vehicle id → 16 bytes) say what row each rendered listing comes from. The
    ``reused`` vehicles keep their listing from ``previous``, a store of the same ``context`` where
    they have the fingerprint of their current row, instead of being rendered: left in place in the
    previous store's base when it has one or is one (``layered``; by default while the listings of
    the store's own stay under ``LAYER_LIMIT``), else copied."""
    from . import slot_value

    if len(context) > 32:
        raise ValueError("a store context is at most 32 bytes")
    rows = list(rows)
    reused = np.asarray(reused if isinstance(reused, np.ndarray) else list(reused), np.int64)
    encoding, errors, listing, slots = fmt.encoding, fmt.errors, fmt.listing, fmt.slots
    columns = [array("q") for _ in range(_COLUMNS)]
    ids, wholes_at, ends_at, parts_at, parts_end = columns
    sources, prints = bytearray(), []
    base = None
    at = in_base = np.zeros(0, np.int64)
    if previous is not None:
        # 95,000 listings kept on a usual night: found, and their index gathered, by array operations.
        at = previous.locate(reused)
        in_previous_base = np.frombuffer(previous.sources, np.uint8)[at] != 0 if previous.base is not None else None
        in_base = at if in_previous_base is None else at[in_previous_base]
        if (at < 0).any():
            raise KeyError(f"a reused vehicle without listing in {previous.path}")
        own_count = len(rows) + len(at) - len(in_base)
        if layered if layered is not None else own_count <= LAYER_LIMIT * max(len(at) + len(rows), 1):
            base = previous.base_store()
    temp = path.with_name(path.name + f".{os.getpid()}.tmp")
    try:
        if base is not None:
            # The base first: a store exists only complete, with its base beside it.
            linked = base_path(temp)
            linked.unlink(missing_ok=True)
            try:
                os.link(base.path, linked)
            except OSError:   # no hard links here: the store is written whole
                base = None
        if base is not None:
            # Listings left in the base keep their offsets there.
            for column, old in zip(columns, previous.columns):
                column.frombytes(np.frombuffer(old, np.int64)[in_base].tobytes())
            sources.extend(b"\1" * len(in_base))
            prints.append(np.frombuffer(previous.fingerprints, "V16")[in_base].tobytes())
        # The store's own listings: copied from the previous store, or rendered, in the store's order.
        if base is None:
            copied = at
        elif in_previous_base is None:   # the previous store is the base: all its listings stay there
            copied = at[:0]
        else:
            copied = np.sort(at[~in_previous_base])
        own = _OwnListings(previous, copied, rows, order if isinstance(order, StoreOrder) else StoreOrder(order))
        pending_wholes: list = []
        pending_parts: list = []
        with open(temp, "wb") as fh, tempfile.TemporaryFile(dir=temp.parent) as parts_file:
            pending_size = 0

            def flush():
                nonlocal pending_size
                fh.write(b"".join(pending_wholes))
                pending_wholes.clear()
                parts_file.write(b"".join(pending_parts))
                pending_parts.clear()
                pending_size = 0
            for k, row, whole, parts in own.runs():
                if row is not None:
                    texts = listing(row)
                    values = ["\0" if s.kind == "customer_code" else s.render(slot_value(s.kind, row))
                              for s in slots]
                    whole = ("".join(chain.from_iterable(zip(texts, values))) + texts[-1]).encode(encoding, errors)
                    parts = "\0".join(texts).encode(encoding, errors)
                    own.rendered(k, len(whole), len(parts))
                elif len(whole) >= _LONG_RUN:
                    flush()
                    fh.write(whole)
                    parts_file.write(parts)
                    continue
                pending_wholes.append(whole)
                pending_parts.append(parts)
                pending_size += len(whole)
                if len(pending_wholes) >= 1024 or pending_size >= _LONG_RUN:
                    flush()
            flush()
            own_columns, data_end = own.index()
            for column, values in zip(columns, own_columns):
                column.frombytes(values.tobytes())
            sources.extend(bytes(len(own)))
            prints.append(own.fingerprints(fingerprints or {}).tobytes())
            parts_file.seek(0)
            shutil.copyfileobj(parts_file, fh, 1 << 20)
            # The index goes after the listings: its columns, sources, fingerprints, context, tokens,
            # then its place.
            for column in columns:
                fh.write(column.tobytes())
            fh.write(bytes(sources))
            fh.write(b"".join(prints))
            fh.write(context.ljust(32, b"\0"))
            fh.write(os.urandom(16))   # this store's token: what a store built on it checks its base by
            fh.write(base.token if base is not None else _NO_BASE)
            fh.write(len(ids).to_bytes(8, "little") + data_end.to_bytes(8, "little") + _MAGIC)
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


class StoreOrder:
    """The order of a store's listings, as ranks: the vehicles of ``order`` (vehicle id → sort key) by
    key, ties by id, then the others by id. Made once per job for its stores (sorting 100,000 keys)."""

    def __init__(self, order: Mapping[int, tuple] | None = None):
        by_key = [vehicle_id for _, vehicle_id in sorted(zip((order or {}).values(), (order or {}).keys()))]
        self._index = VehicleIndex(np.asarray(by_key, np.int64))
        self._size = len(by_key)

    def rank(self, vehicle_ids: np.ndarray) -> np.ndarray:
        at = self._index.find(vehicle_ids)
        return np.where(at >= 0, at, self._size + vehicle_ids)


class _OwnListings:
    """A store's own listings in its order, merged from the previous store's listings it copies
    (``copied``: their places there) and the ``rows`` it renders; the copied listings that stay
    neighbours go a run at a time (their wholes follow one another in the previous store, and their
    parts too): a night copies 95,000 listings, and one Python step each took up to 1.8 s a store."""

    def __init__(self, previous: "ListingStore | None", copied: np.ndarray, rows: list[dict], order: StoreOrder):
        self.previous, self.rows = previous, rows
        self.row_ids = np.fromiter((row["id"] for row in rows), np.int64, len(rows))
        old_ids = np.frombuffer(previous.ids, np.int64) if previous is not None else np.zeros(0, np.int64)
        self.copied = len(copied)
        self.merged = np.argsort(np.concatenate([order.rank(old_ids[copied]), order.rank(self.row_ids)]),
                                 kind="stable")
        self.is_copied = self.merged < self.copied
        self.old_at = np.full(len(self.merged), -1, np.int64)
        self.old_at[self.is_copied] = copied[self.merged[self.is_copied]]
        self.ids = np.empty(len(self.merged), np.int64)
        self.ids[~self.is_copied] = self.row_ids[self.merged[~self.is_copied] - self.copied]
        self.whole_sizes = np.zeros(len(self.merged), np.int64)
        self.part_sizes = np.zeros(len(self.merged), np.int64)
        follows = np.zeros(len(self.merged), bool)
        if self.copied:
            c = self.old_at[self.is_copied]
            self.ids[self.is_copied] = old_ids[c]
            self.old = [np.frombuffer(column, np.int64) for column in previous.columns[1:]]
            wholes_at, ends_at, parts_at, parts_end = self.old
            self.whole_sizes[self.is_copied] = ends_at[c] - wholes_at[c]
            self.part_sizes[self.is_copied] = parts_end[c] - parts_at[c]
            a = np.maximum(self.old_at, 0)   # (a rendered listing's is never read: it never follows)
            self.sources = np.frombuffer(previous.sources, np.uint8)
            follows[1:] = (self.is_copied[1:] & self.is_copied[:-1] & (self.old_at[1:] == self.old_at[:-1] + 1)
                           & (self.sources[a[1:]] == self.sources[a[:-1]])
                           & (wholes_at[a[1:]] == ends_at[a[:-1]]) & (parts_at[a[1:]] == parts_end[a[:-1]]))
        self.starts = np.flatnonzero(~follows)

    def __len__(self) -> int:
        return len(self.merged)

    def runs(self) -> Iterator[tuple[int, dict | None, memoryview | None, memoryview | None]]:
        """(place, row, None, None) of each listing to render, in the store's order, between the
        (place, None, wholes, parts) of each run of copied listings."""
        starts = self.starts.tolist()
        old_at, merged = self.old_at.tolist(), self.merged.tolist()
        if self.copied:
            views = self.previous.views()
            sources = self.sources
            wholes_at, ends_at, parts_at, parts_end = self.old
        for start, stop in zip(starts, starts[1:] + [len(merged)]):
            first = old_at[start]
            if first < 0:
                yield start, self.rows[merged[start] - self.copied], None, None
            else:
                last, view = old_at[stop - 1], views[sources[first]]
                yield (start, None, view[wholes_at[first]:ends_at[last]], view[parts_at[first]:parts_end[last]])

    def rendered(self, place: int, whole_size: int, parts_size: int) -> None:
        self.whole_sizes[place], self.part_sizes[place] = whole_size, parts_size

    def index(self) -> tuple[list[np.ndarray], int]:
        """The own listings' index columns, once all are written (the parts after the wholes), and the
        end of their data."""
        ends = np.cumsum(self.whole_sizes)
        wholes = int(ends[-1]) if len(ends) else 0
        part_ends = np.cumsum(self.part_sizes) + wholes
        return ([self.ids, ends - self.whole_sizes, ends, part_ends - self.part_sizes, part_ends],
                int(part_ends[-1]) if len(part_ends) else wholes)

    def fingerprints(self, fingerprints: Mapping[int, bytes]) -> np.ndarray:
        """The fingerprint of each own listing's row ("V16"): the previous store's for a copied one."""
        prints = np.empty(len(self.merged), "V16")
        if self.copied:
            prints[self.is_copied] = np.frombuffer(self.previous.fingerprints, "V16")[self.old_at[self.is_copied]]
        if self.rows:
            rendered = np.frombuffer(b"".join([fingerprints.get(v, _NO_FINGERPRINT) for v in self.row_ids.tolist()]),
                                     "V16")
            prints[~self.is_copied] = rendered[self.merged[~self.is_copied] - self.copied]
        return prints


class ListingStore:
    """A built store, mapped read-only; ``locate`` finds the index ``i`` of each vehicle it has a
    listing of: its whole listing is ``blob[wholes_at[i]:ends_at[i]]``,
    its parts ``blob[parts_at[i]:parts_end[i]]``, where ``blob`` is the store's own listings, or its
    base's when ``sources[i]`` is 1 (always 0 in a store without base)."""

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
        if blob[size - 8:] != _MAGIC or data_end + (8 * _COLUMNS + 1 + 16) * count + _TRAILER != size:
            raise StoreError(f"{path}: not a complete listing store")
        at = data_end + (8 * _COLUMNS + 1 + 16) * count
        self.context = blob[at:at + 32]
        self.token, base_token = blob[at + 32:at + 48], blob[at + 48:at + 64]
        self.base = None
        if as_base:   # only its listings' bytes are read, through the store built on it
            if base_token != _NO_BASE:
                raise StoreError(f"{path}: a base built on another base")
            return
        at = data_end
        self.columns = []
        for _ in range(_COLUMNS):
            self.columns.append(array("q", blob[at:at + 8 * count]))
            at += 8 * count
        self.ids, self.wholes_at, self.ends_at, self.parts_at, self.parts_end = self.columns
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
        # The same columns as arrays, for write_feed's runs (no copy).
        self._runs_index = (np.frombuffer(self.wholes_at, np.int64), np.frombuffer(self.ends_at, np.int64),
                            np.frombuffer(self.sources, np.uint8))
        self._locator = None

    def __len__(self) -> int:
        return len(self.ids)

    def base_store(self) -> "ListingStore":
        """The store written whole that a store built on this one keeps its listings in."""
        return self.base if self.base is not None else self

    def views(self) -> tuple[memoryview, memoryview]:
        """The listings' bytes by source: (this store's own, its base's)."""
        own = memoryview(self.blob)
        return own, memoryview(self.base.blob) if self.base is not None else own

    def locate(self, vehicle_ids) -> np.ndarray:
        """The index ``i`` of each of ``vehicle_ids`` (a sequence or an array), -1 for a vehicle without
        listing here (``jobs.vehicle_index``: one array lookup each, not a dict's)."""
        if self._locator is None:
            self._locator = VehicleIndex(np.frombuffer(self.ids, np.int64))
        return self._locator.find(vehicle_ids)

    def release(self) -> None:
        """Unmap the pages of the listings read so far; they stay in the page cache. A worker keeps
        its run's stores open from one medium to the next: without this, its resident memory would
        count every page of the six stores that its feeds read (up to 1.2 GB)."""
        self.blob.madvise(mmap.MADV_DONTNEED)
        if self.base is not None:
            self.base.blob.madvise(mmap.MADV_DONTNEED)

    def runs(self, vehicle_ids) -> Iterator[tuple[int, int, int]]:
        """(source, start, end) of the whole listings of ``vehicle_ids`` (all stored), in that order, a
        run of listings that follow each other in the store at a time."""
        return self.list_runs([vehicle_ids])[0]

    def list_runs(self, id_lists: list) -> list[Iterator[tuple[int, int, int]]]:
        """``runs`` of each list of ``id_lists``, found for all of them at once (a medium's 200 lists:
        numpy's overhead per call would cost more than the work)."""
        sizes = np.fromiter(map(len, id_lists), np.int64, len(id_lists))
        total = int(sizes.sum())
        if not total:
            return [iter(()) for _ in id_lists]
        at = self.locate(np.concatenate([np.asarray(ids, np.int64) for ids in id_lists]))
        if (at < 0).any():
            raise KeyError(f"vehicle without listing in {self.path}")
        wholes_at, ends_at, sources = self._runs_index
        starts, ends, sources = wholes_at[at], ends_at[at], sources[at]
        list_starts = np.r_[0, np.cumsum(sizes)[:-1]]
        cut = np.ones(total, bool)   # a run starts at each list's first listing, and where the store jumps
        cut[1:] = (starts[1:] != ends[:-1]) | (sources[1:] != sources[:-1])
        cut[list_starts[sizes > 0]] = True
        firsts = np.flatnonzero(cut)
        lasts = np.r_[firsts[1:], total] - 1
        runs = list(zip(sources[firsts].tolist(), starts[firsts].tolist(), ends[lasts].tolist()))
        bounds = np.searchsorted(firsts, np.r_[list_starts, total]).tolist()
        return [iter(runs[bounds[k]:bounds[k + 1]]) for k in range(len(id_lists))]

    def unchanged(self, vehicle_ids: np.ndarray, fingerprints: np.ndarray) -> np.ndarray:
        """Whether each of ``vehicle_ids`` has a listing here rendered from a row with its fingerprint
        in ``fingerprints`` (16 bytes each, as a "V16" array): the listings a next store keeps."""
        at = self.locate(vehicle_ids)
        known = at >= 0
        same = np.zeros(len(at), bool)
        same[known] = np.frombuffer(self.fingerprints, "V16")[at[known]] == fingerprints[known]
        return same

    def fingerprint_of(self) -> dict[int, bytes]:
        """vehicle id → the fingerprint of the row its listing was rendered from."""
        prints = self.fingerprints
        return dict(zip(self.ids, [prints[k:k + 16] for k in range(0, 16 * len(self.ids), 16)]))

    def same_context(self, context: bytes) -> bool:
        return self.context == context.ljust(32, b"\0")


def write_feed(fmt: FeedFormat, medium, store: ListingStore, lists: Iterable[tuple], out) -> int:
    """Write one medium's feed from the store; returns the listings written.

    ``lists`` yields, in feed order, (customer code, vehicle ids (a sequence or an array), own) per
    publication list, every vehicle with a listing in the store: when
    ``own`` is None every listing has the vehicle's own link and its site's contact, and is copied
    whole, the list's customer code put in by one replace; otherwise ``own`` holds (link, contact)
    per vehicle and each listing's slots are rendered."""
    encoding, errors = fmt.encoding, fmt.errors
    kinds = {"customer_code": 0, "url": 1, "contact": 2}
    # Rendered slot values repeat (a list's customer code, a site's contact): encoded once each.
    slots = [(kinds[s.kind], s.render, {} if s.kind != "url" else None) for s in fmt.slots]
    code_slot = next((s.render for s in fmt.slots if s.kind == "customer_code"), None)
    out.write(fmt.header(medium).encode(encoding, errors))
    sources, parts_at, parts_end = store.sources, store.parts_at, store.parts_end
    views = store.views()
    lists = list(lists)
    runs = iter(store.list_runs([vehicle_ids for _, vehicle_ids, own in lists if own is None]))
    count = 0
    for customer_code, vehicle_ids, own in lists:
        count += len(vehicle_ids)
        if own is None:
            code = code_slot(customer_code).encode(encoding, errors) if code_slot is not None else None
            for data in _chunks(views, next(runs)):
                out.write(data if code is None else data.replace(_SEP, code))
            continue
        pending: list[bytes] = []
        append = pending.append
        for i, (link, contact) in zip(store.locate(vehicle_ids).tolist(), own):
            parts = views[sources[i]][parts_at[i]:parts_end[i]].tobytes().split(_SEP)
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


def _chunks(views, runs) -> Iterator[bytes]:
    """The bytes of ``runs`` (``ListingStore.runs``) joined about ``_CHUNK`` bytes at a time: a chunk
    stays in the CPU cache from the join to the replace, the hash and the write, where a whole feed's
    bytes (100 MB) would be fetched from memory by each of them again."""
    pending, size = [], 0
    for source, start, end in runs:
        view = views[source]
        while start < end:
            take = min(end, start + _CHUNK - size)
            pending.append(view[start:take])
            size += take - start
            start = take
            if size >= _CHUNK:
                yield b"".join(pending)
                pending.clear()
                size = 0
    if pending:
        yield b"".join(pending)
