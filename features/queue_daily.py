"""Queue x day: flow of tasks (arrivals, completions, backlog) and handling-time sketches.

These rows feed volume / backlog forecasting, and their per-modality active-seconds sketches
give the task features' expected handling time (median over 28 days, queue x modality).
Definitions (see ``features/task.py`` for completion and retirement):
- arrivals: tasks created that day; completions: tasks reaching the label target that day;
- closed_incomplete: tasks retired that day without reaching it;
- backlog_end: open tasks (created, not completed, not retired) at the end of the day;
- median_turnaround_hours: exact median of creation -> completion over that day's completions;
- completed_late_share: completions after the deadline / completions;
- backlog_past_deadline_share: backlog tasks whose deadline has passed / backlog.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.config import MAX_WINDOW_DAYS
from features.labeler_daily import feature_ts_after
from features.sketch import SketchSpec, merge_count_maps_agg, sketch_by, sketch_quantile
from features.stats import safe_ratio
from features.task import reference_modality
from schemas.features import QUEUE_DAILY
from schemas.reference import QUEUES


def handling_sketches(flagged_df: DataFrame, universe_df: DataFrame, spec: SketchSpec) -> DataFrame:
    """(queue, event_date, handling_sketches): per task modality, a sketch of submitted active seconds.

    The modality comes from the task; from the queue's reference modality if the task is unknown."""
    modality = universe_df.select("task_id", F.col("modality").alias("_task_modality"))
    rows = (flagged_df.where("is_submitted")
            .join(modality, on="task_id", how="left")
            .withColumn("modality", F.coalesce("_task_modality", reference_modality(F.col("queue")))))
    sketches = sketch_by(rows, ["queue", "event_date", "modality"], "active_seconds", "_sketch", spec)
    return sketches.groupBy("queue", "event_date").agg(
        F.map_from_entries(F.collect_list(F.struct("modality", "_sketch"))).alias("handling_sketches"))


def expected_handling(handling_df: DataFrame, as_of_df: DataFrame, spec: SketchSpec) -> DataFrame:
    """(queue, modality, as_of_date, expected_handling_seconds): the median over (a-28, a]."""
    per_modality = handling_df.select("queue", "event_date",
                                      F.explode("handling_sketches").alias("modality", "_sketch"))
    a, d = F.col("as_of_date"), F.col("event_date")
    joined = per_modality.join(as_of_df, on=(d <= a) & (d > F.date_sub(a, MAX_WINDOW_DAYS)), how="inner")
    merged = joined.groupBy("queue", "modality", "as_of_date").agg(
        merge_count_maps_agg(F.col("_sketch")).alias("_sketch"))
    return merged.select("queue", "modality", "as_of_date",
                         sketch_quantile(F.col("_sketch"), 0.5, spec).alias("expected_handling_seconds"))


def queue_daily(days_df: DataFrame, new_tasks_df: DataFrame, flagged_df: DataFrame, universe_df: DataFrame,
                completions_df: DataFrame, task_features_df: DataFrame, handling_df: DataFrame,
                first_day: date, last_day: date) -> DataFrame:
    """One row per reference queue and day of ``days_df`` (column ``day``)."""
    keys = ["queue", "event_date"]
    spine = days_df.select(F.col("day").alias("event_date")).crossJoin(
        days_df.sparkSession.createDataFrame([(q,) for q in sorted(QUEUES)], "queue string"))
    arrivals = (new_tasks_df.groupBy("queue", F.col("created_date").alias("event_date"))
                .agg(F.count(F.lit(1)).alias("arrivals")))
    activity = flagged_df.groupBy(*keys).agg(F.count(F.lit(1)).alias("assignments"),
                                             F.count_if("has_label").alias("labels_submitted"))
    in_range = lambda day: (day >= F.lit(first_day)) & (day <= F.lit(last_day))  # noqa: E731
    tasks = universe_df.select("task_id", "queue", "created_at", "deadline_at", "retire_at").join(
        completions_df, on="task_id", how="left")
    turnaround_h = (F.unix_micros("completed_at") - F.unix_micros("created_at")) / F.lit(3.6e9)
    completed = (
        tasks.where(F.col("completed_at").isNotNull() & in_range(F.to_date("completed_at")))
        .groupBy("queue", F.to_date("completed_at").alias("event_date"))
        .agg(F.count(F.lit(1)).alias("completions"),
             F.median(turnaround_h).alias("median_turnaround_hours"),
             F.count_if(F.col("completed_at") > F.col("deadline_at")).alias("_late"))
    )
    closed = (
        tasks.where(in_range(F.to_date("retire_at"))
                    & (F.col("completed_at").isNull() | (F.col("completed_at") > F.col("retire_at"))))
        .groupBy("queue", F.to_date("retire_at").alias("event_date"))
        .agg(F.count(F.lit(1)).alias("closed_incomplete"))
    )
    backlog = (task_features_df.groupBy("queue", F.col("as_of_date").alias("event_date"))
               .agg(F.count_if("is_open").alias("backlog_end"),
                    F.count_if(F.col("is_open") & F.col("is_past_deadline")).alias("_past")))
    zero = F.lit(0).cast("long")
    return (
        # Every side is one row per queue and day at most: broadcast them all (the planner cannot
        # know, and would shuffle and sort each for a sort-merge join).
        spine.join(F.broadcast(arrivals), on=keys, how="left")
        .join(F.broadcast(activity), on=keys, how="left")
        .join(F.broadcast(completed), on=keys, how="left")
        .join(F.broadcast(closed), on=keys, how="left")
        .join(F.broadcast(backlog), on=keys, how="left")
        .join(F.broadcast(handling_df), on=keys, how="left")
        .withColumn("feature_ts", feature_ts_after(F.col("event_date")))
        .select(
            "queue", "event_date", "feature_ts",
            *[F.coalesce(c, zero).alias(c) for c in ("arrivals", "completions", "closed_incomplete",
                                                       "backlog_end", "assignments", "labels_submitted")],
            "median_turnaround_hours",
            safe_ratio(F.col("_late"), F.col("completions")).alias("completed_late_share"),
            safe_ratio(F.col("_past"), F.col("backlog_end")).alias("backlog_past_deadline_share"),
            F.coalesce("handling_sketches", F.create_map().cast("map<string,map<int,bigint>>")).alias("handling_sketches"),
        )
        .select(*QUEUE_DAILY.columns)
    )
