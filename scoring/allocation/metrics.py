"""Expected figures of a plan: quality, cost, on-time share (one definition, in pandas).

Used per queue partition by the job (plan vs random baseline), by the Pareto sweep and
by the bench, so every report means the same thing:

* ``mean_expected_accuracy``: mean expected accuracy of the planned labels.
* ``cost_per_label`` / ``total_cost``: expected USD of the planned labels.
* ``on_time_share``: expected share of the open demand (labels still needed) delivered
  before its deadline, if what is planned now is done this window and what is not is
  done in the next one: (sum over planned labels of P(on time | now) + sum over unplanned
  needed labels of P(on time | next window)) / labels needed. Planning urgent work raises
  it; planning work with lots of slack barely moves it.
* ``filled_share``: planned labels / labels needed.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

from scoring.allocation.config import Weights
from scoring.allocation.scorers import with_components_builtin

SUM_FIELDS = ("pairs", "tasks", "demand_labels", "capacity_labels", "assigned",
              "sum_expected_accuracy", "sum_true_accuracy", "sum_expected_cost", "sum_label_value",
              "sum_score", "on_time_numerator")
RATIO_FIELDS = ("mean_expected_accuracy", "mean_true_accuracy", "cost_per_label", "on_time_share",
                "filled_share")

METRICS_SCHEMA = StructType(
    [StructField("queue", StringType(), False), StructField("policy", StringType(), False)]
    + [StructField(f, LongType() if f in ("pairs", "tasks", "demand_labels", "capacity_labels", "assigned")
                   else DoubleType(), True) for f in SUM_FIELDS]
)


def summarize(pdf: pd.DataFrame, chosen: np.ndarray, capacity: str = "queue_capacity") -> dict[str, float]:
    """Sums describing the plan ``chosen`` (a mask over ``pdf``'s candidate pairs)."""
    chosen = np.asarray(chosen, dtype=bool)
    tasks = pdf.drop_duplicates("task_id")
    need = tasks.set_index("task_id")["labels_needed"].astype(np.int64)
    p_now = 1.0 - pdf["deadline_risk"].to_numpy()
    p_later = pd.Series(p_now - pdf["on_time_gain"].to_numpy(), index=pdf.index)
    p_later_task = p_later.groupby(pdf["task_id"]).mean()
    assigned_per_task = pdf.loc[chosen].groupby("task_id").size().reindex(need.index, fill_value=0)
    unplanned = (need - assigned_per_task).clip(lower=0)
    picked = pdf.loc[chosen]
    has_truth = "true_accuracy" in pdf.columns
    return {
        "pairs": len(pdf),
        "tasks": len(need),
        "demand_labels": int(need.sum()),
        "capacity_labels": int(pdf.drop_duplicates("labeler_id")[capacity].sum()),
        "assigned": int(chosen.sum()),
        "sum_expected_accuracy": float(picked["expected_accuracy"].sum()),
        "sum_true_accuracy": float(picked["true_accuracy"].sum()) if has_truth else float("nan"),
        "sum_expected_cost": float(picked["expected_cost"].sum()),
        "sum_label_value": float(picked["label_value"].sum()),
        "sum_score": float(picked["score"].sum()),
        "on_time_numerator": float(p_now[chosen].sum() + (unplanned * p_later_task.reindex(need.index)).sum()),
    }


def with_ratios(sums: pd.DataFrame) -> pd.DataFrame:
    """Ratio columns from the sum columns (works on per-queue rows and on their totals)."""
    out = sums.copy()
    assigned = out["assigned"].where(out["assigned"] > 0)
    demand = out["demand_labels"].where(out["demand_labels"] > 0)
    out["mean_expected_accuracy"] = out["sum_expected_accuracy"] / assigned
    out["mean_true_accuracy"] = out["sum_true_accuracy"] / assigned
    out["cost_per_label"] = out["sum_expected_cost"] / assigned
    out["on_time_share"] = out["on_time_numerator"] / demand
    out["filled_share"] = out["assigned"] / demand
    return out


def totals(per_queue: pd.DataFrame, keys: tuple[str, ...] = ("policy",)) -> pd.DataFrame:
    """Sum per-queue rows into one row per ``keys`` (queue = "_all"), with ratios."""
    summed = per_queue.groupby(list(keys), as_index=False)[list(SUM_FIELDS)].sum(min_count=1)
    summed.insert(0, "queue", "_all")
    return with_ratios(summed)


_METRIC_INPUTS = ("queue", "task_id", "labeler_id", "labels_needed", "expected_accuracy",
                  "expected_cost", "label_value", "deadline_risk", "on_time_gain", "score")


def plan_metrics(scored_df: DataFrame, plans: Mapping[str, DataFrame],
                 capacity: str = "queue_capacity", window_h: float | None = None,
                 weights: Mapping[str, Weights] | None = None) -> DataFrame:
    """Per (queue, policy) sums (``METRICS_SCHEMA``) for each plan in ``plans`` (policy name ->
    matched pairs), all drawn from the candidate pairs ``scored_df``.

    The same figures as ``summarize`` (which the Pareto sweep runs in pandas), in Spark built-in
    aggregations: one pass over the pairs sums every plan (plus one for the labelers'
    capacities), so the job's candidate pairs (millions) never travel to Python just to be summed.
    Pairs without the components the figures need (the pipeline's coded pairs, with the inputs
    joined back) get them as built-in expressions of the same formulas, fused into that pass
    (needs ``window_h``; the score also needs the plan's ``weights``). The pipeline passes the pairs
    unscored: re-running its pandas-UDF scorer over every pair for a sum over the planned ones
    cost more (demo day 7: 9.4-12.3 s -> 7.4-9.2 s for this step, the same figures to 1e-15)."""
    missing = tuple(c for c in _METRIC_INPUTS if c not in scored_df.columns)
    if missing:
        if window_h is None:
            raise ValueError(f"plan_metrics: the pairs lack {missing}; pass window_h to compute them")
        if "score" in missing and weights is None:
            raise ValueError("plan_metrics: the pairs have no score; pass the plan's weights to compute it")
        scored_df = with_components_builtin(scored_df, missing, weights=weights, window_h=window_h)
    has_truth = "true_accuracy" in scored_df.columns
    names = list(plans)
    df = scored_df.select(*_METRIC_INPUTS, *(["true_accuracy"] if has_truth else []))
    for i, name in enumerate(names):
        chosen = plans[name].select("task_id", "labeler_id").distinct().withColumn(f"_c{i}", F.lit(True))
        # a plan is a fraction of the pairs (~10%): broadcast it rather than shuffle the pairs
        df = df.join(F.broadcast(chosen), on=["task_id", "labeler_id"], how="left")
    p_now = F.lit(1.0) - F.col("deadline_risk")
    summed = {"expected_accuracy": F.col("expected_accuracy"), "expected_cost": F.col("expected_cost"),
              "label_value": F.col("label_value"), "score": F.col("score"), "p_now": p_now}
    if has_truth:
        summed["true_accuracy"] = F.col("true_accuracy")

    task_aggs = [F.first("labels_needed").cast("long").alias("_need"),
                 # a task's labels left unplanned are done next window: P(on time) over its pairs
                 F.avg(p_now - F.col("on_time_gain")).alias("_p_later"),
                 F.count(F.lit(1)).alias("_pairs")]
    for i in range(len(names)):
        chosen = F.col(f"_c{i}").isNotNull()
        task_aggs.append(F.count_if(chosen).alias(f"_assigned{i}"))
        task_aggs += [F.sum(F.when(chosen, col)).alias(f"_{name}{i}") for name, col in summed.items()]
    per_task = df.groupBy("queue", "task_id").agg(*task_aggs)

    queue_aggs = [F.count(F.lit(1)).alias("tasks"), F.sum("_need").alias("demand_labels"),
                  F.sum("_pairs").alias("pairs")]
    for i in range(len(names)):
        queue_aggs.append(F.sum(f"_assigned{i}").alias(f"_assigned{i}"))
        queue_aggs += [F.coalesce(F.sum(f"_{name}{i}"), F.lit(0.0)).alias(f"_{name}{i}") for name in summed]
        unplanned = F.greatest(F.col("_need") - F.col(f"_assigned{i}"), F.lit(0)) * F.col("_p_later")
        queue_aggs.append(F.coalesce(F.sum(unplanned), F.lit(0.0)).alias(f"_unplanned{i}"))
    per_queue = per_task.groupBy("queue").agg(*queue_aggs)
    labelers = (scored_df.groupBy("queue", "labeler_id").agg(F.first(capacity).alias("_capacity"))
                .groupBy("queue").agg(F.sum("_capacity").alias("capacity_labels")))

    def policy_row(i: int, name: str) -> Column:
        return F.struct(
            F.lit(name).alias("policy"), F.col(f"_assigned{i}").alias("assigned"),
            *[F.col(f"_{m}{i}").alias(f"sum_{m}") for m in ("expected_accuracy", "expected_cost",
                                                              "label_value", "score")],
            (F.col(f"_true_accuracy{i}") if has_truth else F.lit(float("nan"))).alias("sum_true_accuracy"),
            (F.col(f"_p_now{i}") + F.col(f"_unplanned{i}")).alias("on_time_numerator"))

    out = (per_queue.join(labelers, on="queue")
           .select("queue", "pairs", "tasks", "demand_labels", "capacity_labels",
                   F.explode(F.array(*[policy_row(i, n) for i, n in enumerate(names)])).alias("_p"))
           .select("*", "_p.*"))
    return out.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in METRICS_SCHEMA.fields])


_UNIT = 2.0 ** -53  # 53 hash bits -> a double in [0, 1)


def with_random_scores(scored_df: DataFrame, seed: int) -> DataFrame:
    """The random baseline: the same candidate pairs, scored uniformly at random (> 0).

    The score is a hash of (seed, task, labeler), not ``rand(seed)``: ``rand`` follows the rows'
    order within their partitions, which a shuffle changes from run to run, so a rerun would
    draw another baseline. Hashed, the same seed and pairs give the same baseline plan."""
    bits = F.xxhash64(F.lit(int(seed)), F.col("task_id"), F.col("labeler_id")).bitwiseAND(F.lit((1 << 53) - 1))
    return scored_df.withColumn("score", bits.cast("double") * F.lit(_UNIT) + F.lit(1e-3))
