"""Which judgments the confidence models see: Spark transformations (pure, chispa-tested)."""

from __future__ import annotations

from datetime import date, timedelta

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

MODEL_INPUT_COLUMNS = ("task_id", "labeler_id", "queue", "label", "gold_label")


def filter_window(judgments_df: DataFrame, end: date, days: int) -> DataFrame:
    """Judgments with event_date in [end - days + 1, end]; ``days <= 0`` keeps all history up to end."""
    cond = F.col("event_date") <= F.lit(end)
    if days > 0:
        cond = cond & (F.col("event_date") >= F.lit(end - timedelta(days=days - 1)))
    return judgments_df.where(cond)


def filter_submitted_labels(judgments_df: DataFrame) -> DataFrame:
    """Judgments that carry an answer: submitted, with a non-empty label."""
    return judgments_df.where((F.col("status") == F.lit("submitted")) & F.col("label").isNotNull()
                              & (F.trim(F.col("label")) != F.lit("")))


def latest_per_labeler_and_task(judgments_df: DataFrame) -> DataFrame:
    """One answer per (queue, task, labeler): the latest submission. Dawid-Skene treats answers as
    independent evidence, so a labeler answering a task twice must not count twice."""
    w = (Window.partitionBy("queue", "task_id", "labeler_id")
         .orderBy(F.col("submitted_at").desc_nulls_last(), F.col("judgment_id").desc()))
    return judgments_df.withColumn("_rn", F.row_number().over(w)).where(F.col("_rn") == 1).drop("_rn")


def with_task_gold(judgments_df: DataFrame) -> DataFrame:
    """``gold_label`` on every judgment of a gold task (the task's largest non-null gold label),
    null elsewhere, so that a task's gold does not depend on which row carried it."""
    w = Window.partitionBy("queue", "task_id")
    gold = F.when(F.col("is_gold"), F.col("gold_label"))
    return judgments_df.withColumn("gold_label", F.max(gold).over(w))


def model_input(judgments_df: DataFrame, end: date, window_days: int) -> DataFrame:
    """silver.judgments -> (task_id, labeler_id, queue, label, gold_label) for the models."""
    return (judgments_df
            .transform(filter_window, end, window_days)
            .transform(filter_submitted_labels)
            .transform(latest_per_labeler_and_task)
            .transform(with_task_gold)
            .select(*MODEL_INPUT_COLUMNS))
