"""Window features as of each day, computed from daily aggregates only.

For an as-of day ``a`` a window of n days covers event days (a-n, a]. The 1/7/28-day
windows are sums (and sketch merges) of at most 28 daily rows per entity, whatever the
history length. All-time sums and the exponentially weighted gold counts are carried
forward from the previous published as-of day (the *anchor*):

    all(a) = all(anchor) + sum of daily rows in (anchor, a]
    ew(a)  = 0.5^((a - anchor)/h) * ew(anchor) + sum over d in (anchor, a] of 0.5^((a - d)/h) * daily(d)

so one run can rebuild a whole range of as-of days (late data, backfills) in one pass, and
building day N reads the anchor's rows plus 28 days of daily aggregates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from features.config import MAX_WINDOW_DAYS, WINDOW_DAYS, FeatureParams
from features.confusion import balanced_accuracy, smoothed_confusion
from features.labeler_daily import feature_ts_after
from features.sketch import SketchSpec, empty_count_map, merge_count_maps, sketch_quantiles
from features.stats import beta_lower_bound, beta_posterior_mean, decay_weight, safe_ratio
from schemas.features import (
    ALL_TIME,
    LABELER_FEATURES,
    LABELER_QUEUE_FEATURES,
    SUM_MEASURE_NAMES,
    WINDOW_SUFFIXES,
    WINDOWS,
)

NULLABLE_MEASURES = ("labor_cost",)  # unknown without a roster snapshot: null, never 0
CARRY_COLUMNS = (*[f"{m}_{ALL_TIME}" for m in SUM_MEASURE_NAMES], f"active_days_{ALL_TIME}",
                 "ew_gold_n", "ew_gold_correct")


def _days_between(later: Column, earlier: Column) -> Column:
    return F.datediff(later, earlier)


# As-of days are planned in blocks of at most this many consecutive days (see ``window_sums``).
MERGE_BLOCK_DAYS = 7
# Blocks pay where many as-of days share deep windows: a backfill's window sums 2x faster over
# 12-30 as-of days on 90 days of history. A daily run's 1-3 as-of days save a few merges and pay
# a second aggregation and a join: its whole build was 3-9 % slower with blocks, on the demo's
# day 7 and with full 28-day windows (docs/features.md, "Window merges in blocks").
MIN_BLOCK_AS_OF_DAYS = 4


def as_of_blocks(days: Sequence[date], size: int = MERGE_BLOCK_DAYS) -> list[tuple[date, date]]:
    """(first, last) of consecutive chunks of at most ``size`` of the sorted as-of days."""
    ordered = sorted(set(days))
    return [(chunk[0], chunk[-1]) for chunk in (ordered[i:i + size] for i in range(0, len(ordered), size))]


def merges_in_blocks(n_as_of_days: int) -> bool:
    """Whether ``window_sums`` merges a run's window maps in blocks (else one merge per as-of day)."""
    return n_as_of_days >= MIN_BLOCK_AS_OF_DAYS


def window_sums(daily_df: DataFrame, as_of_df: DataFrame, keys: Sequence[str], anchor: date,
                params: FeatureParams, *, with_confusion: bool = False,
                as_of_days: Sequence[date] | None = None) -> DataFrame:
    """Per (keys, as_of_date): 1/7/28-day sums, active days and merged sketches, plus the sums
    over (anchor, as_of_date] that the all-time and EW carry add to the anchor's values.

    ``daily_df``: a daily aggregates table (keys, event_date, measures, active_seconds_sketch
    [, gold_confusion_counts]) holding at least event days (first as-of - 28, last as-of].
    ``as_of_days``: the days of ``as_of_df`` (collected from it when not given).

    Sums are linear aggregations; sketch and confusion maps are merged by interpreted
    higher-order functions, the build's costliest step. With ``MIN_BLOCK_AS_OF_DAYS`` or more
    as-of days the maps of a window are merged in two parts: the *core* of a block of as-of days
    [f, l] - event days (l - n, f], inside the n-day window of every as-of day of the block -
    once per entity and block, and the few days outside it once per as-of day: for a 30-day
    backfill ~22 + 7 x 7 merges of 28-day maps per entity and block of 7 instead of 7 x 28
    (docs/features.md, "Window merges in blocks"). Both ways give the same maps."""
    a, d = F.col("as_of_date"), F.col("event_date")
    days = list(as_of_days) if as_of_days is not None else [r[0] for r in as_of_df.select("as_of_date").collect()]
    merged_windows = {s: n for s, n in WINDOW_DAYS.items() if n > 1}
    maps = [("active_seconds_sketch", s, n, "int") for s, n in merged_windows.items()]
    if with_confusion:
        maps.append(("gold_confusion_counts", "28d", WINDOW_DAYS["28d"], "string"))
    blocked = merges_in_blocks(len(set(days)))
    if blocked:
        blocks = daily_df.sparkSession.createDataFrame(as_of_blocks(days), "_blk_first date, _blk_last date")
        first, last = F.col("_blk_first"), F.col("_blk_last")
        as_of_df = as_of_df.join(F.broadcast(blocks), on=a.between(first, last), how="inner")

        def in_core(n: int) -> Column:
            return (d <= first) & (d > F.date_sub(last, n))

        core = (daily_df.join(F.broadcast(blocks), on=(d <= first) & (d > F.date_sub(last, MAX_WINDOW_DAYS)),
                              how="inner")
                .groupBy(*keys, "_blk_first")
                .agg(*[F.collect_list(F.when(in_core(n), F.col(m))).alias(f"_core_{m}_{s}") for m, s, n, _ in maps]))

    joined = daily_df.join(
        as_of_df,
        on=(d <= a) & ((d > F.date_sub(a, MAX_WINDOW_DAYS)) | (d > F.lit(anchor))),
        how="inner",
    )
    since = d > F.lit(anchor)
    weight = decay_weight(_days_between(a, d), params.ew_half_life_days)
    aggs: list[Column] = []
    for suffix, n in WINDOW_DAYS.items():
        inside = d > F.date_sub(a, n)
        aggs += [F.sum(F.when(inside, F.col(m))).alias(f"{m}_{suffix}") for m in SUM_MEASURE_NAMES]
        aggs.append(F.count(F.when(inside, F.lit(1))).alias(f"active_days_{suffix}"))
        if suffix not in merged_windows:  # the as-of day's own sketch: nothing to merge
            aggs.append(F.first(F.when(inside, F.col("active_seconds_sketch")), ignorenulls=True)
                        .alias(f"active_seconds_sketch_{suffix}"))
    for m, s, n, kt in maps:
        inside = d > F.date_sub(a, n)
        if blocked:  # the days outside the block's core
            aggs.append(F.collect_list(F.when(inside & ~in_core(n), F.col(m))).alias(f"_rest_{m}_{s}"))
        else:  # output columns active_seconds_sketch_7d, ..., gold_confusion_counts_28d
            aggs.append(merge_count_maps(F.collect_list(F.when(inside, F.col(m))), kt).alias(f"{m}_{s}"))
    aggs += [F.sum(F.when(since, F.col(m))).alias(f"{m}_since") for m in SUM_MEASURE_NAMES]
    aggs.append(F.count(F.when(since, F.lit(1))).alias("active_days_since"))
    aggs.append(F.sum(F.when(since, F.col("gold_n") * weight)).alias("ew_gold_n_since"))
    aggs.append(F.sum(F.when(since, F.col("gold_correct") * weight)).alias("ew_gold_correct_since"))
    if not blocked:
        return joined.groupBy(*keys, "as_of_date").agg(*aggs)
    sums = joined.groupBy(*keys, "as_of_date", "_blk_first").agg(*aggs)
    # Merge each block's core once, then add it to every as-of day's rest.
    core_merged = core.select(*keys, "_blk_first", *[merge_count_maps(F.col(f"_core_{m}_{s}"), kt)
                                                   .alias(f"_core_{m}_{s}") for m, s, _, kt in maps])
    with_core = sums.join(core_merged, on=[*keys, "_blk_first"], how="left")
    merged = [
        merge_count_maps(F.concat(F.array(F.col(f"_core_{m}_{s}")), F.col(f"_rest_{m}_{s}")), kt).alias(f"{m}_{s}")
        for m, s, _, kt in maps
    ]
    drop = {"_blk_first", *[f"_core_{m}_{s}" for m, s, _, _ in maps], *[f"_rest_{m}_{s}" for m, s, _, _ in maps]}
    return with_core.select(*[c for c in sums.columns if c not in drop], *merged)


def _add(prev: Column, new: Column, nullable: bool) -> Column:
    total = F.coalesce(prev, F.lit(0)) + F.coalesce(new, F.lit(0))
    return F.when(prev.isNull() & new.isNull(), F.lit(None)).otherwise(total) if nullable else total


def with_carry(sums_df: DataFrame, anchor_df: DataFrame | None, keys: Sequence[str], as_of_df: DataFrame,
               anchor: date, params: FeatureParams) -> DataFrame:
    """Window sums completed with all-time and EW values carried from the anchor's feature rows.

    Every entity of the anchor gets a row for every as-of day (its windows may be empty), so a
    labeler who stopped working keeps a current all-time history. One projection (no chain of
    ``withColumn``: ~100 columns would make plan analysis quadratic)."""
    keys = list(keys)
    if anchor_df is not None:
        prev = anchor_df.select(*keys, *[F.col(c).alias(f"_prev_{c}") for c in CARRY_COLUMNS])
        df = prev.crossJoin(as_of_df).join(sums_df, on=[*keys, "as_of_date"], how="full_outer")
    else:
        df = sums_df.select("*", *[F.lit(None).cast("double" if c.startswith("ew_") else "long").alias(f"_prev_{c}")
                                   for c in CARRY_COLUMNS])
    out: list[Column] = [F.col(k) for k in keys] + [F.col("as_of_date")]
    for suffix in WINDOWS:
        for m in SUM_MEASURE_NAMES:
            col = F.col(f"{m}_{suffix}")
            out.append((col if m in NULLABLE_MEASURES else F.coalesce(col, F.lit(0))).alias(f"{m}_{suffix}"))
        out.append(F.coalesce(F.col(f"active_days_{suffix}"), F.lit(0)).alias(f"active_days_{suffix}"))
        out.append(F.coalesce(F.col(f"active_seconds_sketch_{suffix}"), empty_count_map())
                   .alias(f"active_seconds_sketch_{suffix}"))
    for m in SUM_MEASURE_NAMES:
        out.append(_add(F.col(f"_prev_{m}_{ALL_TIME}"), F.col(f"{m}_since"), m in NULLABLE_MEASURES)
                   .alias(f"{m}_{ALL_TIME}"))
    out.append(_add(F.col(f"_prev_active_days_{ALL_TIME}"), F.col("active_days_since"), False)
               .alias(f"active_days_{ALL_TIME}"))
    decay = decay_weight(_days_between(F.col("as_of_date"), F.lit(anchor)), params.ew_half_life_days)
    for c in ("ew_gold_n", "ew_gold_correct"):
        out.append((F.coalesce(F.col(f"_prev_{c}"), F.lit(0.0)) * decay
                    + F.coalesce(F.col(f"{c}_since"), F.lit(0.0))).alias(c))
    if "gold_confusion_counts_28d" in sums_df.columns:
        out.append(F.coalesce(F.col("gold_confusion_counts_28d"), empty_count_map("string"))
                   .alias("gold_confusion_counts_28d"))
    return df.select(*out)


def _laplace(correct: Column, n: Column) -> Column:
    return (correct.cast("double") + F.lit(1.0)) / (n.cast("double") + F.lit(2.0))


def queue_gold_priors(labeler_queue_df: DataFrame) -> DataFrame:
    """Per (queue, as_of_date): the pooled gold accuracy of all labelers, add-one smoothed, for
    every window (``_prior_<suffix>``) and for the EW counts (``_prior_ew``), plus the pooled
    28-day gold confusion counts."""
    aggs = []
    for suffix in WINDOW_SUFFIXES:
        aggs.append(_laplace(F.sum(f"gold_correct_{suffix}"), F.sum(f"gold_n_{suffix}")).alias(f"_prior_{suffix}"))
    aggs.append(_laplace(F.sum("ew_gold_correct"), F.sum("ew_gold_n")).alias("_prior_ew"))
    aggs.append(merge_count_maps(F.collect_list("gold_confusion_counts_28d"), "string").alias("_pooled_confusion_28d"))
    return labeler_queue_df.groupBy("queue", "as_of_date").agg(*aggs)


_QUANTILES = "_active_seconds_quantiles_"


def with_sketch_quantiles(df: DataFrame, params: FeatureParams) -> DataFrame:
    """Adds, per window, a struct of the p50 and p90 of its active-seconds sketch (one fold for
    both) for ``window_rate_columns``. A projection of its own, read by the next one."""
    spec = SketchSpec(params.sketch_relative_accuracy, params.sketch_min_value)
    return df.select("*", *[sketch_quantiles(F.col(f"active_seconds_sketch_{s}"), (0.5, 0.9), spec)
                            .alias(f"{_QUANTILES}{s}") for s in WINDOW_SUFFIXES if s != ALL_TIME])


def window_rate_columns(params: FeatureParams) -> list[Column]:
    """Rates, ratios and quantiles of every window from its sums; gold priors from ``_prior_<suffix>``;
    quantiles from the structs of ``with_sketch_quantiles``."""
    k = params.gold_prior_strength
    out: list[Column] = []
    for s in WINDOW_SUFFIXES:
        c = lambda name, s=s: F.col(f"{name}_{s}")  # noqa: E731
        prior = F.col(f"_prior_{s}")
        out += [
            beta_posterior_mean(c("gold_correct"), c("gold_n"), prior, k).alias(f"gold_accuracy_{s}"),
            beta_lower_bound(c("gold_correct"), c("gold_n"), prior, k, params.credible_quantile)
            .alias(f"gold_accuracy_lb_{s}"),
            safe_ratio(c("agreement_credit"), c("agreement_n")).alias(f"agreement_rate_{s}"),
            safe_ratio(c("overturned_n"), c("reviewed_n")).alias(f"overturn_rate_{s}"),
            safe_ratio(c("skipped_n"), c("assignments")).alias(f"skip_rate_{s}"),
            safe_ratio(c("expired_n"), c("assignments")).alias(f"expiry_rate_{s}"),
            safe_ratio(c("abandoned_n"), c("assignments")).alias(f"abandon_rate_{s}"),
            safe_ratio(c("judgments"), c("active_seconds") / F.lit(3600.0)).alias(f"throughput_per_active_hour_{s}"),
            safe_ratio(c("labor_cost"), c("accepted_n")).alias(f"cost_per_accepted_label_{s}"),
        ]
        if s != ALL_TIME:  # from with_sketch_quantiles
            out += [F.col(f"{_QUANTILES}{s}.q0").alias(f"active_seconds_p50_{s}"),
                    F.col(f"{_QUANTILES}{s}.q1").alias(f"active_seconds_p90_{s}")]
    out.append(beta_posterior_mean(F.col("ew_gold_correct"), F.col("ew_gold_n"), F.col("_prior_ew"), k)
               .alias("ew_gold_accuracy"))
    return out


def labeler_queue_features(lq_carried_df: DataFrame, queue_priors_df: DataFrame,
                           params: FeatureParams) -> DataFrame:
    """Final labeler x queue rows: queue priors joined, rates, smoothed confusion, contract columns.

    ``queue_priors_df``: ``queue_gold_priors(lq_carried_df)``, a few rows per queue and day, broadcast
    (a materialised step's size is unknown to the planner, which would shuffle the wide rows to it)."""
    confusion = smoothed_confusion(F.col("gold_confusion_counts_28d"), F.col("_pooled_confusion_28d"),
                                   F.col("queue"), params.confusion_prior_strength)
    return (
        with_sketch_quantiles(lq_carried_df.join(F.broadcast(queue_priors_df), on=["queue", "as_of_date"], how="left"),
                              params)
        .select("*", *window_rate_columns(params), confusion.alias("gold_confusion_28d"),
                feature_ts_after(F.col("as_of_date")).alias("feature_ts"))
        .select("*", balanced_accuracy(F.col("gold_confusion_28d"), F.col("queue")).alias("gold_balanced_accuracy_28d"))
        .select(*LABELER_QUEUE_FEATURES.columns)
    )


def labeler_priors(lq_features_df: DataFrame, queue_priors_df: DataFrame) -> DataFrame:
    """Per (labeler_id, as_of_date): the labeler's gold prior mean for each window, mixing the
    queue priors by where the labeler's gold came from (else by assignments, else all queues),
    and the gold-weighted balanced accuracy over queues."""
    lq = lq_features_df.join(F.broadcast(queue_priors_df), on=["queue", "as_of_date"], how="left")
    aggs = []
    for s in WINDOW_SUFFIXES:
        prior, gold, work = F.col(f"_prior_{s}"), F.col(f"gold_n_{s}"), F.col(f"assignments_{s}")
        aggs.append(F.coalesce(
            F.try_divide(F.sum(gold * prior), F.sum(gold).cast("double")),
            F.try_divide(F.sum(work * prior), F.sum(work).cast("double")),
            F.avg(prior),
        ).alias(f"_prior_{s}"))
    ew_n, ew_prior = F.col("ew_gold_n"), F.col("_prior_ew")
    aggs.append(F.coalesce(F.try_divide(F.sum(ew_n * ew_prior), F.sum(ew_n)), F.avg(ew_prior)).alias("_prior_ew"))
    bal, gold28, work28 = F.col("gold_balanced_accuracy_28d"), F.col("gold_n_28d"), F.col("assignments_28d")
    aggs.append(F.coalesce(
        F.try_divide(F.sum(F.when(bal.isNotNull(), gold28 * bal)), F.sum(F.when(bal.isNotNull(), gold28)).cast("double")),
        F.try_divide(F.sum(F.when(bal.isNotNull(), work28 * bal)), F.sum(F.when(bal.isNotNull(), work28)).cast("double")),
    ).alias("gold_balanced_accuracy_28d"))
    aggs.append(F.count_if(work28 > 0).cast("int").alias("queues_28d"))
    return lq.groupBy("labeler_id", "as_of_date").agg(*aggs)


def labeler_features(labeler_carried_df: DataFrame, lq_features_df: DataFrame, queue_priors_df: DataFrame,
                     roster_df: DataFrame, params: FeatureParams) -> DataFrame:
    """Final labeler rows: windows from labeler_daily, priors and balanced accuracy from the
    labeler x queue rows, tenure from the roster known on the as-of day (``roster_by_day``)."""
    priors = labeler_priors(lq_features_df, queue_priors_df)
    tenure = roster_df.select("labeler_id", F.col("day").alias("as_of_date"),
                              F.datediff(F.col("day"), F.col("hired_at")).cast("int").alias("tenure_days"))
    return (
        with_sketch_quantiles(labeler_carried_df.join(priors, on=["labeler_id", "as_of_date"], how="left")
                              .join(tenure, on=["labeler_id", "as_of_date"], how="left"), params)
        .select("*", *window_rate_columns(params), feature_ts_after(F.col("as_of_date")).alias("feature_ts"))
        .withColumn("queues_28d", F.coalesce(F.col("queues_28d"), F.lit(0)))
        .select(*LABELER_FEATURES.columns)
    )
