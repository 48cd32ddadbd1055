"""Global (labeler, queue) indices, and the block-local views of parameters and statistics.

A block knows only its own workers; the parameter table is global. ``localize`` gathers a
block's rows of the table, ``globalize`` scatters a block's statistics back: both cost
O(workers in the block * K * K), whatever the number of judgments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from scoring.blocks import JudgmentBlock
from scoring.em_kernels import Params, SuffStats


@dataclass(frozen=True)
class WorkerIndex:
    """The global worker order: (labeler id, group index) pairs sorted by group then labeler."""

    pairs: tuple[tuple[str, int], ...]

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, int]]) -> WorkerIndex:
        return cls(tuple(sorted(set(pairs), key=lambda p: (p[1], p[0]))))

    @property
    def n_workers(self) -> int:
        return len(self.pairs)

    @property
    def worker_group(self) -> np.ndarray:
        return np.array([g for _, g in self.pairs], dtype=np.int64)

    @property
    def labeler_ids(self) -> list[str]:
        return [labeler for labeler, _ in self.pairs]

    def lookup(self) -> dict[tuple[str, int], int]:
        return {p: i for i, p in enumerate(self.pairs)}


def global_workers(block: JudgmentBlock, lookup: dict[tuple[str, int], int]) -> np.ndarray:
    """(W_local,) global index of each of the block's workers."""
    return np.array([lookup[p] for p in block.worker_pairs()], dtype=np.int64)


def param_rows(global_index: np.ndarray, k: int) -> np.ndarray:
    return (global_index[:, None] * k + np.arange(k)[None, :]).ravel()


def localize(params: Params, global_index: np.ndarray, k: int) -> Params:
    """The block's rows of the parameter table, in block-local worker order."""
    return Params(log_prior=params.log_prior, log_conf=params.log_conf[param_rows(global_index, k)])


def globalize(stats: SuffStats, global_index: np.ndarray, k: int, n_workers: int) -> SuffStats:
    """Block statistics scattered into the global (W*K, K) layout."""
    counts = np.zeros((n_workers * k, stats.counts.shape[1]))
    counts[param_rows(global_index, k)] = stats.counts
    return SuffStats(counts, stats.class_mass, stats.log_lik, stats.n_tasks)
