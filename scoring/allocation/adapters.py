"""Build the allocation inputs (docs/allocation.md, "Inputs") from what the lake holds.

Silver alone is enough (the fallbacks below); the feature and confidence tables, when
they exist, replace the fallbacks column for column. Pure transformations: the job
reads the tables and hands them in.

Fallbacks from silver, and why they are reasonable:
* skill: gold judgments of the last ``SKILL_LOOKBACK_DAYS`` per (labeler, queue), Beta
  prior (mean ``SKILL_PRIOR_MEAN``, strength ``SKILL_PRIOR_STRENGTH``): posterior mean and
  a normal-approximation lower credible bound. Few gold answers -> wide bound -> the
  scorer's risk aversion discounts the labeler.
* handling time: median active seconds of submitted judgments, per (labeler, queue).
* task posterior: Dirichlet(1)-smoothed share of the majority label among the labels so
  far, (top votes + 1) / (labels + classes): 1/K with no labels, near 1 with many
  agreeing labels.
"""

from __future__ import annotations

from datetime import date, timedelta

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from scoring.allocation.candidates import default_handling_s, default_n_classes
from scoring.allocation.config import (
    DEFAULT_TARGET_LABELS,
    DEFAULT_WINDOW_HOURS,
    LOWER_BOUND_Z,
    MAX_LABELS_PER_TASK,
    OPEN_TASK_HORIZON_DAYS,
    PRODUCTIVE_SHARE,
    SKILL_LOOKBACK_DAYS,
    SKILL_PRIOR_MEAN,
    SKILL_PRIOR_STRENGTH,
)

SUBMITTED = "submitted"


def _date_between(column: str, start: date, end: date) -> Column:
    return (F.col(column) >= F.lit(start)) & (F.col(column) <= F.lit(end))


def target_labels_col(queue: Column) -> Column:
    mapping = F.create_map(*[x for q, n in DEFAULT_TARGET_LABELS.items() for x in (F.lit(q), F.lit(n))])
    return F.coalesce(mapping[queue], F.lit(3))


def labels_so_far(judgments_df: DataFrame, as_of: date, horizon_days: int = OPEN_TASK_HORIZON_DAYS) -> DataFrame:
    """(task_id, n_labels, top_votes): submitted labels with event_date <= as_of."""
    submitted = (judgments_df
                 .where(_date_between("event_date", as_of - timedelta(days=horizon_days), as_of))
                 .where((F.col("status") == SUBMITTED) & F.col("label").isNotNull()))
    votes = submitted.groupBy("task_id", "label").agg(F.count(F.lit(1)).alias("votes"))
    return votes.groupBy("task_id").agg(F.sum("votes").cast("int").alias("n_labels"),
                                        F.max("votes").cast("int").alias("top_votes"))


def already_judged(judgments_df: DataFrame, as_of: date,
                   horizon_days: int = OPEN_TASK_HORIZON_DAYS) -> DataFrame:
    """(task_id, labeler_id) of every past assignment outcome (submitted, skipped, expired,
    abandoned) up to ``as_of``: a labeler who already saw a task is not offered it again."""
    return (judgments_df
            .where(_date_between("event_date", as_of - timedelta(days=horizon_days), as_of))
            .select("task_id", "labeler_id").distinct())


def open_tasks(tasks_df: DataFrame, judgments_df: DataFrame, as_of: date,
               posteriors_df: DataFrame | None = None,
               horizon_days: int = OPEN_TASK_HORIZON_DAYS) -> DataFrame:
    """Tasks created in (as_of - horizon, as_of] with ``labels_needed`` > 0 (interface columns).

    Target: ``DEFAULT_TARGET_LABELS`` per queue. With a confidence table
    (``posteriors_df``: task_id, confidence, needs_more_labels), a task it covers needs
    max(target - n, 1) more labels if it says ``needs_more_labels`` (in parallel, for
    turnaround), else none (confident early: stop paying for labels), and never beyond its
    ``max_labels``; tasks it does not cover keep the static target. Never more than
    ``MAX_LABELS_PER_TASK`` labels in total."""
    tasks = tasks_df.where(_date_between("created_date", as_of - timedelta(days=horizon_days - 1), as_of))
    so_far = labels_so_far(judgments_df, as_of, horizon_days)
    k = F.coalesce(F.size("label_set"), default_n_classes(F.col("queue")))
    k = F.when(k > 1, k).otherwise(default_n_classes(F.col("queue")))
    n = F.coalesce(F.col("n_labels"), F.lit(0))
    vote_conf = (F.coalesce(F.col("top_votes"), F.lit(0)) + 1.0) / (n + k)
    target = target_labels_col(F.col("queue"))
    static_need = F.greatest(target - n, F.lit(0))
    df = tasks.join(so_far, on="task_id", how="left")
    if posteriors_df is not None:
        max_labels = (F.col("max_labels") if "max_labels" in posteriors_df.columns
                      else F.lit(None).cast("int"))
        post = posteriors_df.select("task_id", F.col("confidence").alias("post_confidence"),
                                    F.col("needs_more_labels").alias("post_needs_more"),
                                    max_labels.alias("post_max_labels"))
        df = df.join(post, on="task_id", how="left")
        has_post = F.col("post_needs_more").isNotNull()
        need = (F.when(has_post & F.col("post_needs_more"), F.greatest(target - n, F.lit(1)))
                .when(has_post, F.lit(0)).otherwise(static_need))
        # the confidence model's own cap on labels per task, where it gives one
        need = F.least(need, F.coalesce(F.col("post_max_labels") - n, need))
        confidence = F.coalesce(F.col("post_confidence"), vote_conf)
    else:
        need, confidence = static_need, vote_conf
    need = F.least(need, F.greatest(F.lit(MAX_LABELS_PER_TASK) - n, F.lit(0)))
    return (df
            .select("task_id", "queue", "language", "priority", "created_at", "deadline_at",
                    k.cast("int").alias("n_classes"),
                    need.cast("int").alias("labels_needed"),
                    n.cast("int").alias("n_labels"),
                    confidence.cast("double").alias("confidence"))
            .where(F.col("labels_needed") > 0))


def beta_skill_cols(correct: Column, trials: Column) -> tuple[Column, Column]:
    """Posterior mean and lower credible bound (normal approximation) under the Beta prior."""
    a = correct.cast("double") + F.lit(SKILL_PRIOR_MEAN * SKILL_PRIOR_STRENGTH)
    total = trials.cast("double") + F.lit(SKILL_PRIOR_STRENGTH)
    mean = a / total
    lower = mean - F.lit(LOWER_BOUND_Z) * F.sqrt(mean * (1 - mean) / (total + 1))
    return mean, F.greatest(lower, F.lit(0.0))


def skills_from_gold(judgments_df: DataFrame, as_of: date,
                     lookback_days: int = SKILL_LOOKBACK_DAYS) -> DataFrame:
    """Skill fallback from silver: (labeler_id, queue, skill_mean, skill_lower, skill_n, handling_s)."""
    recent = (judgments_df
              .where(_date_between("event_date", as_of - timedelta(days=lookback_days - 1), as_of))
              .where(F.col("status") == SUBMITTED))
    is_gold = F.col("is_gold") & F.col("label").isNotNull() & F.col("gold_label").isNotNull()
    agg = recent.groupBy("labeler_id", "queue").agg(
        F.sum(is_gold.cast("int")).alias("gold_n"),
        F.sum((is_gold & (F.col("label") == F.col("gold_label"))).cast("int")).alias("gold_correct"),
        F.percentile_approx("active_seconds", 0.5).alias("handling_s"),
    )
    mean, lower = beta_skill_cols(F.col("gold_correct"), F.col("gold_n"))
    return agg.select("labeler_id", "queue", mean.alias("skill_mean"), lower.alias("skill_lower"),
                      F.col("gold_n").cast("double").alias("skill_n"),
                      F.col("handling_s").cast("double").alias("handling_s"))


def latest_as_of(df: DataFrame, column: str, as_of: date) -> DataFrame:
    """Rows of the latest ``column`` date <= ``as_of`` (point in time: no peeking ahead)."""
    eligible = df.where(F.col(column) <= F.lit(as_of))
    latest = eligible.agg(F.max(column).alias("_latest"))
    return eligible.join(F.broadcast(latest), eligible[column] == latest["_latest"], "inner").drop("_latest")


def skills_from_features(labeler_queue_features_df: DataFrame, as_of: date) -> DataFrame:
    """Skill from the features table (features.labeler_queue_features, 28-day window)."""
    df = latest_as_of(labeler_queue_features_df, "as_of_date", as_of)
    return df.select(
        "labeler_id", "queue",
        F.col("gold_accuracy_28d").cast("double").alias("skill_mean"),
        F.col("gold_accuracy_lb_28d").cast("double").alias("skill_lower"),
        F.col("gold_n_28d").cast("double").alias("skill_n"),
        F.col("active_seconds_p50_28d").cast("double").alias("handling_s"),
    )


def labelers_from_roster(snapshots_df: DataFrame, skills_df: DataFrame, as_of: date,
                         window_hours: float = DEFAULT_WINDOW_HOURS) -> DataFrame:
    """Active labelers of the latest roster snapshot <= as_of, with window capacity:
    floor(min(shift_hours, window) * 3600 * PRODUCTIVE_SHARE / typical handling seconds),
    typical = mean over certified queues of the labeler's median handling (default by
    modality where it has no history)."""
    roster = latest_as_of(snapshots_df, "snapshot_date", as_of).where(F.col("status") == "active")
    per_queue = (roster.select("labeler_id", F.explode(F.array_distinct("certified_queues")).alias("queue"))
                 .join(skills_df.select("labeler_id", "queue", F.col("handling_s").alias("_h")),
                       on=["labeler_id", "queue"], how="left")
                 .groupBy("labeler_id")
                 .agg(F.avg(F.coalesce("_h", default_handling_s(F.col("queue")))).alias("handling_s")))
    seconds = F.least(F.col("shift_hours"), F.lit(float(window_hours))) * 3600.0 * PRODUCTIVE_SHARE
    return (roster.join(per_queue, on="labeler_id", how="left")
            .select("labeler_id", "languages", "certified_queues", "hourly_cost",
                    F.coalesce(F.floor(seconds / F.col("handling_s")), F.lit(0)).cast("int").alias("capacity"),
                    "handling_s"))


# Confidence models by preference: Dawid-Skene, its one-coin variant, then majority vote.
METHOD_PREFERENCE = ("ds", "ocds", "mv")


def preferred_method(df: DataFrame, keys: list[str], methods: tuple[str, ...] = METHOD_PREFERENCE) -> DataFrame:
    """One row per ``keys``: the row of the most preferred ``method`` present."""
    rank = F.array_position(F.array(*[F.lit(m) for m in methods]), F.col("method"))
    rank = F.when(rank > 0, rank).otherwise(F.lit(len(methods) + 1))
    w = Window.partitionBy(*keys).orderBy(rank, F.col("method"))
    return df.withColumn("_rn", F.row_number().over(w)).where("_rn = 1").drop("_rn")


def posteriors_as_of(task_posteriors_df: DataFrame, as_of: date) -> DataFrame:
    """(task_id, confidence, needs_more_labels, max_labels) from scoring.task_posteriors:
    the latest as_of_date <= as_of, preferred method per task."""
    df = latest_as_of(task_posteriors_df, "as_of_date", as_of)
    return preferred_method(df, ["task_id"]).select("task_id", "confidence", "needs_more_labels", "max_labels")


def skills_from_confusion(labeler_confusion_df: DataFrame, as_of: date) -> DataFrame:
    """Skill from the confidence model's per-labeler confusion (scoring.labeler_confusion):
    its prior-weighted accuracy, with a normal-approximation lower bound on n_judgments.
    Used when there are no skill features; no handling times in it (defaults apply)."""
    df = preferred_method(latest_as_of(labeler_confusion_df, "as_of_date", as_of), ["labeler_id", "queue"])
    acc = F.col("accuracy").cast("double")
    n = F.col("n_judgments").cast("double")
    lower = F.greatest(acc - F.lit(LOWER_BOUND_Z) * F.sqrt(acc * (1 - acc) / (n + 1)), F.lit(0.0))
    return df.select("labeler_id", "queue", acc.alias("skill_mean"), lower.alias("skill_lower"),
                     n.alias("skill_n"), F.lit(None).cast("double").alias("handling_s"))


def with_silver_handling(skills_df: DataFrame, judgments_df: DataFrame, as_of: date,
                         lookback_days: int = SKILL_LOOKBACK_DAYS) -> DataFrame:
    """Fills missing ``handling_s`` with the median active seconds from silver judgments."""
    recent = (judgments_df
              .where(_date_between("event_date", as_of - timedelta(days=lookback_days - 1), as_of))
              .where(F.col("status") == SUBMITTED)
              .groupBy("labeler_id", "queue")
              .agg(F.percentile_approx("active_seconds", 0.5).cast("double").alias("_silver_h")))
    return (skills_df.join(recent, on=["labeler_id", "queue"], how="left")
            .withColumn("handling_s", F.coalesce(F.col("handling_s"), F.col("_silver_h")))
            .drop("_silver_h"))
