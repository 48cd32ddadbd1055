"""Judgments (an Arrow table) -> one integer block. The one encoder both engines use.

Columns: ``task_id``, ``labeler_id``, ``label``, and optionally ``queue`` (absent: the
class space's single group) and ``gold_label``. Ids may be strings or integers.
Hash-based Arrow kernels (``dictionary_encode``, ``index_in``) do the work, so a
partition of a few million judgments encodes in well under a second, with no Spark
join and no driver round trip.

Rows without a task or labeler id, or whose queue or label is not in the class space, are
left out and counted (``EncodedBlock.n_unknown``); a gold label outside the class space counts as no gold
(``n_unknown_gold``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scoring.blocks import NO_GOLD, JudgmentBlock, build_block
from scoring.class_space import ClassSpace

UNKNOWN = -1


@dataclass
class EncodedBlock:
    block: JudgmentBlock
    n_unknown: int       # judgments left out: no task or labeler id, or queue/label outside the class space
    n_unknown_gold: int  # judgments whose gold label is outside the class space


def _column(table: pa.Table, name: str) -> pa.Array:
    col = table.column(name)
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _index_in(values: pa.Array, value_set: list[str]) -> np.ndarray:
    """Position of each value in value_set (as strings), UNKNOWN when absent or null."""
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        values = pc.cast(values, pa.string())
    idx = pc.index_in(values, value_set=pa.array(value_set, pa.string()))
    return pc.fill_null(idx, UNKNOWN).to_numpy(zero_copy_only=False).astype(np.int64)


def class_indices(table: pa.Table, column: str, group: np.ndarray, space: ClassSpace) -> np.ndarray:
    """Class index of ``column`` within each row's group (UNKNOWN when not a class of that group)."""
    values = _column(table, column)
    if space.n_groups == 1:
        return _index_in(values, list(space.classes[0]))
    out = np.full(len(values), UNKNOWN, dtype=np.int64)
    for g, classes in enumerate(space.classes):
        rows = np.flatnonzero(group == g)
        if rows.size:
            out[rows] = _index_in(values.take(pa.array(rows)), list(classes))
    return out


def group_indices(table: pa.Table, space: ClassSpace) -> np.ndarray:
    if "queue" not in table.column_names:
        if space.n_groups != 1:
            raise ValueError("judgments without a queue column need a single-group class space")
        return np.zeros(table.num_rows, dtype=np.int64)
    return _index_in(_column(table, "queue"), list(space.groups))


def encode_table(table: pa.Table, space: ClassSpace) -> EncodedBlock:
    """Encode judgments; block-local workers are the distinct (labeler, queue) pairs."""
    if table.num_rows == 0:
        return EncodedBlock(build_block(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0), None, space.k,
                                        pa.array([], pa.string()), pa.array([], pa.string()),
                                        np.zeros(0, np.int32)), 0, 0)
    group = group_indices(table, space)
    label = class_indices(table, "label", group, space)
    has_gold = "gold_label" in table.column_names
    gold = class_indices(table, "gold_label", group, space) if has_gold else None
    n_unknown_gold = 0
    if has_gold:
        n_unknown_gold = int(((gold == UNKNOWN) & _column(table, "gold_label").is_valid()
                              .to_numpy(zero_copy_only=False)).sum())
    has_ids = (_column(table, "task_id").is_valid().to_numpy(zero_copy_only=False)
               & _column(table, "labeler_id").is_valid().to_numpy(zero_copy_only=False))
    keep = (group != UNKNOWN) & (label != UNKNOWN) & has_ids
    n_unknown = int(table.num_rows - keep.sum())
    if n_unknown:
        table = table.filter(pa.array(keep))
        group, label = group[keep], label[keep]
        gold = gold[keep] if gold is not None else None
    tasks = pc.dictionary_encode(_column(table, "task_id"))
    labelers = pc.dictionary_encode(_column(table, "labeler_id"))
    pair = labelers.indices.to_numpy(zero_copy_only=False).astype(np.int64) * space.n_groups + group
    pairs, worker = np.unique(pair, return_inverse=True)
    worker_keys = pc.cast(labelers.dictionary.take(pa.array(pairs // space.n_groups)), pa.string())
    block = build_block(
        task_code=tasks.indices.to_numpy(zero_copy_only=False), group=group, worker=worker, label=label,
        gold=None if gold is None else np.where(gold == UNKNOWN, NO_GOLD, gold), k=space.k,
        task_keys=tasks.dictionary, worker_keys=worker_keys,
        worker_group=(pairs % space.n_groups).astype(np.int32))
    return EncodedBlock(block, n_unknown, n_unknown_gold)
