"""The math core: E-step on one block, M-steps from summed statistics. numpy + scipy only.

Both engines call these functions and nothing else does arithmetic, so the local and
the Spark results are the same numbers.

Notation: G groups (queues), K = most classes of any group, W = (worker, group)
pairs, T tasks in a block. Parameters are small (``Params``: a (G, K) log prior and a
(W*K, K) log confusion table whose row ``w*K + y`` holds log P(label y | true k, w)).
A block's E-step is one sparse-dense product (task x row incidence times the log
confusion table), its sufficient statistics another (the transpose times the task
posteriors), so an iteration costs O(judgments * K) and its statistics are
O(W * K * K) whatever the number of judgments: that is what a Spark tree-reduce sums.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from scoring.blocks import JudgmentBlock

EPS = 1e-10  # probability floor (as crowd-kit's Dawid-Skene): keeps logs finite


@dataclass
class Params:
    """Model parameters broadcast to every block."""

    log_prior: np.ndarray  # (G, K); -inf for class indices a group does not have
    log_conf: np.ndarray   # (W*K, K): [w*K + y, k] = log P(label y | true class k, worker w)

    @property
    def n_rows(self) -> int:
        return int(self.log_conf.shape[0])


@dataclass
class SuffStats:
    """What an E-step contributes to the M-step; blocks' statistics add up."""

    counts: np.ndarray      # (W*K, K): expected judgments with label y by w on tasks of true class k
    class_mass: np.ndarray  # (G, K): summed task posteriors
    log_lik: np.ndarray     # (G,): sum over tasks of log p(task's labels) (complete-data for clamped gold)
    n_tasks: np.ndarray     # (G,)

    def __add__(self, other: SuffStats) -> SuffStats:
        return SuffStats(self.counts + other.counts, self.class_mass + other.class_mass,
                         self.log_lik + other.log_lik, self.n_tasks + other.n_tasks)


@dataclass(frozen=True)
class Shape:
    """The driver-side facts an M-step needs: classes per group and the group of each worker."""

    n_classes: np.ndarray    # (G,) classes per group
    worker_group: np.ndarray  # (W,) group index of each (worker, group) pair

    @property
    def k(self) -> int:
        return int(self.n_classes.max())

    @property
    def n_workers(self) -> int:
        return int(self.worker_group.size)

    @property
    def class_mask(self) -> np.ndarray:
        return np.arange(self.k)[None, :] < self.n_classes[:, None]


# --- E-step -------------------------------------------------------------------------------------


def design(block: JudgmentBlock, n_rows: int) -> sp.csr_matrix:
    """Task x (worker, label) incidence of a block (repeated judgments count twice)."""
    ones = np.ones(block.n_judgments)
    return sp.csr_matrix((ones, block.rows, block.task_ptr), shape=(block.n_tasks, n_rows))


def log_joint(block: JudgmentBlock, params: Params, incidence: sp.csr_matrix | None = None) -> np.ndarray:
    """(T, K) log p(true class k, the task's labels)."""
    a = design(block, params.n_rows) if incidence is None else incidence
    out = np.asarray(a @ params.log_conf)
    out += params.log_prior[block.task_group]
    return out


def normalize(log_joint_tk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior rows (softmax) and each row's log normaliser (log-sum-exp), stable."""
    top = log_joint_tk.max(axis=1, keepdims=True)
    post = np.exp(log_joint_tk - top)
    total = post.sum(axis=1, keepdims=True)
    post /= total
    return post, (np.log(total) + top)[:, 0]


def clamp_to_gold(block: JudgmentBlock, post: np.ndarray, log_norm: np.ndarray,
                  log_joint_tk: np.ndarray) -> None:
    """In place: gold tasks get a one-hot posterior and the complete-data log-likelihood."""
    is_gold = block.task_gold >= 0
    if not is_gold.any():
        return
    idx = np.flatnonzero(is_gold)
    gold = block.task_gold[idx].astype(np.int64)
    post[idx] = 0.0
    post[idx, gold] = 1.0
    log_norm[idx] = log_joint_tk[idx, gold]


def stats_from_posteriors(block: JudgmentBlock, post: np.ndarray, task_log_lik: np.ndarray,
                          n_groups: int, n_rows: int,
                          incidence: sp.csr_matrix | None = None) -> SuffStats:
    a = design(block, n_rows) if incidence is None else incidence
    counts = np.asarray(a.T @ post)
    k = post.shape[1]
    mass = np.stack([np.bincount(block.task_group, weights=post[:, c], minlength=n_groups)
                     for c in range(k)], axis=1) if block.n_tasks else np.zeros((n_groups, k))
    log_lik = np.bincount(block.task_group, weights=task_log_lik, minlength=n_groups)
    n_tasks = np.bincount(block.task_group, minlength=n_groups).astype(np.float64)
    return SuffStats(counts, mass, log_lik, n_tasks)


def e_step(block: JudgmentBlock, params: Params, clamp_gold: bool) -> SuffStats:
    """One block's contribution for the next M-step, given the current parameters."""
    n_groups = params.log_prior.shape[0]
    a = design(block, params.n_rows)
    lj = log_joint(block, params, a)
    post, log_norm = normalize(lj)
    if clamp_gold:
        clamp_to_gold(block, post, log_norm, lj)
    return stats_from_posteriors(block, post, log_norm, n_groups, params.n_rows, a)


def posteriors(block: JudgmentBlock, params: Params) -> np.ndarray:
    """(T, K) task posteriors given the parameters (never clamped: what the model believes)."""
    post, _ = normalize(log_joint(block, params))
    return post


# --- majority vote -------------------------------------------------------------------------------


def vote_counts(block: JudgmentBlock, n_rows: int) -> np.ndarray:
    """(T, K) number of judgments per class for each task."""
    k = block.k
    one_hot = np.tile(np.eye(k), (n_rows // k, 1))
    return np.asarray(design(block, n_rows) @ one_hot)


def vote_shares(block: JudgmentBlock, n_rows: int) -> np.ndarray:
    """(T, K) majority-vote posterior: each class's share of the task's votes.

    Tied classes get equal shares (the tie stays visible in the posterior); which of them is
    *the* label is the caller's tie rule (first in class order, see ``argmax_first``)."""
    votes = vote_counts(block, n_rows)
    return votes / votes.sum(axis=1, keepdims=True)


def vote_stats(block: JudgmentBlock, n_groups: int, n_rows: int, clamp_gold: bool) -> SuffStats:
    """Statistics of majority-vote posteriors: how Dawid-Skene is initialised."""
    post = vote_shares(block, n_rows)
    if clamp_gold:
        clamp_to_gold(block, post, np.zeros(block.n_tasks), np.zeros_like(post))
    return stats_from_posteriors(block, post, np.zeros(block.n_tasks), n_groups, n_rows)


def argmax_first(post: np.ndarray) -> np.ndarray:
    """Index of the largest posterior; ties go to the first class in class order."""
    return np.argmax(post, axis=1)


def entropy(post: np.ndarray) -> np.ndarray:
    """Shannon entropy in nats (0 log 0 = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(post > 0, post * np.log(post), 0.0)
    return -terms.sum(axis=1)


# --- M-steps --------------------------------------------------------------------------------------


def m_step_prior(stats: SuffStats, shape: Shape, smoothing: float) -> np.ndarray:
    """(G, K) log class prior from summed task posteriors (+ smoothing pseudo-counts)."""
    mask = shape.class_mask
    mass = np.where(mask, stats.class_mass + smoothing, 0.0)
    total = mass.sum(axis=1, keepdims=True)
    prior = np.divide(mass, total, out=np.where(mask, 1.0, 0.0) / mask.sum(1, keepdims=True),
                      where=total > 0)
    prior = np.where(mask, np.maximum(prior, EPS), 0.0)
    prior /= prior.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        return np.where(mask, np.log(prior), -np.inf)


def _observed_mask(shape: Shape) -> np.ndarray:
    """(W, K, 1): label index y exists in the worker's group."""
    return (np.arange(shape.k)[None, :] < shape.n_classes[shape.worker_group][:, None])[:, :, None]


def _to_log_table(conf: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """(W, K_obs, K_true) probabilities -> the (W*K, K) log table; floors at EPS, renormalises."""
    conf = np.where(observed, np.maximum(conf, EPS), 0.0)
    conf /= conf.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        logs = np.where(observed, np.log(conf), 0.0)  # rows of labels a group lacks: never read
    w, k, _ = conf.shape
    return logs.reshape(w * k, k)


def m_step_confusion(stats: SuffStats, shape: Shape, smoothing: float, shrinkage: float = 0.0) -> np.ndarray:
    """Dawid-Skene: a full K x K confusion matrix per (worker, group), Dirichlet-smoothed.

    ``shrinkage`` > 0 adds that many pseudo-judgments per true class distributed as the worker's
    own one-coin matrix: a worker with few judgments looks one-coin, one with many gets a full
    matrix (a MAP estimate under a Dirichlet prior centred on the one-coin fit)."""
    w, k = shape.n_workers, shape.k
    counts = stats.counts.reshape(w, k, k)  # [w, observed y, true k]
    observed = _observed_mask(shape)
    if shrinkage > 0:
        one_coin = np.exp(m_step_one_coin(stats, shape, smoothing).reshape(w, k, k)) * observed
        counts = counts + shrinkage * one_coin
    num = np.where(observed, counts + smoothing, 0.0)
    col = num.sum(axis=1, keepdims=True)
    uniform = np.broadcast_to(observed / observed.sum(axis=1, keepdims=True), num.shape)
    conf = np.divide(num, col, out=np.array(uniform, dtype=np.float64), where=col > 0)
    return _to_log_table(conf, observed)


def m_step_one_coin(stats: SuffStats, shape: Shape, smoothing: float, shrinkage: float = 0.0) -> np.ndarray:
    """One-coin Dawid-Skene: one accuracy per (worker, group); errors spread evenly.
    (``shrinkage`` is accepted for a common signature and ignored.)"""
    w, k = shape.n_workers, shape.k
    counts = stats.counts.reshape(w, k, k)
    k_w = shape.n_classes[shape.worker_group].astype(np.float64)
    correct = np.einsum("wkk->w", counts)
    total = counts.sum(axis=(1, 2))
    acc = (correct + smoothing) / np.maximum(total + 2 * smoothing, EPS)
    acc = np.clip(acc, EPS, 1 - EPS)
    off = np.divide(1 - acc, k_w - 1, out=np.zeros_like(acc), where=k_w > 1)
    conf = np.broadcast_to(off[:, None, None], (w, k, k)).copy()
    diag = np.where(k_w > 1, acc, 1.0)
    idx = np.arange(k)
    conf[:, idx, idx] = diag[:, None]
    return _to_log_table(conf, _observed_mask(shape))


def confusion_matrices(params: Params, shape: Shape) -> np.ndarray:
    """(W, K_true, K_obs) row-stochastic confusion matrices: [w, true, observed]."""
    w, k = shape.n_workers, shape.k
    table = np.exp(params.log_conf.reshape(w, k, k)) * _observed_mask(shape)  # [w, y, k]
    return np.transpose(table, (0, 2, 1))
