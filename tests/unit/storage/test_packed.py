"""The packed candle layout: one struct for single candles, numpy for bulk, same bytes."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from binbot.storage.candles import _DTYPES
from binbot.storage.packed import (
    PACKED_COLUMNS,
    PACKED_SIZE,
    pack_columns,
    pack_values,
    unpack,
)

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
FLOAT = st.floats(allow_nan=False)  # NaN has no stable identity (SQLite even stores it as NULL)
ROW = st.tuples(INT64, INT64, FLOAT, FLOAT, FLOAT, FLOAT, FLOAT, FLOAT, INT64, FLOAT, FLOAT,
                st.booleans())


def test_every_readable_column_is_packed() -> None:
    assert set(_DTYPES) == set(PACKED_COLUMNS)
    assert PACKED_SIZE == 89


@given(st.lists(ROW, min_size=1, max_size=20))
def test_bulk_packing_matches_single_packing_and_unpacks_to_the_values(
        rows: list[tuple[int, int, float, float, float, float, float, float, int, float, float,
                         bool]]) -> None:
    rows = sorted({row[0]: row for row in rows}.values())  # unique open times, in order
    columns = {name: np.array([row[i] for row in rows], dtype=_DTYPES[name])
               for i, name in enumerate(PACKED_COLUMNS)}
    joined = pack_columns(columns, len(rows))
    assert joined == b"".join(pack_values(*row) for row in rows)
    back = unpack(joined, _DTYPES)
    for name in PACKED_COLUMNS:
        assert back[name].dtype == _DTYPES[name]
        assert back[name].flags.c_contiguous
        # Bit for bit: the sign of zero survives too.
        assert back[name].tobytes() == columns[name].tobytes(), name


def test_scalars_broadcast_in_bulk_packing() -> None:
    columns: dict[str, object] = {name: np.arange(3).astype(_DTYPES[name])
                                  for name in PACKED_COLUMNS}
    columns["closed"] = True
    joined = pack_columns(columns, 3)
    last = pack_values(2, 2, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2, 2.0, 2.0, True)
    assert joined[2 * PACKED_SIZE:] == last


def test_unpack_restores_open_time_order() -> None:
    blobs = [pack_values(t, t + 1, 1.0 * t, 0, 0, 0, 0, 0, t, 0, 0, t % 2 == 0)
             for t in (3, 1, 2, 0)]
    back = unpack(b"".join(blobs), {"open_time": _DTYPES["open_time"],
                                    "closed": _DTYPES["closed"]})
    assert back["open_time"].tolist() == [0, 1, 2, 3]
    assert back["closed"].tolist() == [True, False, True, False]
