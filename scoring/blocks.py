"""Compact integer blocks of judgments: what every EM iteration reads.

A block holds whole tasks (all judgments of a task are in one block), sorted by task,
as the CSR layout of the task x (worker, label) incidence matrix: ``task_ptr`` gives
each task's slice of ``rows`` and ``rows[i] = worker * K + label``. Workers are
block-local indices into ``worker_keys``/``worker_group``: the engine maps them to
global (labeler, queue) pairs by gathering the block's rows of the parameter table
(``localize``) and scattering its statistics back (``globalize``), which costs
O(workers in the block), never O(judgments). With it an E-step
is one sparse-dense product and the sufficient statistics another (see
``scoring.em_kernels``). A block is built once and reused by every iteration, in
memory (local engine) or cached by Spark as a binary value (spark engine).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Any

import numpy as np

NO_GOLD = -1


@dataclass
class JudgmentBlock:
    """Judgments of whole tasks, integer-encoded and grouped by task.

    ``task_code`` maps a block-local task back to its key: an index into ``task_keys``
    (whatever array-like of keys the engine attached: a numpy array, an Arrow array)."""

    k: int
    task_ptr: np.ndarray     # (T+1,) int64: judgments of task t are rows[task_ptr[t]:task_ptr[t+1]]
    rows: np.ndarray         # (n,) int32: worker * k + label
    task_group: np.ndarray   # (T,) int32: group (queue) index of each task
    task_gold: np.ndarray    # (T,) int16: gold class index or NO_GOLD
    task_code: np.ndarray | None  # (T,) int64: position of the task's key in task_keys (None: identity)
    task_keys: Any = None
    worker_keys: Any = None  # (W_local,) labeler id of each block-local worker
    worker_group: np.ndarray | None = None  # (W_local,) int32 group of each block-local worker

    @property
    def n_tasks(self) -> int:
        return int(self.task_ptr.size - 1)

    @property
    def n_judgments(self) -> int:
        return int(self.rows.size)

    @property
    def n_labels(self) -> np.ndarray:
        """(T,) judgments per task."""
        return np.diff(self.task_ptr)

    def with_own_keys(self) -> JudgmentBlock:
        """The compact form Spark caches: only its own tasks' keys (a piece never ships all keys),
        int32 offsets and int16 groups (every EM iteration reads these bytes)."""
        small = self.n_judgments < np.iinfo(np.int32).max
        return JudgmentBlock(k=self.k, task_ptr=self.task_ptr.astype(np.int32 if small else np.int64),
                             rows=self.rows, task_group=self.task_group.astype(np.int16),
                             task_gold=self.task_gold, task_code=None, task_keys=self.keys(),
                             worker_keys=self.worker_keys, worker_group=self.worker_group)

    def worker_pairs(self) -> list[tuple[str, int]]:
        """(labeler id, group index) of each block-local worker."""
        keys = self.worker_keys.to_pylist() if hasattr(self.worker_keys, "to_pylist") else list(self.worker_keys)
        return [(str(key), int(g)) for key, g in zip(keys, self.worker_group, strict=True)]

    def keys(self) -> Any:
        """The task keys, in block order."""
        if self.task_code is None:
            return self.task_keys
        if self.task_keys is None:
            return self.task_code
        if hasattr(self.task_keys, "take"):
            return self.task_keys.take(self.task_code)
        return np.asarray(self.task_keys)[self.task_code]


def build_block(task_code: np.ndarray, group: np.ndarray, worker: np.ndarray, label: np.ndarray,
                gold: np.ndarray | None, k: int, task_keys: Any = None, worker_keys: Any = None,
                worker_group: np.ndarray | None = None) -> JudgmentBlock:
    """One block from per-judgment integer arrays.

    A task is the pair (task_code, group); its gold class is the largest gold index seen on
    any of its judgments (``NO_GOLD`` when none)."""
    n = len(task_code)
    if n == 0:
        return empty_block(k, task_keys, worker_keys, worker_group)
    task_code = np.asarray(task_code, dtype=np.int64)
    group = np.asarray(group, dtype=np.int32)
    label = np.asarray(label, dtype=np.int64)
    if label.min() < 0 or label.max() >= k:
        raise ValueError(f"label indices must be in [0, {k}); got [{label.min()}, {label.max()}]")
    order = np.lexsort((group, task_code))
    tc, gr = task_code[order], group[order]
    is_start = np.empty(n, dtype=bool)
    is_start[0] = True
    is_start[1:] = (tc[1:] != tc[:-1]) | (gr[1:] != gr[:-1])
    starts = np.flatnonzero(is_start)
    task_ptr = np.append(starts, n).astype(np.int64)
    rows = (np.asarray(worker, dtype=np.int64) * k + label)[order]
    if rows.max() >= np.iinfo(np.int32).max:
        raise ValueError("too many (worker, label) pairs for int32 row indices")
    if gold is None:
        task_gold = np.full(starts.size, NO_GOLD, dtype=np.int16)
    else:
        task_gold = np.maximum.reduceat(np.asarray(gold, dtype=np.int16)[order], starts)
    return JudgmentBlock(k=k, task_ptr=task_ptr, rows=rows.astype(np.int32), task_group=gr[starts],
                         task_gold=task_gold.astype(np.int16), task_code=tc[starts], task_keys=task_keys,
                         worker_keys=worker_keys, worker_group=worker_group)


def empty_block(k: int, task_keys: Any = None, worker_keys: Any = None,
                worker_group: np.ndarray | None = None) -> JudgmentBlock:
    return JudgmentBlock(k=k, task_ptr=np.zeros(1, dtype=np.int64), rows=np.zeros(0, dtype=np.int32),
                         task_group=np.zeros(0, dtype=np.int32), task_gold=np.zeros(0, dtype=np.int16),
                         task_code=np.zeros(0, dtype=np.int64), task_keys=task_keys,
                         worker_keys=worker_keys, worker_group=worker_group)


def split_block(block: JudgmentBlock, max_judgments: int) -> list[JudgmentBlock]:
    """Cut a block at task boundaries into pieces of at most ~max_judgments (a task is never split)."""
    if block.n_judgments <= max_judgments:
        return [block]
    targets = np.arange(max_judgments, block.n_judgments, max_judgments)
    cuts = np.unique(np.concatenate([[0], np.searchsorted(block.task_ptr, targets, side="right") - 1,
                                     [block.n_tasks]]))
    pieces = []
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        if hi <= lo:
            continue
        ptr = block.task_ptr[lo:hi + 1]
        own_keys = block.task_code is None
        pieces.append(JudgmentBlock(
            k=block.k, task_ptr=ptr - ptr[0], rows=block.rows[ptr[0]:ptr[-1]],
            task_group=block.task_group[lo:hi], task_gold=block.task_gold[lo:hi],
            task_code=None if own_keys else block.task_code[lo:hi],
            task_keys=block.task_keys[lo:hi] if own_keys else block.task_keys,
            worker_keys=block.worker_keys, worker_group=block.worker_group))
    return pieces


def to_bytes(block: JudgmentBlock) -> bytes:
    """Serialized form Spark caches (pickle protocol 5: numpy and Arrow buffers copy straight)."""
    return pickle.dumps(block, protocol=5)


def from_bytes(blob: bytes) -> JudgmentBlock:
    return pickle.loads(blob)
