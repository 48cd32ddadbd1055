"""One capacity per labeler, shared by every queue it is certified for.

Matching runs per queue (``applyInPandas`` over queue groups), so a labeler's window
capacity must be split across its queues first. Two passes:

1. *Relaxed pass*: every queue is matched as if the labeler's whole capacity were
   available to it. Its objective is an upper bound on the global optimum (each
   queue's plan is optimal for a looser problem), and its usage u[l, q] says where
   the optimiser wants each labeler.
2. *Split*: capacity goes to queues in proportion to that usage (all of it when the
   labeler is not over-used), the rest in proportion to candidate demand d[l, q]
   (a task needing n labels with k candidates sends n / k to each). Then the queues
   are matched again with these capacities.

Shares are rounded by largest remainder, so per-queue capacities are integers that add
up exactly to the labeler's capacity. Without a usage table (``usage_df=None``) the
split is by demand alone: one matching pass, a bigger gap. docs/allocation.md reports
the gap of both against one global min-cost flow.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F


def with_largest_remainder(df: DataFrame, total: str, weight: str, out: str,
                           key: str = "labeler_id", order: str = "queue") -> DataFrame:
    """Adds ``out``: integer shares of ``total`` (constant per ``key``) in proportion to
    ``weight``, summing to ``total`` exactly (ties by ``order``); all-zero weights get 0."""
    per_key = Window.partitionBy(key)
    by_frac = Window.partitionBy(key).orderBy(F.col("_frac").desc(), F.col(order))
    return (df
            .withColumn("_wsum", F.sum(weight).over(per_key))
            .withColumn("_raw", F.when(F.col("_wsum") > 0, F.col(total) * F.col(weight) / F.col("_wsum"))
                        .otherwise(F.lit(0.0)))
            .withColumn("_base", F.floor("_raw"))
            .withColumn("_frac", F.col("_raw") - F.col("_base"))
            .withColumn("_left", F.col(total) - F.sum("_base").over(per_key))
            .withColumn(out, (F.col("_base") + F.when((F.col("_wsum") > 0)
                                                      & (F.row_number().over(by_frac) <= F.col("_left")), 1)
                              .otherwise(0)).cast("int"))
            .drop("_wsum", "_raw", "_base", "_frac", "_left"))


def candidate_demand(pairs_df: DataFrame) -> DataFrame:
    """(labeler_id, queue, capacity, demand, pairs[, l_code]): the demand a labeler is a candidate
    for, its candidate pairs and, where the pairs carry it, its labeler x queue code."""
    code = [F.first("l_code").alias("l_code")] if "l_code" in pairs_df.columns else []
    return (pairs_df.groupBy("labeler_id", "queue")
            # rounded: a float sum's last bits follow the rows' order, which changes from run to
            # run, and the split's largest-remainder ranking must not
            .agg(F.round(F.sum(F.col("labels_needed") / F.col("task_degree")), 9).alias("demand"),
                 F.first("capacity").alias("capacity"), F.count(F.lit(1)).alias("pairs"), *code))


def queue_capacity_split(demand_df: DataFrame, usage_df: DataFrame | None = None) -> DataFrame:
    """(labeler_id, queue, queue_capacity) from ``candidate_demand`` and, if given, the
    relaxed pass's usage (``usage_df``: labeler_id, queue, used)."""
    demand = demand_df
    if usage_df is None:
        demand = demand.withColumn("used", F.lit(0).cast("long"))
    else:
        demand = (demand.join(usage_df.select("labeler_id", "queue", "used"), on=["labeler_id", "queue"],
                              how="left")
                  .fillna({"used": 0}))
    per_labeler = Window.partitionBy("labeler_id")
    return (demand
            .withColumn("_first_total", F.least(F.col("capacity"), F.sum("used").over(per_labeler)))
            .transform(with_largest_remainder, "_first_total", "used", "_first")
            .withColumn("_rest_total", F.col("capacity") - F.sum("_first").over(per_labeler))
            .transform(with_largest_remainder, "_rest_total", "demand", "_rest")
            .select("labeler_id", "queue",
                    (F.col("_first") + F.col("_rest")).cast("int").alias("queue_capacity")))


def with_queue_capacity(pairs_df: DataFrame, usage_df: DataFrame | None = None) -> DataFrame:
    """Adds ``queue_capacity``: this labeler's share of its capacity for the pair's queue."""
    split = queue_capacity_split(candidate_demand(pairs_df), usage_df)
    return pairs_df.join(split, on=["labeler_id", "queue"], how="left")
