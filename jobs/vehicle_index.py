"""Vehicle ids → places in an array, for the send's per-medium lookups of 100,000 vehicles.

A dict lookup per vehicle misses the CPU cache at almost every one (27 ms for 100,000 shuffled ids,
measured); one numpy gather in a table by id takes under 1 ms, a binary search in sorted ids ~18 ms.
"""
from __future__ import annotations

import numpy as np


class VehicleIndex:
    """The place of each of ``ids`` (distinct vehicle ids), found for many vehicles at once."""

    # A table by id takes 4 bytes per id up to the largest: used while ids are this dense.
    DENSITY = 16
    SLACK = 1 << 20

    def __init__(self, ids):
        ids = np.asarray(ids, np.int64)
        self.size = len(ids)
        top = int(ids.max()) + 1 if len(ids) else 0
        if len(ids) and ids.min() >= 0 and top <= self.DENSITY * len(ids) + self.SLACK:
            self.table = np.full(top, -1, np.int32)
            self.table[ids] = np.arange(len(ids), dtype=np.int32)
            self.sorted_ids = self.order = None
        else:
            self.table = None
            self.order = np.argsort(ids, kind="stable")
            self.sorted_ids = ids[self.order]

    def find(self, wanted) -> np.ndarray:
        """The place of each of ``wanted`` (a sequence or an array of ids), -1 where it is not one of ``ids``."""
        wanted = np.asarray(wanted, np.int64)
        if self.table is not None:
            inside = (wanted >= 0) & (wanted < len(self.table))
            return np.where(inside, self.table[np.where(inside, wanted, 0)], -1)
        if not self.size:
            return np.full(len(wanted), -1, np.int64)
        k = np.minimum(np.searchsorted(self.sorted_ids, wanted), self.size - 1)
        return np.where(self.sorted_ids[k] == wanted, self.order[k], -1)
