"""What an engine does to one block: the kernels wrapped with the block's worker mapping.

Both engines call exactly these three functions, so they compute the same numbers.
"""

from __future__ import annotations

import numpy as np

from scoring.blocks import JudgmentBlock
from scoring.em_kernels import Params, SuffStats, e_step, posteriors, vote_shares, vote_stats
from scoring.worker_index import global_workers, globalize, localize


def block_vote_stats(block: JudgmentBlock, lookup: dict, n_groups: int, n_workers: int,
                     clamp_gold: bool) -> SuffStats:
    index = global_workers(block, lookup)
    local = vote_stats(block, n_groups, index.size * block.k, clamp_gold)
    return globalize(local, index, block.k, n_workers)


def block_e_stats(block: JudgmentBlock, params: Params, lookup: dict, n_workers: int,
                  clamp_gold: bool) -> SuffStats:
    index = global_workers(block, lookup)
    local = e_step(block, localize(params, index, block.k), clamp_gold)
    return globalize(local, index, block.k, n_workers)


def block_posteriors(block: JudgmentBlock, params: Params | None, lookup: dict) -> np.ndarray:
    """(T, K): vote shares when ``params`` is None (majority vote), else the model's posteriors."""
    index = global_workers(block, lookup)
    if params is None:
        return vote_shares(block, index.size * block.k)
    return posteriors(block, localize(params, index, block.k))
