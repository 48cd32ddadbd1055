"""Task features as of each day: a task's state carried forward from the anchor day.

A task enters the table on its creation day and leaves after its *retire* time
(deadline + ``task_retention_hours``, at most ``task_max_age_days`` after creation); in between
it has a row per day. Counts are the anchor's values plus the judgments of the rebuilt range,
so a day's cost depends on the open tasks and that day's judgments, not on history.

Completion: the platform does not export a task's label target, so a task is *completed* when
it reaches ``target_labels`` submitted labels (default 3). Judgments after the retire time
are not counted (the task has left the table).
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from features.config import FeatureParams
from features.labeler_daily import feature_ts_after
from features.sketch import add_count_maps
from features.stats import label_entropy
from schemas.features import TASK_FEATURES
from schemas.reference import QUEUES

STATE_COLUMNS = ("task_id", "queue", "modality", "priority", "created_at", "deadline_at", "retire_at")


def reference_modality(queue: Column) -> Column:
    """The queue's modality from reference data: the fallback when a task row is missing."""
    pairs = []
    for name, q in sorted(QUEUES.items()):
        pairs += [F.lit(name), F.lit(q.modality)]
    return F.try_element_at(F.create_map(*pairs), queue)


def with_retire_at(tasks_df: DataFrame, params: FeatureParams) -> DataFrame:
    """retire_at = min(deadline + retention, created + max age)."""
    by_deadline = F.unix_micros("deadline_at") + F.lit(int(params.task_retention_hours * 3_600_000_000))
    by_age = F.unix_micros("created_at") + F.lit(int(params.task_max_age_days * 86_400_000_000))
    return tasks_df.withColumn("retire_at", F.timestamp_micros(F.least(by_deadline, by_age)))


def task_universe(new_tasks_df: DataFrame, anchor_tasks_df: DataFrame | None, params: FeatureParams) -> DataFrame:
    """Tasks that can have a row in the rebuilt range: the anchor day's tasks plus tasks created
    in the range (a re-exported task counts as new). Anchor counts come along as ``_prev_*``."""
    new = (with_retire_at(new_tasks_df, params)
           .select(*STATE_COLUMNS)
           .withColumn("_prev_assignments", F.lit(0).cast("long"))
           .withColumn("_prev_labels", F.lit(0).cast("long"))
           .withColumn("_prev_counts", F.create_map().cast("map<string,bigint>"))
           .withColumn("_prev_labeler_labels", F.create_map().cast("map<string,string>"))
           .withColumn("_prev_completed_at", F.lit(None).cast("timestamp"))
           .withColumn("_prev_entropy", F.lit(None).cast("double")))
    if anchor_tasks_df is None:
        return new
    prev = anchor_tasks_df.select(
        *STATE_COLUMNS,
        F.col("assignments_so_far").alias("_prev_assignments"),
        F.col("labels_so_far").alias("_prev_labels"),
        F.col("label_counts").alias("_prev_counts"),
        F.col("labeler_labels").alias("_prev_labeler_labels"),
        F.col("completed_at").alias("_prev_completed_at"),
        F.col("disagreement_entropy").alias("_prev_entropy"),
    ).join(new.select("task_id"), on="task_id", how="left_anti")
    return new.unionByName(prev)


def _alive_days(start: Column, end: Column) -> Column:
    """Explode helper: every day from start to end (inclusive); no row if end < start
    (``sequence`` alone would count backwards)."""
    return F.explode(F.when(start <= end, F.sequence(start, end)).otherwise(F.array().cast("array<date>")))


def task_judgments(flagged_df: DataFrame, universe_df: DataFrame) -> DataFrame:
    """The range's judgments on known tasks, before the task retired."""
    tasks = universe_df.select("task_id", "retire_at")
    return (flagged_df.join(tasks, on="task_id", how="inner")
            .where(F.col("event_ts") < F.col("retire_at")))


def completion_times(task_judgments_df: DataFrame, universe_df: DataFrame, params: FeatureParams) -> DataFrame:
    """(task_id, completed_at): when the task's submitted labels reached the target (anchor's
    value if it had already), else null."""
    labelled = task_judgments_df.where("has_label").join(
        universe_df.select("task_id", "_prev_labels"), on="task_id", how="inner")
    order = Window.partitionBy("task_id").orderBy("event_ts", "judgment_id")
    reached = (
        labelled.withColumn("_rank", F.row_number().over(order) + F.col("_prev_labels"))
        .where(F.col("_rank") == params.target_labels)
        .select("task_id", F.col("event_ts").alias("_reached_at"))
    )
    return (universe_df.select("task_id", "_prev_completed_at")
            .join(reached, on="task_id", how="left")
            .select("task_id", F.coalesce("_prev_completed_at", "_reached_at").alias("completed_at")))


def task_features(universe_df: DataFrame, task_judgments_df: DataFrame, completions_df: DataFrame,
                  handling_df: DataFrame, first_day: date, last_day: date) -> DataFrame:
    """One row per task alive at the end of each as-of day in [first_day, last_day].

    ``handling_df``: (queue, modality, as_of_date, expected_handling_seconds)."""
    first, last = F.lit(first_day), F.lit(last_day)
    # The completion time joins the task before its rows are spread over the days: one shuffle by
    # task of the task rows, not a second one of the day rows.
    spine = universe_df.join(completions_df.withColumnRenamed("completed_at", "_completed_at"), on="task_id",
                             how="left").select(
        "*",
        _alive_days(F.greatest(F.to_date("created_at"), first), F.least(F.to_date("retire_at"), last)).alias("as_of_date"),
    )
    # Each judgment counts for every as-of day from its event day until the task retires. Shuffled
    # by (task, day) before the aggregations, whose second levels and joins to the day rows then
    # need no shuffle of their own. (The labeler map's filter is pushed below the repartition, so
    # each aggregation spreads and shuffles the judgments once; they do not share one exchange.)
    exploded = task_judgments_df.select(
        "task_id", "labeler_id", "label", "has_label", "event_ts",
        _alive_days(F.col("event_date"), F.least(F.to_date("retire_at"), last)).alias("as_of_date"),
    ).repartition("task_id", "as_of_date")
    # Assignments, labels and label counts in one pass: count per (task, day, label or null for a
    # judgment without one), then gather (one aggregation and one join fewer than counting apart).
    labelled = F.col("_label").isNotNull()
    counts = (exploded.groupBy("task_id", "as_of_date", F.when(F.col("has_label"), F.col("label")).alias("_label"))
              .agg(F.count(F.lit(1)).alias("_n"))
              .groupBy("task_id", "as_of_date")
              .agg(F.sum("_n").alias("_new_assignments"),
                   F.coalesce(F.sum(F.when(labelled, F.col("_n"))), F.lit(0).cast("long")).alias("_new_labels"),
                   F.when(F.count_if(labelled) > 0,
                          F.map_from_entries(F.collect_list(F.when(labelled, F.struct("_label", "_n")))))
                   .alias("_new_counts")))
    by_labeler = (exploded.where("has_label").groupBy("task_id", "as_of_date", "labeler_id")
                  .agg(F.max_by("label", "event_ts").alias("_label"))
                  .groupBy("task_id", "as_of_date")
                  .agg(F.map_from_entries(F.collect_list(F.struct("labeler_id", "_label"))).alias("_new_labeler_labels")))
    keys = ["task_id", "as_of_date"]
    feature_ts = feature_ts_after(F.col("as_of_date"))
    completed = F.when(F.col("_completed_at") < F.col("feature_ts"), F.col("_completed_at"))
    hours = lambda later, earlier: (F.unix_micros(later) - F.unix_micros(earlier)) / F.lit(3.6e9)  # noqa: E731
    joined = (
        spine.join(counts, on=keys, how="left")
        .join(by_labeler, on=keys, how="left")
        # A few rows per queue and day: broadcast, or the wide day rows are shuffled and sorted again.
        .join(F.broadcast(handling_df), on=["queue", "modality", "as_of_date"], how="left")
        .select("*", feature_ts.alias("feature_ts"))
    )
    # Most task rows of a day got no new label: keep the anchor's maps as they are instead of
    # merging with nothing (map merges are higher-order functions, interpreted row by row).
    labels = F.when(F.col("_new_counts").isNull(),
                    F.coalesce("_prev_counts", F.create_map().cast("map<string,bigint>"))).otherwise(
        add_count_maps(F.col("_prev_counts"), F.col("_new_counts"), "string"))
    prev_ll, new_ll = F.col("_prev_labeler_labels"), F.col("_new_labeler_labels")
    # A labeler new to the task (the usual case) adds its entry: map_concat is compiled code,
    # map_zip_with is interpreted per entry; a labeler who judged the task again replaces its label.
    labeler_labels = (F.when(new_ll.isNull(), prev_ll)
                      .when(~F.arrays_overlap(F.map_keys(prev_ll), F.map_keys(new_ll)), F.map_concat(prev_ll, new_ll))
                      .otherwise(F.map_zip_with(prev_ll, new_ll, lambda _k, old, new: F.coalesce(new, old))))
    # The entropy of unchanged counts is the anchor's (new tasks have none yet).
    entropy = F.when(F.col("_new_counts").isNull(), F.col("_prev_entropy")).otherwise(label_entropy(labels))
    return joined.select(
        "task_id", "as_of_date", "feature_ts", "queue", "modality", "priority", "created_at", "deadline_at",
        "retire_at",
        (F.col("_prev_assignments") + F.coalesce("_new_assignments", F.lit(0))).alias("assignments_so_far"),
        (F.col("_prev_labels") + F.coalesce("_new_labels", F.lit(0))).alias("labels_so_far"),
        labels.alias("label_counts"),
        labeler_labels.alias("labeler_labels"),
        entropy.alias("disagreement_entropy"),
        hours(F.col("feature_ts"), F.col("created_at")).alias("age_hours"),
        hours(F.col("deadline_at"), F.col("feature_ts")).alias("sla_slack_hours"),
        "expected_handling_seconds",
        completed.alias("completed_at"),
        (completed.isNull() & (F.col("retire_at") >= F.col("feature_ts"))).alias("is_open"),
        (F.col("deadline_at") < F.col("feature_ts")).alias("is_past_deadline"),
    ).select(*TASK_FEATURES.columns)


def labels_known_at(anchor_tasks_df: DataFrame, anchor: date) -> DataFrame:
    """(task_id, labeler_id, label, known_date): the anchor's labels, for leave-one-out consensus."""
    return anchor_tasks_df.select(
        "task_id", F.explode("labeler_labels").alias("labeler_id", "label")
    ).withColumn("known_date", F.lit(anchor))


def task_modalities(universe_df: DataFrame) -> DataFrame:
    return universe_df.select("task_id", F.col("modality").alias("_task_modality"))
