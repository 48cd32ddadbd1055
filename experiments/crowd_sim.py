"""A crowd with known truth: labelers with confusion matrices answer tasks. numpy only.

Used by the confidence benchmark (10M judgments), by tests (EM must recover the
confusion matrices it was given) and by the adaptive-redundancy sweep
(``experiments.redundancy_sweep``). Unlike ``experiments.synth`` (the full platform
export generator) this draws only ``task, worker, label`` and is fast at 10M rows.

Labelers: a mix of experts, ordinary labelers, labelers biased toward one class and
spammers (uniform answers); activity is heavy-tailed (a few labelers do much of the
work), as on real platforms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ARCHETYPE_SHARES = {"expert": 0.15, "normal": 0.60, "biased": 0.17, "spammer": 0.08}
ACCURACY_RANGE = {"expert": (0.90, 0.98), "normal": (0.65, 0.90), "biased": (0.60, 0.85)}


@dataclass
class Crowd:
    """Labelers (their true confusion matrices) and the class prior."""

    confusion: np.ndarray  # (W, K, K) row-stochastic: [worker, true, answered]
    activity: np.ndarray   # (W,) probability that a judgment goes to this labeler
    prior: np.ndarray      # (K,)

    @property
    def n_workers(self) -> int:
        return int(self.confusion.shape[0])

    @property
    def k(self) -> int:
        return int(self.confusion.shape[1])


@dataclass
class Judgments:
    task: np.ndarray    # (n,) int64
    worker: np.ndarray  # (n,) int32
    label: np.ndarray   # (n,) int8
    truth: np.ndarray   # (n_tasks,) int8: true class of task i

    @property
    def n(self) -> int:
        return int(self.task.size)


def make_crowd(n_workers: int, k: int, seed: int = 0, activity_skew: float = 1.0) -> Crowd:
    """Random labelers: per-archetype accuracy, errors spread by a random profile."""
    rng = np.random.default_rng(seed)
    names = list(ARCHETYPE_SHARES)
    kind = rng.choice(len(names), size=n_workers, p=list(ARCHETYPE_SHARES.values()))
    conf = np.zeros((n_workers, k, k))
    eye = np.eye(k, dtype=bool)
    for i, name in enumerate(names):
        sel = np.flatnonzero(kind == i)
        if sel.size == 0:
            continue
        if name == "spammer":
            conf[sel] = 1.0 / k
            continue
        lo, hi = ACCURACY_RANGE[name]
        diag = np.clip(rng.uniform(lo, hi, (sel.size, 1)) + rng.normal(0, 0.04, (sel.size, k)), 0.35, 0.995)
        err = rng.gamma(2.0, size=(sel.size, k, k))
        err[:, eye] = 0.0
        if name == "biased":  # errors pulled toward one favourite class
            fav = rng.integers(0, k, sel.size)
            err[np.arange(sel.size), :, fav] += 6.0
            err[:, eye] = 0.0
        err /= err.sum(axis=2, keepdims=True)
        m = err * (1 - diag)[:, :, None]
        m[:, eye] = diag
        conf[sel] = m
    weights = rng.pareto(activity_skew + 1.0, n_workers) + 1.0
    prior = rng.dirichlet(np.full(k, 5.0))
    return Crowd(confusion=conf, activity=weights / weights.sum(), prior=prior)


def _distinct_workers(rng: np.random.Generator, activity: np.ndarray, n_tasks: int,
                      per_task: int) -> np.ndarray:
    """(n_tasks, per_task) labelers drawn by activity, no labeler twice on one task."""
    cum = np.cumsum(activity)
    cum[-1] = 1.0
    out = np.searchsorted(cum, rng.random((n_tasks, per_task)), side="right").astype(np.int32)
    for _ in range(100):
        s = np.sort(out, axis=1)
        bad = np.flatnonzero((s[:, 1:] == s[:, :-1]).any(axis=1))
        if bad.size == 0:
            return out
        out[bad] = np.searchsorted(cum, rng.random((bad.size, per_task)), side="right")
    raise RuntimeError("could not draw distinct labelers: too few labelers for labels per task")


def answer(rng: np.random.Generator, crowd: Crowd, worker: np.ndarray, true_class: np.ndarray) -> np.ndarray:
    """One label per (worker, true class), drawn from the worker's confusion row."""
    cum = np.cumsum(crowd.confusion[worker, true_class], axis=1)
    u = rng.random(worker.size)
    return np.minimum((u[:, None] >= cum).sum(axis=1), crowd.k - 1).astype(np.int8)


def draw_truth(rng: np.random.Generator, crowd: Crowd, n_tasks: int) -> np.ndarray:
    return rng.choice(crowd.k, size=n_tasks, p=crowd.prior).astype(np.int8)


def simulate(crowd: Crowd, n_tasks: int, labels_per_task: int = 5, seed: int = 1,
             min_labels: int | None = None, max_labels: int | None = None,
             chunk_tasks: int = 500_000) -> Judgments:
    """Judgments for ``n_tasks`` tasks: each gets between min_labels and max_labels distinct
    labelers (default exactly ``labels_per_task``), drawn in chunks to bound memory."""
    rng = np.random.default_rng(seed)
    truth = draw_truth(rng, crowd, n_tasks)
    lo = labels_per_task if min_labels is None else min_labels
    hi = labels_per_task if max_labels is None else max_labels
    tasks, workers, labels = [], [], []
    for start in range(0, n_tasks, chunk_tasks):
        stop = min(start + chunk_tasks, n_tasks)
        n = stop - start
        chosen = _distinct_workers(rng, crowd.activity, n, hi)
        keep = np.arange(hi)[None, :] < rng.integers(lo, hi + 1, n)[:, None]
        task = np.repeat(np.arange(start, stop, dtype=np.int64)[:, None], hi, axis=1)[keep]
        worker = chosen[keep]
        tasks.append(task)
        workers.append(worker)
        labels.append(answer(rng, crowd, worker, truth[task]))
    return Judgments(task=np.concatenate(tasks), worker=np.concatenate(workers),
                     label=np.concatenate(labels), truth=truth)
