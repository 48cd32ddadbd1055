"""The Arrow kernels behind count-map merges and sketch quantiles (features/sketch.py), on plain
Arrow arrays against brute-force Python references: null maps, null arrays, zero and null counts,
string keys, and sliced arrays (whose offsets point into the whole child, as Spark may hand over)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pytest

from features.sketch import quantile_bucket_indexes, sum_count_map_lists

INT_MAPS = pa.list_(pa.map_(pa.int32(), pa.int64()))


def _reference_sum(row: list | None) -> dict:
    total: Counter = Counter()
    for m in row or []:
        for k, v in (m or []):
            total[k] += 0 if v is None else v
    return dict(total)


def _reference_quantile_index(sketch: list | None, q: float) -> int | None:
    buckets = sorted((k, v) for k, v in (sketch or []) if v > 0)
    n = sum(v for _, v in buckets)
    if n == 0:
        return None
    rank, seen = int(np.floor(q * (n - 1))), 0
    for k, v in buckets:
        seen += v
        if seen > rank:
            return k
    raise AssertionError("rank beyond the total")


def _random_lists(seed: int, rows: int) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(rows):
        if rng.random() < 0.1:
            out.append(None)
            continue
        maps = []
        for _ in range(int(rng.integers(0, 6))):
            if rng.random() < 0.15:
                maps.append(None)
                continue
            keys = rng.choice(np.arange(-20, 60), size=int(rng.integers(0, 8)), replace=False)
            maps.append([(int(k), int(rng.integers(0, 9))) for k in keys])
        out.append(maps)
    return out


def test_sums_equal_a_python_reference_with_nulls_and_slices():
    rows = _random_lists(11, 400)
    arr = pa.array(rows, type=INT_MAPS)
    for start, length in ((0, len(rows)), (37, 200), (399, 1), (5, 0)):
        got = sum_count_map_lists(arr.slice(start, length)).to_pylist()
        assert [dict(m) for m in got] == [_reference_sum(r) for r in rows[start:start + length]]


def test_sums_keep_keys_in_order_and_count_null_values_as_zero():
    arr = pa.array([[[(3, 2), (1, None)], None, [(3, 1)]], None, [], [None]], type=INT_MAPS)
    assert sum_count_map_lists(arr).to_pylist() == [[(1, 0), (3, 3)], [], [], []]


def test_sums_of_string_keyed_maps():
    rows = [[[("cat", 1), ("dog", 2)], [("dog", 3), ("cat|dog", 1)]], [[("cat", 5)], None], None]
    arr = pa.array(rows, type=pa.list_(pa.map_(pa.string(), pa.int64())))
    got = [dict(m) for m in sum_count_map_lists(arr).to_pylist()]
    assert got == [{"cat": 1, "dog": 5, "cat|dog": 1}, {"cat": 5}, {}]
    assert [dict(m) for m in sum_count_map_lists(arr.slice(1, 2)).to_pylist()] == [{"cat": 5}, {}]


@pytest.mark.parametrize("qs", [(0.5, 0.9), (0.0, 1.0, 0.25)])
def test_quantile_indexes_equal_a_python_reference(qs):
    rng = np.random.default_rng(5)
    sketches = []
    for _ in range(300):
        if rng.random() < 0.1:
            sketches.append(None)
            continue
        keys = rng.choice(np.arange(-30, 300), size=int(rng.integers(0, 40)), replace=False)
        sketches.append([(int(k), int(rng.integers(0, 50))) for k in keys])
    arr = pa.array(sketches, type=pa.map_(pa.int32(), pa.int64()))
    for start, length in ((0, 300), (101, 150)):
        got = quantile_bucket_indexes(arr.slice(start, length), qs).to_pylist()
        expected = [{f"i{i}": _reference_quantile_index(s, q) for i, q in enumerate(qs)}
                    for s in sketches[start:start + length]]
        assert got == expected


def test_quantile_indexes_are_null_for_null_empty_and_all_zero_sketches():
    arr = pa.array([None, [], [(4, 0), (2, 0)], [(9, 1)]], type=pa.map_(pa.int32(), pa.int64()))
    assert quantile_bucket_indexes(arr, (0.5,)).to_pylist() == [{"i0": None}] * 3 + [{"i0": 9}]
