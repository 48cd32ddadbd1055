"""Labeler skill: per-queue confusion matrices, drift over time, and how a label is drawn.

The generator and the truth readers both go through :func:`drift_rows`, so the latent
accuracy a test or an evaluation asks for is exactly the one labels were drawn from.
"""

from __future__ import annotations

import numpy as np

from experiments.synth.params import (
    ARCHETYPE_LEVEL,
    ARCHETYPES,
    BIAS_ERROR_SHARE,
    CLASS_SKILL_SD,
    DIAG_MAX,
    DIAG_MIN,
    K_MAX,
    QUEUE_K,
    QUEUE_SKILL_SD,
)

EXPERT, NORMAL, BIASED, SPAMMER = (ARCHETYPES.index(a) for a in ("expert", "normal", "biased", "spammer"))


def build_confusions(rng: np.random.Generator, archetype: np.ndarray, spammer_constant: np.ndarray) -> np.ndarray:
    """(labelers, queues, K_MAX, K_MAX) row-stochastic confusion matrices, rounded to 6 decimals.

    Rounded once here and used as-is by the generator, so the JSON in truth/labelers.csv
    holds exactly the numbers labels were drawn from.
    """
    n = len(archetype)
    lo = np.array([ARCHETYPE_LEVEL.get(a, (0.0, 0.0))[0] for a in ARCHETYPES])[archetype]
    hi = np.array([ARCHETYPE_LEVEL.get(a, (0.0, 0.0))[1] for a in ARCHETYPES])[archetype]
    level = rng.uniform(lo, hi)
    out = np.zeros((n, len(QUEUE_K), K_MAX, K_MAX))
    for qi, k in enumerate(QUEUE_K):
        k = int(k)
        eye = np.eye(k, dtype=bool)
        acc_q = np.clip(level + rng.normal(0, QUEUE_SKILL_SD, n), 0.55, 0.985)
        diag = np.clip(acc_q[:, None] + rng.normal(0, CLASS_SKILL_SD, (n, k)), 0.40, DIAG_MAX)
        # Error profile: a random distribution over the other classes, per labeler and class.
        g = rng.gamma(2.0, size=(n, k, k))
        g[:, eye] = 0.0
        err = g / g.sum(axis=2, keepdims=True)
        favourite = rng.integers(0, k, n)  # biased labelers pull errors toward this class
        fav_onehot = np.eye(k)[favourite][:, None, :].repeat(k, axis=1)
        fav_onehot[:, eye] = 0.0
        is_biased = archetype == BIASED
        err[is_biased] = (1 - BIAS_ERROR_SHARE) * err[is_biased] + BIAS_ERROR_SHARE * fav_onehot[is_biased]
        err = err / err.sum(axis=2, keepdims=True)
        diag[is_biased, favourite[is_biased]] = DIAG_MAX - 0.02
        m = err * (1.0 - diag)[:, :, None]
        m[:, eye] = diag
        # Spammers ignore the content: uniform answers, or one constant label.
        is_spam = archetype == SPAMMER
        const = is_spam & spammer_constant
        m[is_spam & ~spammer_constant] = 1.0 / k
        if const.any():
            c = rng.integers(0, k, int(const.sum()))
            m[const] = np.eye(k)[c][:, None, :].repeat(k, axis=1)
        off = np.round(m * ~eye, 6)
        m = off + eye * np.round(1.0 - off.sum(axis=2, keepdims=True), 6)
        out[:, qi, :k, :k] = m
    return out


def drift_rows(rows: np.ndarray, true_label: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Move each row's diagonal entry by ``shift`` (clipped) and rescale its errors to match.

    ``rows`` (n, K) are confusion rows for true classes ``true_label``; ``shift`` is
    drift_per_30d * days / 30. A zero shift leaves the row untouched (spammers).
    """
    idx = np.arange(len(rows))
    d0 = rows[idx, true_label]
    dt = np.where(shift != 0, np.clip(d0 + shift, DIAG_MIN, DIAG_MAX), d0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(d0 < 1.0, (1.0 - dt) / (1.0 - d0), 0.0)
    out = rows * scale[:, None]
    out[idx, true_label] = dt
    return out


def confusion_at(matrix: np.ndarray, drift_per_30d: float, days: float) -> np.ndarray:
    """A (K, K) confusion matrix after ``days`` of drift."""
    k = matrix.shape[0]
    y = np.arange(k)
    return drift_rows(np.asarray(matrix, dtype=float), y, np.full(k, drift_per_30d * days / 30.0))


def answer_distribution(rows: np.ndarray, difficulty: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Mix each confusion row toward uniform over the queue's k labels by the task's difficulty."""
    uniform = (np.arange(rows.shape[1])[None, :] < k[:, None]) / k[:, None]
    return (1.0 - difficulty)[:, None] * rows + difficulty[:, None] * uniform


def draw_labels(rng: np.random.Generator, probs: np.ndarray, k: np.ndarray) -> np.ndarray:
    """One categorical draw per row (inverse CDF), never beyond the queue's k labels."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))
    return np.minimum((u[:, None] >= cum).sum(axis=1), k - 1)
