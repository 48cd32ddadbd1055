"""From matched pairs to the published plan: ranks, weights, and the constraint columns
that let the quality gate check capacity, eligibility and over-assignment row by row.

The constraint columns are recomputed here from the *inputs* (roster, open tasks, past
judgments), not copied from the matcher, so the gate catches a matcher bug instead of
trusting it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from scoring.allocation.config import POLICY_VERSION, QUEUE_ORDER, Weights

WEIGHT_COLUMNS = tuple(f"w_{name}" for name in Weights.names())


def weights_df(spark: SparkSession, weights: Mapping[str, Weights]) -> DataFrame:
    """One row per queue with the weights used (``w_<name>`` columns)."""
    rows = [(q, *[float(getattr(weights[q], n)) for n in Weights.names()]) for q in QUEUE_ORDER]
    return spark.createDataFrame(rows, ["queue", *WEIGHT_COLUMNS])


def with_ranks(matched_df: DataFrame) -> DataFrame:
    """``rank``: the order a labeler should work its planned tasks: earliest deadline
    first, then highest score (ties by task_id, so reruns give the same ranks)."""
    w = Window.partitionBy("labeler_id").orderBy(
        F.col("deadline_at").asc_nulls_last(), F.col("score").desc(), "task_id")
    return matched_df.withColumn("rank", F.row_number().over(w))


def with_constraint_columns(plan_df: DataFrame, labelers_df: DataFrame, open_tasks_df: DataFrame,
                            already_judged_df: DataFrame) -> DataFrame:
    """Adds labeler_capacity / labeler_assigned, task_labels_needed / task_assigned and
    is_eligible, each from the inputs, so the gate can compare them row by row."""
    labelers = labelers_df.select(
        "labeler_id", F.col("capacity").cast("int").alias("labeler_capacity"),
        "certified_queues", "languages")
    tasks = open_tasks_df.select("task_id", F.col("labels_needed").cast("int").alias("task_labels_needed"),
                                 F.col("language").alias("_task_language"), F.col("queue").alias("_task_queue"))
    judged = already_judged_df.select("task_id", "labeler_id").distinct().withColumn("_judged", F.lit(True))
    eligible = (F.array_contains("certified_queues", F.col("_task_queue"))
                & F.array_contains("languages", F.col("_task_language"))
                & (F.col("labeler_capacity") > 0)
                & F.col("_judged").isNull()
                & (F.col("_task_queue") == F.col("queue")))
    return (
        plan_df
        .join(labelers, on="labeler_id", how="left")
        .join(tasks, on="task_id", how="left")
        .join(judged, on=["task_id", "labeler_id"], how="left")
        .withColumn("is_eligible", F.coalesce(eligible, F.lit(False)))
        .withColumn("labeler_assigned", F.count(F.lit(1)).over(Window.partitionBy("labeler_id")).cast("int"))
        .withColumn("task_assigned", F.count(F.lit(1)).over(Window.partitionBy("task_id")).cast("int"))
        .fillna({"labeler_capacity": 0, "task_labels_needed": 0})
        .drop("certified_queues", "languages", "_task_language", "_task_queue", "_judged")
    )


def constraint_violations(plan_df: DataFrame) -> dict[str, int]:
    """Counts of plan rows breaking each hard constraint (all must be 0 to publish), and the
    plan's row count, in one aggregation. ``duplicate_pairs``: rows beyond the first of their
    (window, labeler, task)."""
    row = plan_df.agg(
        F.sum((F.col("labeler_assigned") > F.col("labeler_capacity")).cast("int")).alias("over_capacity"),
        F.sum((F.col("task_assigned") > F.col("task_labels_needed")).cast("int")).alias("over_assigned"),
        F.sum((~F.col("is_eligible")).cast("int")).alias("ineligible"),
        F.count(F.lit(1)).alias("rows"),
        F.count_distinct("window_start", "labeler_id", "task_id").alias("pairs"),
    ).first()
    counts = {k: int(row[k] or 0) for k in ("over_capacity", "over_assigned", "ineligible")}
    counts["duplicate_pairs"] = int(row["rows"]) - int(row["pairs"])
    counts["rows"] = int(row["rows"])
    return counts


def build_plan(matched_df: DataFrame, *, weights: DataFrame, plan_date: date, window_start: datetime,
               window_end: datetime, run_id: str, policy_version: str = POLICY_VERSION) -> DataFrame:
    """The plan rows: matched pairs + rank + weights used + window, policy and run."""
    return (
        matched_df
        .transform(with_ranks)
        .join(F.broadcast(weights), on="queue", how="left")
        .withColumn("plan_date", F.lit(plan_date).cast("date"))
        .withColumn("window_start", F.lit(window_start).cast("timestamp"))
        .withColumn("window_end", F.lit(window_end).cast("timestamp"))
        .withColumn("policy_version", F.lit(policy_version))
        .withColumn("run_id", F.lit(run_id))
    )
