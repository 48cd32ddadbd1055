"""Judgments -> additive daily measures per labeler x queue x day, and per labeler x day.

Everything a labeler window needs is a sum of these rows (or a merge of their sketches),
so the window tables never re-read judgments.

Agreement is leave-one-out: a submitted label is compared with the majority label of the
*other* labelers' labels on the same task that were submitted by the end of the same day
(earlier days come from the task table, the rest from the day's judgments). If k labels tie
for the majority and the labeler's label is one of them, the credit is 1/k (the expected
value of a random tie-break); it is 0 otherwise. Judgments with fewer than
``consensus_min_others`` other labels have no consensus and are not counted.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from features.sketch import SketchSpec, merge_count_maps_agg, sketch_by
from schemas.features import SUM_MEASURE_NAMES

GOLD_PAIR_SEPARATOR = "|"  # label sets are pipe-separated in exports, so no label contains it


def feature_ts_after(day: Column) -> Column:
    """The event time of a row built from a day's events: the next midnight (UTC)."""
    return F.date_add(day, 1).cast("timestamp")


def with_judgment_flags(judgments_df: DataFrame) -> DataFrame:
    """Boolean facts per judgment; null inputs give False (never null)."""
    status = F.coalesce(F.col("status"), F.lit(""))
    has_label = (status == "submitted") & F.col("label").isNotNull()
    gold_scored = has_label & F.coalesce(F.col("is_gold"), F.lit(False)) & F.col("gold_label").isNotNull()
    reviewed = has_label & F.col("review_label").isNotNull()
    return (
        judgments_df
        .withColumn("is_submitted", status == "submitted")
        .withColumn("has_label", has_label)
        .withColumn("is_gold_scored", gold_scored)
        .withColumn("is_gold_correct", gold_scored & (F.col("label") == F.col("gold_label")))
        .withColumn("is_reviewed", reviewed)
        .withColumn("is_overturned", reviewed & (F.col("review_label") != F.col("label")))
        .withColumn("is_accepted", has_label
                    & ~(F.col("is_overturned"))
                    & ~(F.col("is_gold_scored") & ~F.col("is_gold_correct")))
    )


def consensus_candidates(flagged_df: DataFrame, prior_labels_df: DataFrame | None) -> DataFrame:
    """Labels other judgments can be compared with: (task_id, other_labeler_id, other_label, known_date).

    ``prior_labels_df`` (task_id, labeler_id, label, known_date) holds labels from before the
    rebuilt range (from the task table); the range's own labels are known from their event day."""
    own = flagged_df.where("has_label").select(
        "task_id", F.col("labeler_id").alias("other_labeler_id"), F.col("label").alias("other_label"),
        F.col("event_date").alias("known_date"))
    if prior_labels_df is None:
        return own
    prior = prior_labels_df.select(
        "task_id", F.col("labeler_id").alias("other_labeler_id"), F.col("label").alias("other_label"),
        F.col("known_date"))
    return own.unionByName(prior)


def with_consensus_agreement(flagged_df: DataFrame, candidates_df: DataFrame, min_others: int) -> DataFrame:
    """Adds ``has_consensus`` and ``agreement_credit`` (null without consensus)."""
    mine = flagged_df.where("has_label").select("judgment_id", "task_id", "labeler_id", "label", "event_date")
    # Both sides come from the same judgments: rename, or Spark sees a trivially true self-join.
    others = candidates_df.select(F.col("task_id").alias("_other_task_id"), "other_labeler_id", "other_label",
                                  "known_date")
    pairs = mine.join(
        others,
        on=(F.col("task_id") == F.col("_other_task_id"))
        & (F.col("other_labeler_id") != F.col("labeler_id"))
        & (F.col("known_date") <= F.col("event_date")),
        how="inner",
    )
    per_label = pairs.groupBy("judgment_id", "label", "other_label").agg(F.count(F.lit(1)).alias("_n"))
    per_judgment = per_label.groupBy("judgment_id").agg(
        F.sum("_n").alias("_others"),
        F.max("_n").alias("_top"),
        F.map_from_entries(F.collect_list(F.struct("other_label", "_n"))).alias("_counts"),
        F.first("label").alias("_label"),
    )
    tied = F.size(F.filter(F.map_values(F.col("_counts")), lambda n: n == F.col("_top")))
    own = F.coalesce(F.try_element_at(F.col("_counts"), F.col("_label")), F.lit(0))
    scored = per_judgment.select(
        "judgment_id",
        (F.col("_others") >= min_others).alias("_has"),
        F.when(own == F.col("_top"), F.lit(1.0) / tied).otherwise(F.lit(0.0)).alias("_credit"),
    )
    return (
        flagged_df.join(scored, on="judgment_id", how="left")
        .withColumn("has_consensus", F.coalesce(F.col("_has"), F.lit(False)))
        .withColumn("agreement_credit", F.when(F.col("has_consensus"), F.col("_credit")))
        .drop("_has", "_credit")
    )


def _measures() -> list[Column]:
    active = F.greatest(F.coalesce(F.col("active_seconds"), F.lit(0.0)), F.lit(0.0))
    status = F.col("status")
    return [
        F.count(F.lit(1)).alias("assignments"),
        F.count_if(F.col("is_submitted")).alias("judgments"),
        F.count_if(status == "skipped").alias("skipped_n"),
        F.count_if(status == "expired").alias("expired_n"),
        F.count_if(status == "abandoned").alias("abandoned_n"),
        F.count_if(F.col("is_gold_scored")).alias("gold_n"),
        F.count_if(F.col("is_gold_correct")).alias("gold_correct"),
        F.count_if(F.col("is_reviewed")).alias("reviewed_n"),
        F.count_if(F.col("is_overturned")).alias("overturned_n"),
        F.count_if(F.col("has_consensus")).alias("agreement_n"),
        F.coalesce(F.sum("agreement_credit"), F.lit(0.0)).cast("double").alias("agreement_credit"),
        F.sum(active).cast("double").alias("active_seconds"),
        F.count_if(F.col("is_accepted")).alias("accepted_n"),
    ]


def labeler_queue_daily(scored_df: DataFrame, roster_df: DataFrame, spec: SketchSpec) -> DataFrame:
    """Per (labeler_id, queue, event_date): the measures of ``schemas.features.SUM_MEASURES``,
    the day's hourly cost, an active-seconds sketch of submitted judgments and gold
    confusion counts keyed ``"gold|given"``.

    ``scored_df``: judgments with flags and agreement; ``roster_df``: ``roster_by_day`` output."""
    keys = ["labeler_id", "queue", "event_date"]
    measures = scored_df.groupBy(*keys).agg(*_measures())
    sketches = sketch_by(scored_df.where("is_submitted"), keys, "active_seconds", "active_seconds_sketch", spec)
    pairs = (
        scored_df.where("is_gold_scored")
        .withColumn("_pair", F.concat_ws(GOLD_PAIR_SEPARATOR, "gold_label", "label"))
        .groupBy(*keys, "_pair").agg(F.count(F.lit(1)).alias("_n"))
        .groupBy(*keys).agg(F.map_from_entries(F.collect_list(F.struct("_pair", "_n"))).alias("gold_confusion_counts"))
    )
    cost = roster_df.select("labeler_id", F.col("day").alias("event_date"), "hourly_cost")
    return (
        measures.join(sketches, on=keys, how="left")
        .join(pairs, on=keys, how="left")
        .join(cost, on=["labeler_id", "event_date"], how="left")
        .withColumn("labor_cost", F.col("active_seconds") / F.lit(3600.0) * F.col("hourly_cost"))
        .withColumn("active_seconds_sketch",
                    F.coalesce("active_seconds_sketch", F.create_map().cast("map<int,bigint>")))
        .withColumn("gold_confusion_counts",
                    F.coalesce("gold_confusion_counts", F.create_map().cast("map<string,bigint>")))
        .withColumn("feature_ts", feature_ts_after(F.col("event_date")))
        .select(*keys, "feature_ts", *SUM_MEASURE_NAMES, "hourly_cost", "active_seconds_sketch",
                "gold_confusion_counts")
    )


def labeler_daily(labeler_queue_daily_df: DataFrame) -> DataFrame:
    """Per (labeler_id, event_date): the labeler x queue rows summed over queues."""
    sums = [F.sum(m).alias(m) for m in SUM_MEASURE_NAMES if m != "labor_cost"]
    return (
        labeler_queue_daily_df.groupBy("labeler_id", "event_date")
        .agg(*sums,
             F.sum("labor_cost").alias("labor_cost"),
             F.count(F.lit(1)).cast("int").alias("queues_n"),
             merge_count_maps_agg(F.col("active_seconds_sketch")).alias("active_seconds_sketch"))
        .withColumn("feature_ts", feature_ts_after(F.col("event_date")))
        .select("labeler_id", "event_date", "feature_ts", *SUM_MEASURE_NAMES, "queues_n", "active_seconds_sketch")
    )
