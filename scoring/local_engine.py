"""Engine "local": the kernels on in-memory blocks (files, tests, small queues)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import reduce

import numpy as np

from scoring.block_steps import block_e_stats, block_posteriors, block_vote_stats
from scoring.blocks import JudgmentBlock
from scoring.class_space import ClassSpace
from scoring.em import EmConfig, FitResult, fit
from scoring.em_kernels import Params, Shape, SuffStats
from scoring.worker_index import WorkerIndex


@dataclass
class LocalEngine:
    blocks: Sequence[JudgmentBlock]
    space: ClassSpace
    workers: WorkerIndex = field(init=False)
    shape: Shape = field(init=False)

    def __post_init__(self) -> None:
        self.workers = WorkerIndex.from_pairs(p for b in self.blocks for p in b.worker_pairs())
        self.shape = Shape(n_classes=self.space.n_classes, worker_group=self.workers.worker_group)
        self._lookup = self.workers.lookup()

    @property
    def n_judgments(self) -> int:
        return sum(b.n_judgments for b in self.blocks)

    @property
    def n_tasks(self) -> int:
        return sum(b.n_tasks for b in self.blocks)

    def sum_vote_stats(self, clamp_gold: bool) -> SuffStats:
        g, w = self.space.n_groups, self.workers.n_workers
        return reduce(lambda a, b: a + b,
                      (block_vote_stats(b, self._lookup, g, w, clamp_gold) for b in self.blocks))

    def sum_e_stats(self, params: Params, clamp_gold: bool) -> SuffStats:
        w = self.workers.n_workers
        return reduce(lambda a, b: a + b,
                      (block_e_stats(b, params, self._lookup, w, clamp_gold) for b in self.blocks))

    def block_posteriors(self, fitted: FitResult) -> list[np.ndarray]:
        """(T, K) per block: vote shares for majority vote, the model's posteriors otherwise."""
        return [block_posteriors(b, fitted.params, self._lookup) for b in self.blocks]

    def fit(self, config: EmConfig) -> FitResult:
        return fit(self, config)
