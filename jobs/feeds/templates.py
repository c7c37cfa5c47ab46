"""The send's feed writer: listings rendered once per run and format, their slots filled per medium.

Fifty media in six formats would render every vehicle fifty times; a vehicle's listing differs
between media of one format only by its slots (customer code, link, contact). So the first medium
of a format in a run renders every candidate vehicle's parts once into a *listing store* (one file:
the encoded parts of each vehicle, separated by NUL bytes, then an index), and each medium's job
maps the store and writes its feed by joining the parts of its sent vehicles with its own slot
values. Output is byte for byte what ``FeedFormat.write`` gives for the same rows.

A listing depends only on its vehicle's row and on the store's *context* (the format's code, our
public address, the signing key, the labels): the store keeps a fingerprint of each vehicle's row,
and the next night's store copies the listings whose row did not change from the previous store of
the same context instead of rendering them again (``build_store``'s ``previous`` and ``reused``).
"""
from __future__ import annotations

import mmap
import os
from array import array
from itertools import chain, groupby
from pathlib import Path
from typing import Iterable, Mapping

from . import FeedFormat

_SEP = b"\0"   # never inside a rendered part (jobs.feeds.base: values lose their NUL characters)
_MAGIC = b"VOSTORE2"
_NO_FINGERPRINT = bytes(16)
_TRAILER = 8 + 8 + 8   # count, index offset, magic
_CHUNK = 1024          # listings joined at a time by write_feed: about 1 MB, within the CPU cache


class StoreError(ValueError):
    """A file that is not a complete listing store (the send then renders every listing again)."""


def build_store(fmt: FeedFormat, rows: Iterable[dict], path: Path, *, context: bytes = b"",
                fingerprints: Mapping[int, bytes] | None = None, previous: "ListingStore | None" = None,
                reused: Iterable[int] = ()) -> int:
    """Render every row's listing into ``path``, atomically; returns the listings stored.

    Each vehicle is stored twice: its parts around every slot, and whole with its own link and its
    site's contact (the common case), where only the customer code is left as a NUL byte.
    ``fingerprints`` (vehicle id → 16 bytes) say what row each rendered listing comes from. The
    ``reused`` vehicles are copied from ``previous``, a store of the same ``context`` where they have
    the fingerprint of their current row, instead of being rendered."""
    from . import slot_value

    if len(context) > 32:
        raise ValueError("a store context is at most 32 bytes")
    encoding, errors, listing, slots = fmt.encoding, fmt.errors, fmt.listing, fmt.slots
    fingerprint = (fingerprints or {}).get
    ids, starts, prints = array("q"), array("q", [0]), []
    temp = path.with_name(path.name + f".{os.getpid()}.tmp")
    position = 0
    pending: list[bytes] = []
    try:
        with open(temp, "wb") as fh:
            if previous is not None:
                # In the previous store's order, the unchanged listings form long runs between the
                # changed ones: each run is copied in one piece and its offsets shifted.
                old_starts, old_ids, old_prints = previous.starts, previous.ids, previous.fingerprints
                at = sorted(map(previous.position.__getitem__, reused))
                with memoryview(previous.blob) as old_view:
                    for _, run in groupby(enumerate(at), lambda item: item[1] - item[0]):
                        run = list(run)
                        first, last = run[0][1], run[-1][1] + 1
                        base = old_starts[2 * first]
                        fh.write(old_view[base:old_starts[2 * last]])
                        shift = position - base
                        starts.extend([offset + shift for offset in old_starts[2 * first + 1:2 * last + 1]])
                        ids.extend(old_ids[first:last])
                        prints.append(old_prints[16 * first:16 * last])
                        position = starts[-1]
            for row in rows:
                parts = listing(row)
                data = "\0".join(parts).encode(encoding, errors)
                values = ["\0" if s.kind == "customer_code" else s.render(slot_value(s.kind, row)) for s in slots]
                whole = ("".join(chain.from_iterable(zip(parts, values))) + parts[-1]).encode(encoding, errors)
                pending.append(data)
                pending.append(whole)
                ids.append(row["id"])
                position += len(data)
                starts.append(position)
                position += len(whole)
                starts.append(position)
                prints.append(fingerprint(row["id"], _NO_FINGERPRINT))
                if len(pending) >= 2048:
                    fh.write(b"".join(pending))
                    pending.clear()
            fh.write(b"".join(pending))
            # The index goes after the listings: ids, starts, fingerprints, context, then its place.
            fh.write(ids.tobytes())
            fh.write(starts.tobytes())
            fh.write(b"".join(prints))
            fh.write(context.ljust(32, b"\0"))
            fh.write(len(ids).to_bytes(8, "little") + position.to_bytes(8, "little") + _MAGIC)
        os.replace(temp, path)   # the store exists only once complete
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return len(ids)


class ListingStore:
    """A built store, mapped read-only; ``vehicle_ids`` are the vehicles it has a listing of, and
    ``position`` maps each to its index ``i``: its parts
    are ``blob[starts[2i]:starts[2i+1]]``, its whole listing ``blob[starts[2i+1]:starts[2i+2]]``."""

    def __init__(self, path: Path):
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size < _TRAILER + 32 + 8:
                raise StoreError(f"{path}: not a listing store")
            self.blob = mmap.mmap(fh.fileno(), 0, prot=mmap.PROT_READ)
        blob = self.blob
        count = int.from_bytes(blob[size - 24:size - 16], "little")
        data_end = int.from_bytes(blob[size - 16:size - 8], "little")
        if blob[size - 8:] != _MAGIC or data_end + 8 * count + 8 * (2 * count + 1) + 16 * count + 32 + _TRAILER != size:
            raise StoreError(f"{path}: not a complete listing store")
        at = data_end
        ids = array("q", blob[at:at + 8 * count])
        at += 8 * count
        self.starts = array("q", blob[at:at + 8 * (2 * count + 1)])
        at += 8 * (2 * count + 1)
        self.fingerprints = blob[at:at + 16 * count]
        at += 16 * count
        self.context = blob[at:at + 32]
        self.ids = ids
        self.position = dict(zip(ids, range(count)))
        self.vehicle_ids = frozenset(ids)   # "are all these listings stored?" in one C call (issuperset)

    def __len__(self) -> int:
        return len(self.ids)

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
    position, blob = store.position, store.blob
    starts = store.starts
    part_starts, whole_starts, whole_ends = starts[0::2], starts[1::2], starts[2::2]
    view = memoryview(blob)
    count = 0
    for customer_code, vehicle_ids, own in lists:
        count += len(vehicle_ids)
        if own is None:
            # Slices of a memoryview, joined: one copy of each listing (mmap slices would copy twice),
            # a chunk at a time: a chunk stays in the CPU cache from the join to the replace, the
            # hash and the write, where a whole feed's bytes (100 MB) would be fetched from memory
            # by each of them again.
            at = list(map(position.__getitem__, vehicle_ids))
            listings = list(map(view.__getitem__, map(slice, map(whole_starts.__getitem__, at),
                                                      map(whole_ends.__getitem__, at))))
            code = code_slot(customer_code).encode(encoding, errors) if code_slot is not None else None
            for first in range(0, len(listings), _CHUNK):
                data = b"".join(listings[first:first + _CHUNK])
                out.write(data if code is None else data.replace(_SEP, code))
            continue
        pending: list[bytes] = []
        append = pending.append
        for vehicle_id, (link, contact) in zip(vehicle_ids, own):
            i = position[vehicle_id]
            parts = blob[part_starts[i]:whole_starts[i]].split(_SEP)
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
