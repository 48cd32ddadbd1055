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


# --- adaptive redundancy: what a publish threshold buys, against fixed redundancy ------------------


@dataclass
class PolicyOutcome:
    policy: str
    accuracy: float
    labels_per_task: float
    share_at_cap: float  # tasks that reached the label cap without reaching the threshold


def _answer_sequences(crowd: Crowd, n_tasks: int, max_labels: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each task's truth and its first ``max_labels`` (labeler, answer) pairs, drawn once, so every
    policy sees the same answers in the same order (paired comparison)."""
    rng = np.random.default_rng(seed)
    truth = draw_truth(rng, crowd, n_tasks)
    workers = _distinct_workers(rng, crowd.activity, n_tasks, max_labels)
    answers = answer(rng, crowd, workers.ravel(), np.repeat(truth, max_labels)).reshape(n_tasks, max_labels)
    return truth, workers, answers


def _posteriors(workers: np.ndarray, answers: np.ndarray, revealed: np.ndarray, k: int,
                method: str) -> np.ndarray:
    """(n_tasks, k) posteriors from the revealed prefix of every task's answers (local engine)."""
    import pyarrow as pa

    from scoring.arrow_encoding import encode_table
    from scoring.class_space import ClassSpace
    from scoring.em import EmConfig
    from scoring.local_engine import LocalEngine

    n_tasks, max_labels = workers.shape
    mask = np.arange(max_labels)[None, :] < revealed[:, None]
    task = np.repeat(np.arange(n_tasks), max_labels).reshape(n_tasks, max_labels)[mask]
    space = ClassSpace.single([str(c) for c in range(k)])
    table = pa.table({"task_id": task, "labeler_id": workers[mask], "label": answers[mask].astype(str)})
    engine = LocalEngine([encode_table(table, space).block], space)
    fitted = engine.fit(EmConfig(method=method))
    post = np.zeros((n_tasks, k))
    post[engine.blocks[0].keys().to_numpy(zero_copy_only=False)] = engine.block_posteriors(fitted)[0]
    return post


def fixed_redundancy(truth, workers, answers, k: int, labels: int, method: str) -> PolicyOutcome:
    revealed = np.full(truth.size, labels)
    post = _posteriors(workers, answers, revealed, k, method)
    return PolicyOutcome(f"fixed {labels}, {method}", float((post.argmax(axis=1) == truth).mean()),
                         float(labels), 0.0)


def adaptive_redundancy(truth, workers, answers, k: int, threshold: float, start: int, cap: int,
                        method: str = "ds") -> PolicyOutcome:
    """Start every task with ``start`` labels; refit, and give one more label to every task whose
    confidence is below ``threshold`` and that has fewer than ``cap`` labels; repeat until none."""
    revealed = np.full(truth.size, start)
    while True:
        post = _posteriors(workers, answers, revealed, k, method)
        more = (post.max(axis=1) < threshold) & (revealed < cap)
        if not more.any():
            break
        revealed = revealed + more
    at_cap = (post.max(axis=1) < threshold) & (revealed >= cap)
    return PolicyOutcome(f"adaptive {method} t={threshold} start={start} cap={cap}",
                         float((post.argmax(axis=1) == truth).mean()), float(revealed.mean()),
                         float(at_cap.mean()))


def adaptive_redundancy_sweep(n_tasks: int = 20_000, n_workers: int = 300, k: int = 4, cap: int = 7,
                              start: int = 2, thresholds: tuple[float, ...] = (0.7, 0.8, 0.9, 0.95, 0.98, 0.99),
                              seed: int = 0) -> list[PolicyOutcome]:
    crowd = make_crowd(n_workers, k, seed=seed)
    truth, workers, answers = _answer_sequences(crowd, n_tasks, cap, seed + 1)
    out = [fixed_redundancy(truth, workers, answers, k, r, m) for r in (3, 5) for m in ("mv", "ds")]
    out += [adaptive_redundancy(truth, workers, answers, k, t, start, cap) for t in thresholds]
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    p = argparse.ArgumentParser(description="Adaptive redundancy sweep: accuracy and labels per task "
                                "by publish threshold, against fixed redundancy 3 and 5.")
    p.add_argument("--tasks", type=int, default=20_000)
    p.add_argument("--labelers", type=int, default=300)
    p.add_argument("--k", type=int, default=4)
    p.add_argument("--cap", type=int, default=7)
    p.add_argument("--start", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    rows = adaptive_redundancy_sweep(args.tasks, args.labelers, args.k, args.cap, args.start, seed=args.seed)
    print("| policy | accuracy | labels/task | unsure at cap |\n|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r.policy} | {r.accuracy:.4f} | {r.labels_per_task:.2f} | {r.share_at_cap:.3f} |")
    print(json.dumps([r.__dict__ for r in rows]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
