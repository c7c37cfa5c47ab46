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
from pathlib import Path
from typing import Iterable

from . import FeedFormat

_SEP = b"\0"   # never inside a rendered part (jobs.feeds.base: values lose their NUL characters)


def build_store(fmt: FeedFormat, rows: Iterable[dict], path: Path) -> int:
    """Render every row's listing parts into ``path`` (+ ``.index``), atomically; returns the count."""
    encoding, errors, listing = fmt.encoding, fmt.errors, fmt.listing
    ids, offsets = array("q"), array("q", [0])
    temp = path.with_name(path.name + f".{os.getpid()}.tmp")
    position, pending = 0, []
    with open(temp, "wb") as fh:
        for row in rows:
            data = "\0".join(listing(row)).encode(encoding, errors)
            pending.append(data)
            position += len(data)
            ids.append(row["id"])
            offsets.append(position)
            if len(pending) >= 1024:
                fh.write(b"".join(pending))
                pending.clear()
        fh.write(b"".join(pending))
    index = path.with_name(path.name + ".index")
    with open(index.with_name(index.name + f".{os.getpid()}.tmp"), "wb") as fh:
        fh.write(len(ids).to_bytes(8, "little"))
        fh.write(ids.tobytes())
        fh.write(offsets.tobytes())
    os.replace(index.with_name(index.name + f".{os.getpid()}.tmp"), index)
    os.replace(temp, path)   # the store exists only once complete (its index is already there)
    return len(ids)


class ListingStore:
    """A built store, mapped read-only: ``parts(vehicle_id)`` → the listing's encoded parts."""

    def __init__(self, path: Path):
        raw = Path(str(path) + ".index").read_bytes()
        count = int.from_bytes(raw[:8], "little")
        ids, self.offsets = array("q"), array("q")
        ids.frombytes(raw[8:8 + 8 * count])
        self.offsets.frombytes(raw[8 + 8 * count:])
        self.position = dict(zip(ids, range(count)))
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            self.blob = mmap.mmap(fh.fileno(), 0, prot=mmap.PROT_READ) if size else b""

    def __contains__(self, vehicle_id: int) -> bool:
        return vehicle_id in self.position

    def parts(self, vehicle_id: int) -> list[bytes]:
        i = self.position[vehicle_id]
        return self.blob[self.offsets[i]:self.offsets[i + 1]].split(_SEP)


def write_feed(fmt: FeedFormat, medium, store: ListingStore, listings: Iterable[tuple], out) -> int:
    """Write one medium's feed from the store. ``listings`` yields (vehicle id, customer code, link,
    contact) in feed order; returns the listings written."""
    encoding, errors = fmt.encoding, fmt.errors
    kinds = {"customer_code": 1, "url": 2, "contact": 3}
    # Rendered slot values repeat (a list's customer code, a site's contact): encoded once each.
    slots = [(kinds[s.kind], s.render, {} if s.kind != "url" else None) for s in fmt.slots]
    out.write(fmt.header(medium).encode(encoding, errors))
    position, offsets, blob = store.position, store.offsets, store.blob
    pending: list[bytes] = []
    append = pending.append
    count = 0
    for listing in listings:
        i = position[listing[0]]
        parts = blob[offsets[i]:offsets[i + 1]].split(_SEP)
        append(parts[0])
        for n, (kind, render, cache) in enumerate(slots, 1):
            value = listing[kind]
            if cache is None:
                append(render(value).encode(encoding, errors))
            else:
                data = cache.get(value)
                if data is None:
                    data = cache[value] = render(value).encode(encoding, errors)
                append(data)
            append(parts[n])
        count += 1
        if len(pending) >= 8192:
            out.write(b"".join(pending))
            pending.clear()
    pending.append(fmt.footer.encode(encoding, errors))
    out.write(b"".join(pending))
    return count
