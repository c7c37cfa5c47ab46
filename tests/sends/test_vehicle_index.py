"""Vehicle ids → places (``jobs.vehicle_index``), the lookup of a medium's 100,000 vehicles in its store."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.vehicle_index import VehicleIndex


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(0, 3000), max_size=50), st.lists(st.integers(-5, 3005), max_size=80),
       st.booleans())
def test_each_id_is_found_at_its_place_and_an_unknown_one_is_not_found(ids, wanted, sparse):
    ids = list(ids)
    if sparse:   # ids far apart, as after years of sold cars: the sorted-ids search, not the table
        ids = [i * 10 ** 7 for i in ids]
        wanted = [w * 10 ** 7 for w in wanted]
    index = VehicleIndex(ids)
    place = {v: i for i, v in enumerate(ids)}
    assert index.find(np.array(wanted, np.int64)).tolist() == [place.get(w, -1) for w in wanted]


def test_ids_far_apart_take_no_table_as_large_as_the_largest_id():
    assert VehicleIndex([3, 10 ** 12]).table is None
    assert VehicleIndex([3, 10 ** 12]).find(np.array([10 ** 12, 3, 4])).tolist() == [1, 0, -1]
    assert VehicleIndex(range(100_000)).table is not None
