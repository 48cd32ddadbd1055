"""Pareto sweep: for a grid of weights, the plan's expected quality, cost and on-time share.

Components do not depend on the weights, so pairs are scored once; each grid point only
re-combines them (``formulas.combine``) and re-solves the matching, inside one
``applyInPandas`` per queue. A user picks a point on the frontier and passes its weights
to ``labelops run allocate --weight quality=.. --weight cost=..``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql.types import DoubleType, IntegerType, StructField, StructType

from scoring.allocation.config import DEFAULT_WEIGHTS, MAX_EXACT_PAIRS, QUEUE_ORDER, Weights
from scoring.allocation.formulas import combine, queue_params
from scoring.allocation.matching import Instance, solve_exact, solve_greedy
from scoring.allocation.metrics import METRICS_SCHEMA, RATIO_FIELDS, summarize, totals

DEFAULT_GRID: dict[str, tuple[float, ...]] = {
    "quality": (0.0, 1.0, 2.0, 4.0),
    "cost": (0.0, 0.5, 1.0, 2.0),
    "deadline": (0.0, 2.0, 4.0),
}

_SWEEP_INPUTS = ("queue", "task_id", "labeler_id", "labels_needed", "priority", "queue_idx",
                 "expected_accuracy", "expected_cost", "label_value", "deadline_risk",
                 "on_time_gain", "load_penalty", "score")


def weight_grid(axes: Mapping[str, Sequence[float]] | None = None,
                base: Weights = DEFAULT_WEIGHTS) -> list[Weights]:
    """Every combination of the axes' values, other weights from ``base``."""
    axes = dict(axes or DEFAULT_GRID)
    unknown = set(axes) - set(Weights.names())
    if unknown:
        raise ValueError(f"unknown weight axes {sorted(unknown)}; known: {Weights.names()}")
    names = list(axes)
    return [replace(base, **dict(zip(names, values, strict=True)))
            for values in itertools.product(*(axes[n] for n in names))]


def sweep_partition(pdf: pd.DataFrame, grid: Sequence[Weights], capacity: str = "queue_capacity",
                    max_exact_pairs: int = MAX_EXACT_PAIRS) -> pd.DataFrame:
    """Per grid point: the plan of this partition and its sums (``metrics.summarize``)."""
    rows = []
    components = {c: pdf[c].to_numpy() for c in ("label_value", "on_time_gain", "expected_cost",
                                                  "load_penalty")}
    for point, weights in enumerate(grid):
        params = queue_params({q: weights for q in QUEUE_ORDER})
        scored = pdf.assign(score=combine(components, pdf["priority"].to_numpy(),
                                          pdf["queue_idx"].to_numpy(), params))
        inst = Instance.from_frame(scored, capacity=capacity)
        chosen = solve_exact(inst) if len(scored) <= max_exact_pairs else solve_greedy(inst)
        rows.append({"queue": pdf["queue"].iloc[0], "policy": f"grid_{point}", "point": point,
                     **weights.as_dict(), **summarize(scored, chosen, capacity=capacity)})
    return pd.DataFrame(rows)


def pareto_sweep(scored_df: DataFrame, grid: Sequence[Weights], capacity: str = "queue_capacity",
                 max_exact_pairs: int = MAX_EXACT_PAIRS) -> pd.DataFrame:
    """One row per grid point (summed over queues), with ratios and a ``pareto`` flag.

    The result has ``len(grid)`` rows, so bringing it to the driver is safe."""
    extra = ["true_accuracy"] if "true_accuracy" in scored_df.columns else []
    df = scored_df.select(*_SWEEP_INPUTS, capacity, *extra)
    schema_fields = [*METRICS_SCHEMA.fields, StructField("point", IntegerType(), False),
                     *[StructField(n, DoubleType(), False) for n in Weights.names()]]
    grid = list(grid)

    def solve(pdf: pd.DataFrame) -> pd.DataFrame:
        out = sweep_partition(pdf, grid, capacity=capacity, max_exact_pairs=max_exact_pairs)
        return out[[f.name for f in schema_fields]]

    per_queue = df.groupBy("queue").applyInPandas(solve, schema=StructType(schema_fields)).toPandas()
    summed = totals(per_queue, keys=("point", *Weights.names()))
    summed = summed.sort_values("point").reset_index(drop=True)
    summed["pareto"] = pareto_mask(summed["mean_expected_accuracy"].to_numpy(),
                                   summed["sum_expected_cost"].to_numpy(),
                                   summed["on_time_share"].to_numpy())
    return summed[["point", *Weights.names(), "assigned", "demand_labels", "sum_expected_cost",
                   "sum_label_value", *RATIO_FIELDS, "pareto"]]


def pareto_mask(quality: np.ndarray, cost: np.ndarray, on_time: np.ndarray) -> np.ndarray:
    """True where no other point is at least as good on all three and better on one
    (higher quality, lower cost, higher on-time share)."""
    q, c, o = (np.nan_to_num(np.asarray(a, dtype=float), nan=-np.inf) for a in (quality, -np.asarray(cost), on_time))
    better_eq = (q[None, :] >= q[:, None]) & (c[None, :] >= c[:, None]) & (o[None, :] >= o[:, None])
    strictly = (q[None, :] > q[:, None]) | (c[None, :] > c[:, None]) | (o[None, :] > o[:, None])
    return ~(better_eq & strictly).any(axis=1)


def plot_frontier(sweep: pd.DataFrame, path: str, title: str = "Allocation Pareto sweep") -> str:
    """Cost (x) vs mean expected accuracy (y), colour = on-time share; frontier circled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    points = ax.scatter(sweep["sum_expected_cost"], sweep["mean_expected_accuracy"],
                        c=sweep["on_time_share"], cmap="viridis", s=36)
    front = sweep[sweep["pareto"]]
    ax.scatter(front["sum_expected_cost"], front["mean_expected_accuracy"], s=120,
               facecolors="none", edgecolors="crimson", label="Pareto-efficient")
    for _, row in front.iterrows():
        ax.annotate(str(int(row["point"])), (row["sum_expected_cost"], row["mean_expected_accuracy"]),
                    fontsize=7, xytext=(3, 3), textcoords="offset points")
    fig.colorbar(points, ax=ax, label="expected on-time share")
    ax.set_xlabel("expected cost of the plan (USD)")
    ax.set_ylabel("mean expected accuracy of planned labels")
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
