"""Smoothed per-labeler confusion matrices from gold, as map columns.

Raw gold counts per (labeler, queue) are sparse: a rare true class may have 0 or 1 gold in
28 days. Each true-label row is therefore a Dirichlet posterior mean: the labeler's counts
plus ``strength`` pseudo-counts spread like the queue's pooled row (all labelers, same
window, add-one smoothed). With no gold a row is the queue's pooled row; with many it is
the labeler's own frequencies.

Every queue's label set is reference data (``LABEL_SETS``). The matrices are built by an
Arrow UDF with a numpy kernel over whole batches; the balanced accuracy reads their diagonal
at literal keys, one CASE over the queues (compiled code). Until 2026-12-07 both were nested
higher-order functions, interpreted value by value (docs/features.md, "What the sketches cost").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache

import numpy as np
import pyarrow as pa
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.functions import arrow_udf

from features.labeler_daily import GOLD_PAIR_SEPARATOR
from features.sketch import map_batch_entries
from schemas.reference import QUEUES

# Queue -> label set, in reference order (the order of every confusion map's keys).
LABEL_SETS: dict[str, tuple[str, ...]] = {name: tuple(q.labels) for name, q in sorted(QUEUES.items())}


def queue_labels(queue: Column) -> Column:
    """The queue's label set (reference order) as array<string>; null for an unknown queue."""
    pairs = []
    for name, labels in LABEL_SETS.items():
        pairs += [F.lit(name), F.array(*[F.lit(label) for label in labels])]
    return F.try_element_at(F.create_map(*pairs), queue)


def _by_queue(queue: Column, branch: Callable[[tuple[str, ...]], Column],
              label_sets: Mapping[str, Sequence[str]]) -> Column:
    """CASE queue WHEN q THEN branch(labels of q) ... END (null for an unknown queue)."""
    out = None
    for name, labels in label_sets.items():
        if not labels:
            continue
        cond = queue == F.lit(name)
        out = F.when(cond, branch(tuple(labels))) if out is None else out.when(cond, branch(tuple(labels)))
    return out if out is not None else F.lit(None)


def smoothed_confusion_matrices(queues: pa.Array, counts: pa.Array, pooled: pa.Array, strength: float,
                                label_sets: Mapping[str, Sequence[str]] = LABEL_SETS) -> pa.MapArray:
    """The kernel of ``smoothed_confusion`` over a whole Arrow batch (numpy, never row by row).

    Each row's counts are spread into a dense k x k block (k = the largest label set, unused
    cells 0) at the cell its "true|given" key names in its queue's label set (other keys are
    ignored), and every probability is one vectorised expression in the same order of
    operations as its definition, so the figures are those of Spark's own double arithmetic."""
    if isinstance(queues, pa.ChunkedArray):
        queues = queues.combine_chunks()
    names = [q for q, labels in label_sets.items() if labels]
    k_max = max((len(label_sets[q]) for q in names), default=1)
    sizes = np.array([len(label_sets[q]) for q in names] + [0], dtype=np.int64)  # last: no label set
    encoded = queues.cast(pa.string()).dictionary_encode()
    known = {q: i for i, q in enumerate(names)}
    code_of = np.array([known.get(q, len(names)) for q in encoded.dictionary.to_pylist()] + [len(names)],
                       dtype=np.int64)
    queue_codes = encoded.indices.fill_null(len(encoded.dictionary)).to_numpy(zero_copy_only=False)
    queue = code_of[queue_codes]  # per row: index into ``names``, len(names) when unknown or null
    k = sizes[queue]
    n = len(queues)

    def dense(maps: pa.Array) -> np.ndarray:
        row, keys, counts = map_batch_entries(maps)
        values = counts.astype(np.float64)
        cells = np.zeros((n, k_max * k_max))
        if not len(row):
            return cells.reshape(n, k_max, k_max)
        key_enc = keys.dictionary_encode()
        key_names = key_enc.dictionary.to_pylist()
        # (queue, key) -> cell of the dense block, -1 where the key is not in the queue's label set
        lookup = np.full((len(names) + 1, len(key_names)), -1, dtype=np.int64)
        for qi, q in enumerate(names):
            labels = list(label_sets[q])
            cell = {f"{t}{GOLD_PAIR_SEPARATOR}{g}": ti * k_max + gi
                    for ti, t in enumerate(labels) for gi, g in enumerate(labels)}
            lookup[qi] = [cell.get(key, -1) for key in key_names]
        at = lookup[queue[row], key_enc.indices.to_numpy(zero_copy_only=False)]
        inside = at >= 0
        np.add.at(cells, (row[inside], at[inside]), values[inside])
        return cells.reshape(n, k_max, k_max)

    c, p = dense(counts), dense(pooled)
    s = float(strength)
    # Row totals over the labels (cells past k are 0, and integer-valued sums are exact in any order).
    n_t, pooled_t = c.sum(axis=2), p.sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):  # rows without a label set (k = 0) are null
        probs = (c + s * (p + 1.0) / (pooled_t + k.astype(np.float64)[:, None])[:, :, None]) / (n_t + s)[:, :, None]

    # Nested map: k entries per row (null row: none), each a map of k entries.
    label_start = np.concatenate(([0], np.cumsum(sizes)))
    all_labels = pa.array([label for q in names for label in label_sets[q]], type=pa.string())
    entry_row = np.repeat(np.arange(n), k)
    entry_t = np.arange(len(entry_row)) - np.repeat(np.cumsum(k) - k, k)
    cell_entry = np.repeat(np.arange(len(entry_row)), k[entry_row])
    cell_g = np.arange(len(cell_entry)) - np.repeat(np.cumsum(k[entry_row]) - k[entry_row], k[entry_row])
    cell_row, cell_t = entry_row[cell_entry], entry_t[cell_entry]
    inner = pa.MapArray.from_arrays(
        pa.array(np.concatenate(([0], np.cumsum(k[entry_row]))), type=pa.int32()),
        all_labels.take(pa.array(label_start[queue[cell_row]] + cell_g)),
        pa.array(probs[cell_row, cell_t, cell_g], type=pa.float64()))
    return pa.MapArray.from_arrays(
        pa.array(np.concatenate(([0], np.cumsum(k))), type=pa.int32()),
        all_labels.take(pa.array(label_start[queue[entry_row]] + entry_t)),
        inner, mask=pa.array(k == 0))


@cache
def _smoothed_confusion_udf(strength: float, label_sets: tuple[tuple[str, tuple[str, ...]], ...]
                            ) -> Callable[..., Column]:
    sets = dict(label_sets)

    @arrow_udf("map<string,map<string,double>>")
    def matrices(queues: pa.Array, counts: pa.Array, pooled: pa.Array) -> pa.Array:
        return smoothed_confusion_matrices(queues, counts, pooled, strength, sets)

    return matrices


def smoothed_confusion(counts: Column, pooled: Column, queue: Column, strength: float,
                       label_sets: Mapping[str, Sequence[str]] = LABEL_SETS) -> Column:
    """map<true label, map<given label, probability>> over the queue's labels (reference order);
    each row sums to 1. Null for a queue without a label set.

    ``counts``/``pooled``: map<"true|given", bigint> of the labeler and of the queue (null = none).
    An Arrow UDF (``smoothed_confusion_matrices``): written with Spark's higher-order functions
    every row rebuilt each "true|given" key by string concatenation and looked it up 3k^2 times,
    interpreted (~1 s of the demo's 23k labeler x queue rows); written as one CASE over the
    queues with literal keys, the projection outgrew the JVM's 64 KB method limit and Spark fell
    back to interpreting it (docs/features.md, "What the sketches cost")."""
    sets = tuple((q, tuple(labels)) for q, labels in label_sets.items())
    return _smoothed_confusion_udf(float(strength), sets)(queue, counts, pooled)


def _total(terms: Sequence[Column]) -> Column:
    """((0.0 + t1) + t2) + ...: the left-to-right order of a fold, so sums match it to the bit."""
    total = F.lit(0.0)
    for term in terms:
        total = total + term
    return total


def balanced_accuracy(confusion: Column, queue: Column,
                      label_sets: Mapping[str, Sequence[str]] = LABEL_SETS) -> Column:
    """Mean of the diagonal (per-class recall) over the queue's labels: a constant-label spammer
    scores 1/k here even when its one label is the majority class and its plain accuracy looks
    fine. Null when ``confusion`` is null."""

    def mean_diagonal(labels: tuple[str, ...]) -> Column:
        diagonal = [F.coalesce(F.try_element_at(F.try_element_at(confusion, F.lit(t)), F.lit(t)), F.lit(0.0))
                    for t in labels]
        return _total(diagonal) / F.lit(len(labels))

    return F.when(confusion.isNotNull(), _by_queue(queue, mean_diagonal, label_sets))
