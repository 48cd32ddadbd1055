"""The models and the EM loop, engine-agnostic.

An engine owns the judgments (one in-memory block, or blocks cached on Spark executors)
and answers two questions: "sum the majority-vote statistics" and "sum the E-step
statistics for these parameters". The loop here alternates M-steps (on the driver, on
statistics of size W*K*K) with those sums, so the same loop fits a 20-row file and a
10M-row Spark table.

Methods:
- ``mv``: majority vote. Posterior = each class's share of the votes; no fitting.
- ``ds``: Dawid-Skene (1979), a full confusion matrix per (labeler, queue); EM in log
  space, initialised from the majority-vote shares.
- ``ocds``: one-coin Dawid-Skene, one accuracy per (labeler, queue), errors spread evenly
  over the other classes; same EM, a constrained M-step. Fewer parameters, so steadier for
  labelers with few judgments; it cannot represent a labeler biased toward one class.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from scoring.em_kernels import (
    Params,
    Shape,
    SuffStats,
    m_step_confusion,
    m_step_one_coin,
    m_step_prior,
)

log = logging.getLogger("labelops.scoring.em")

METHODS: dict[str, str] = {
    "mv": "majority vote (vote shares; ties go to the first class in class order)",
    "ds": "Dawid-Skene: full confusion matrix per labeler and queue",
    "ocds": "one-coin Dawid-Skene: one accuracy per labeler and queue",
}

ConfusionStep = Callable[[SuffStats, Shape, float, float], np.ndarray]
_CONFUSION_STEP: dict[str, ConfusionStep] = {"ds": m_step_confusion, "ocds": m_step_one_coin}


class EmptyInputError(ValueError):
    """There are no judgments to aggregate."""


@dataclass(frozen=True)
class EmConfig:
    """How to fit. ``tol`` is on the change of the mean log-likelihood per judgment;
    ``tol=0`` runs exactly ``max_iter`` iterations (benchmarks)."""

    method: str = "ds"
    max_iter: int = 100
    tol: float = 1e-5
    smoothing: float = 0.01        # Dirichlet pseudo-count per confusion cell
    prior_smoothing: float = 1.0   # pseudo-count per class of the class prior
    shrinkage: float = 0.0         # ds: pseudo-judgments per true class toward the worker's one-coin fit
    use_gold: bool = False         # clamp gold tasks to their known class while fitting

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {sorted(METHODS)}")
        if self.max_iter < 1:
            raise ValueError("max_iter must be >= 1")
        if min(self.tol, self.smoothing, self.prior_smoothing, self.shrinkage) < 0:
            raise ValueError("tol, smoothing and shrinkage must be >= 0")


class Engine(Protocol):
    """Where the judgments live. Both sums must cover every judgment exactly once."""

    shape: Shape
    n_judgments: int

    def sum_vote_stats(self, clamp_gold: bool) -> SuffStats: ...

    def sum_e_stats(self, params: Params, clamp_gold: bool) -> SuffStats: ...


@dataclass
class FitResult:
    """A fitted model (``params`` is None for majority vote) and how the fit went."""

    method: str
    params: Params | None
    shape: Shape
    n_judgments: int
    iterations: int = 0
    converged: bool = True
    log_likelihood: list[float] = field(default_factory=list)       # total, per iteration
    group_log_likelihood: list[np.ndarray] = field(default_factory=list)  # (G,) per iteration
    seconds: float = 0.0
    use_gold: bool = False
    worker_judgments: np.ndarray | None = None  # (W,) judgments behind each (labeler, queue) pair
    group_tasks: np.ndarray | None = None       # (G,) tasks per group

    @property
    def final_log_likelihood(self) -> float | None:
        return self.log_likelihood[-1] if self.log_likelihood else None


def m_step(stats: SuffStats, shape: Shape, config: EmConfig) -> Params:
    return Params(log_prior=m_step_prior(stats, shape, config.prior_smoothing),
                  log_conf=_CONFUSION_STEP[config.method](stats, shape, config.smoothing, config.shrinkage))


def fit(engine: Engine, config: EmConfig) -> FitResult:
    """Fit ``config.method`` on the engine's judgments.

    Loop: params = M(stats); stats = E(params) (which also yields log p(data | params));
    stop when the per-judgment log-likelihood moves by less than ``tol`` or after
    ``max_iter`` rounds. The reported final log-likelihood is that of the returned params."""
    if engine.n_judgments == 0:
        raise EmptyInputError("no judgments to aggregate (empty input after filtering)")
    started = time.perf_counter()
    result = FitResult(method=config.method, params=None, shape=engine.shape,
                       n_judgments=engine.n_judgments, use_gold=config.use_gold)
    stats = engine.sum_vote_stats(config.use_gold)
    k = engine.shape.k
    result.worker_judgments = np.rint(stats.counts.reshape(-1, k * k).sum(axis=1)).astype(np.int64)
    result.group_tasks = np.rint(stats.n_tasks).astype(np.int64)
    if config.method == "mv":
        result.seconds = time.perf_counter() - started
        return result
    result.converged = False
    params = m_step(stats, engine.shape, config)
    for iteration in range(1, config.max_iter + 1):
        stats = engine.sum_e_stats(params, config.use_gold)
        total = float(stats.log_lik.sum())
        result.log_likelihood.append(total)
        result.group_log_likelihood.append(stats.log_lik.copy())
        result.iterations = iteration
        log.debug("%s iteration %d: log-likelihood %.6f", config.method, iteration, total)
        if iteration > 1:
            change = abs(total - result.log_likelihood[-2]) / engine.n_judgments
            if change < config.tol:
                result.converged = True
                break
        if iteration < config.max_iter:
            params = m_step(stats, engine.shape, config)
    result.params = params
    result.seconds = time.perf_counter() - started
    log.info("%s: %d iterations, converged=%s, log-likelihood %.4f, %.2fs", config.method,
             result.iterations, result.converged, result.final_log_likelihood, result.seconds)
    return result
