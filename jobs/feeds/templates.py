"""The send's feed writer: listings rendered once per run and format, their slots filled per medium.

Fifty media in six formats would render every vehicle fifty times; a vehicle's listing differs
between media of one format only by its slots (customer code, link, contact). So the first medium
of a format in a run renders every candidate vehicle's parts once into a *listing store* (a file:
the encoded parts of each vehicle, separated by NUL bytes, and an index), and each medium's job
maps the store and writes its feed by joining the parts of its sent vehicles with its own slot
values. Output is byte for byte what ``FeedFormat.write`` gives for the same rows.
"""
from __future__ import annotations

import mmap
import os
from array import array
from itertools import chain
from pathlib import Path
from typing import Iterable

from . import FeedFormat

_SEP = b"\0"   # never inside a rendered part (jobs.feeds.base: values lose their NUL characters)


def build_store(fmt: FeedFormat, rows: Iterable[dict], path: Path) -> int:
    """Render every row's listing into ``path`` (+ ``.index``), atomically; returns the count.

    Each vehicle is stored twice: its parts around every slot, and whole with its own link and its
    site's contact (the common case), where only the customer code is left as a NUL byte."""
    from . import slot_value

    encoding, errors, listing, slots = fmt.encoding, fmt.errors, fmt.listing, fmt.slots
    ids, offsets, whole_offsets = array("q"), array("q", [0]), array("q", [0])
    temp = path.with_name(path.name + f".{os.getpid()}.tmp")
    whole_temp = path.with_name(path.name + f".whole.{os.getpid()}.tmp")
    position = whole_position = 0
    pending, whole_pending = [], []
    with open(temp, "wb") as fh, open(whole_temp, "wb") as whole_fh:
        for row in rows:
            parts = listing(row)
            data = "\0".join(parts).encode(encoding, errors)
            values = ["\0" if s.kind == "customer_code" else s.render(slot_value(s.kind, row)) for s in slots]
            whole = ("".join(chain.from_iterable(zip(parts, values))) + parts[-1]).encode(encoding, errors)
            pending.append(data)
            whole_pending.append(whole)
            position += len(data)
            whole_position += len(whole)
            ids.append(row["id"])
            offsets.append(position)
            whole_offsets.append(whole_position)
            if len(pending) >= 1024:
                fh.write(b"".join(pending))
                whole_fh.write(b"".join(whole_pending))
                pending.clear()
                whole_pending.clear()
        fh.write(b"".join(pending))
        whole_fh.write(b"".join(whole_pending))
    index = path.with_name(path.name + ".index")
    index_temp = index.with_name(index.name + f".{os.getpid()}.tmp")
    with open(index_temp, "wb") as fh:
        fh.write(len(ids).to_bytes(8, "little"))
        fh.write(ids.tobytes())
        fh.write(offsets.tobytes())
        fh.write(whole_offsets.tobytes())
    os.replace(index_temp, index)
    os.replace(whole_temp, path.with_name(path.name + ".whole"))
    os.replace(temp, path)   # the store exists only once complete (its other files are already there)
    return len(ids)


def _map(path: Path):
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        return mmap.mmap(fh.fileno(), 0, prot=mmap.PROT_READ) if size else b""


class ListingStore:
    """A built store, mapped read-only: ``position`` maps a vehicle id to its index in both blobs."""

    def __init__(self, path: Path):
        raw = Path(str(path) + ".index").read_bytes()
        count = int.from_bytes(raw[:8], "little")
        ids, self.offsets, self.whole_offsets = array("q"), array("q"), array("q")
        ids.frombytes(raw[8:8 + 8 * count])
        self.offsets.frombytes(raw[8 + 8 * count:16 + 16 * count])
        self.whole_offsets.frombytes(raw[16 + 16 * count:])
        self.position = dict(zip(ids, range(count)))
        self.blob = _map(path)
        self.whole = _map(path.with_name(path.name + ".whole"))


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
    position, offsets, blob = store.position, store.offsets, store.blob
    whole, whole_offsets = store.whole, store.whole_offsets
    count = 0
    for customer_code, vehicle_ids, own in lists:
        count += len(vehicle_ids)
        if own is None:
            data = b"".join([whole[whole_offsets[i]:whole_offsets[i + 1]]
                             for i in map(position.__getitem__, vehicle_ids)])
            if code_slot is not None:
                data = data.replace(_SEP, code_slot(customer_code).encode(encoding, errors))
            out.write(data)
            continue
        pending: list[bytes] = []
        append = pending.append
        for vehicle_id, (link, contact) in zip(vehicle_ids, own):
            i = position[vehicle_id]
            parts = blob[offsets[i]:offsets[i + 1]].split(_SEP)
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
