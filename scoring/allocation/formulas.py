"""The pair-scoring formulas, written ONCE over a tiny math backend.

``score_components(ops, x, ...)`` is evaluated with NumPy arrays (pandas UDF), with
Spark Columns (built-in expressions) or with Python floats (row-at-a-time UDF): the
arithmetic operators work on all three, and ``ops`` supplies the few functions that
differ (log, exp, clip, look-up of a per-queue parameter). One definition means the
three scorers agree to float rounding, which ``tests/test_allocation_scoring.py`` checks.

Inputs of a pair (non-null; ``candidate_pairs`` fills defaults):
    skill_mean, skill_lower  labeler's accuracy on the queue: posterior mean, lower bound
    confidence               task's current top-class posterior probability
    n_classes                number of classes of the task
    handling_s               expected seconds this labeler needs for one label
    hourly_cost              labeler's cost, USD per hour
    slack_h                  hours from window start to the task's deadline (may be < 0)
    priority                 1 (highest) .. 3
    load_ratio               labeler's candidate demand / capacity (over-subscription)
    queue_idx                position of the task's queue in ``config.QUEUE_ORDER``
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from scoring.allocation.config import (
    CONSTANTS,
    COST_REFERENCE_USD,
    QUEUE_ORDER,
    ScoringConstants,
    Weights,
)

INPUT_COLUMNS: tuple[str, ...] = (
    "skill_mean", "skill_lower", "confidence", "n_classes", "handling_s", "hourly_cost",
    "slack_h", "priority", "load_ratio", "queue_idx",
)
COMPONENT_COLUMNS: tuple[str, ...] = (
    "expected_accuracy", "label_value", "expected_cost", "deadline_risk", "on_time_gain",
    "load_penalty", "score",
)


class NumpyOps:
    """Vectorised backend (pandas UDF, matching, Pareto sweep)."""

    log = staticmethod(np.log)
    exp = staticmethod(np.exp)

    @staticmethod
    def clip(x: Any, lo: Any, hi: Any) -> Any:
        return np.minimum(np.maximum(x, lo), hi)

    @staticmethod
    def take(values: Sequence[float], idx: Any) -> Any:
        return np.asarray(values, dtype=np.float64)[np.asarray(idx, dtype=np.int64)]

    @staticmethod
    def to_float(x: Any) -> Any:
        return np.asarray(x, dtype=np.float64)


class MathOps:
    """Scalar backend (row-at-a-time Python UDF)."""

    log = staticmethod(math.log)
    exp = staticmethod(math.exp)

    @staticmethod
    def clip(x: float, lo: float, hi: float) -> float:
        return min(max(x, lo), hi)

    @staticmethod
    def take(values: Sequence[float], idx: int) -> float:
        return values[idx]

    @staticmethod
    def to_float(x: Any) -> float:
        return float(x)


class SparkOps:
    """Spark built-in expression backend (codegen'd by Catalyst, no Python at run time)."""

    @staticmethod
    def log(x: Any) -> Any:
        from pyspark.sql import functions as F

        return F.log(x)

    @staticmethod
    def exp(x: Any) -> Any:
        from pyspark.sql import functions as F

        return F.exp(x)

    @staticmethod
    def clip(x: Any, lo: Any, hi: Any) -> Any:
        from pyspark.sql import functions as F

        return F.least(F.greatest(x, F.lit(lo) if isinstance(lo, float | int) else lo),
                       F.lit(hi) if isinstance(hi, float | int) else hi)

    @staticmethod
    def take(values: Sequence[float], idx: Any) -> Any:
        from pyspark.sql import functions as F

        return F.get(F.array(*[F.lit(float(v)) for v in values]), idx)

    @staticmethod
    def to_float(x: Any) -> Any:
        return x.cast("double")


def queue_params(weights: Mapping[str, Weights]) -> dict[str, tuple[float, ...]]:
    """Per-queue parameter vectors indexed by ``queue_idx``: the weights and cost reference."""
    out: dict[str, tuple[float, ...]] = {
        name: tuple(float(getattr(weights[q], name)) for q in QUEUE_ORDER) for name in Weights.names()
    }
    out["cost_ref"] = tuple(float(COST_REFERENCE_USD[q]) for q in QUEUE_ORDER)
    return out


def _sigmoid(ops: Any, z: Any, c: ScoringConstants) -> Any:
    return 1.0 / (1.0 + ops.exp(-ops.clip(z, -c.logit_clip, c.logit_clip)))


def score_components(ops: Any, x: Mapping[str, Any], params: Mapping[str, Sequence[float]],
                     window_h: float, c: ScoringConstants = CONSTANTS) -> dict[str, Any]:
    """Every component of a pair's score and the score itself (see module docstring)."""
    k = ops.clip(ops.to_float(x["n_classes"]), 2.0, 1e9)
    log_k = ops.log(k)

    # Expected accuracy: posterior mean shrunk towards the lower bound by the uncertainty.
    spread = ops.clip(x["skill_mean"] - x["skill_lower"], 0.0, 1.0)
    acc = ops.clip(x["skill_mean"] - c.risk_aversion * spread, 1.0 / k + c.eps, 1.0 - c.eps)

    # Value of one more label: mutual information between the label and the true class
    # (= expected entropy reduction), with the posterior summarised as top-class
    # probability p1 and the rest spread evenly, and a symmetric confusion of accuracy acc.
    p1 = ops.clip(x["confidence"], 1.0 / k, 1.0 - c.eps)
    off = (1.0 - acc) / (k - 1.0)  # P(a given wrong label)
    q1 = p1 * acc + (1.0 - p1) * off  # P(next label = current top class)
    q_other = ops.clip((1.0 - q1) / (k - 1.0), c.eps, 1.0)
    q1 = ops.clip(q1, c.eps, 1.0)
    label_entropy = -(q1 * ops.log(q1) + (1.0 - q1) * ops.log(q_other))
    noise_entropy = -(acc * ops.log(acc) + (1.0 - acc) * ops.log(ops.clip(off, c.eps, 1.0)))
    label_value = ops.clip((label_entropy - noise_entropy) / log_k, 0.0, 1.0)

    expected_cost = x["hourly_cost"] * x["handling_s"] / 3600.0

    # Deadline: P(on time) if the label is done in this window vs deferred to the next one.
    done_h = c.window_midpoint_share * window_h + x["handling_s"] / 3600.0
    p_now = _sigmoid(ops, (x["slack_h"] - done_h) / c.deadline_scale_h, c)
    p_later = _sigmoid(ops, (x["slack_h"] - done_h - window_h) / c.deadline_scale_h, c)
    deadline_risk = 1.0 - p_now
    on_time_gain = ops.clip(p_now - p_later, 0.0, 1.0)

    # Load balance: share of this labeler's candidate demand beyond its capacity.
    load_penalty = ops.clip(1.0 - 1.0 / ops.clip(x["load_ratio"], 1e-9, 1e18), 0.0, 1.0)

    components = {"expected_accuracy": acc, "label_value": label_value,
                  "expected_cost": expected_cost, "deadline_risk": deadline_risk,
                  "on_time_gain": on_time_gain, "load_penalty": load_penalty}
    components["score"] = combine(components, x["priority"], x["queue_idx"], params, ops)
    return components


def combine(components: Mapping[str, Any], priority: Any, queue_idx: Any,
            params: Mapping[str, Sequence[float]], ops: Any = NumpyOps) -> Any:
    """The multi-objective score from components: the only place the weights enter."""
    q = queue_idx
    return (ops.take(params["coverage"], q)
            + ops.take(params["quality"], q) * components["label_value"]
            + ops.take(params["deadline"], q) * components["on_time_gain"] / ops.to_float(priority)
            - ops.take(params["cost"], q) * components["expected_cost"] / ops.take(params["cost_ref"], q)
            - ops.take(params["load"], q) * components["load_penalty"])
