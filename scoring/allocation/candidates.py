"""Candidate (task, labeler) pairs: eligibility, and a bound so the cross product never explodes.

Input interface (documented in docs/allocation.md, "Inputs"); every function here is a
pure DataFrame transformation.

Bound: inside a (queue, language) group of L labelers and T open tasks, labelers are
ranked by a cheap prefilter (lower credible bound of accuracy on the queue) and dealt
round-robin into B = ceil(L / top_k) buckets, so every bucket holds at most ``top_k``
labelers spread over the whole skill range; each task is hashed into one bucket. A task
is therefore paired with at most ``top_k`` labelers and the group yields at most
T * min(L, top_k) pairs, instead of T * L: every labeler still sees about T * top_k / L
tasks, so nobody's capacity is cut off by the bound (a plain "global top-K by skill"
would hand every task of a group the same K labelers and starve the rest).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from schemas.reference import QUEUES
from scoring.allocation.config import (
    DEFAULT_HANDLING_S,
    LOWER_BOUND_Z,
    QUEUE_INDEX,
    SKILL_PRIOR_MEAN,
    SKILL_PRIOR_STRENGTH,
    TOP_K,
)

if TYPE_CHECKING:
    from scoring.allocation.coded import EntityCodes

OPEN_TASK_COLUMNS = ("task_id", "queue", "language", "priority", "deadline_at", "n_classes",
                     "labels_needed", "n_labels", "confidence")
LABELER_COLUMNS = ("labeler_id", "languages", "certified_queues", "hourly_cost", "capacity",
                   "handling_s")
SKILL_COLUMNS = ("labeler_id", "queue", "skill_mean", "skill_lower", "skill_n", "handling_s")
JUDGED_COLUMNS = ("task_id", "labeler_id")

PAIR_COLUMNS = (
    "queue", "language", "task_id", "labeler_id", "queue_idx", "skill_mean", "skill_lower",
    "confidence", "n_classes", "handling_s", "hourly_cost", "slack_h", "priority", "load_ratio",
    "deadline_at", "labels_needed", "n_labels", "capacity", "task_degree",
)
# With entity codes the ten scoring inputs stay in the codes (``coded.EntityCodes``): a pair
# carries what matching and the plan need, and the two codes the scorer gathers with.
CODED_PAIR_COLUMNS = (
    "queue", "task_id", "labeler_id", "t_code", "l_code", "priority", "deadline_at",
    "labels_needed", "capacity", "task_degree",
)

# Salt for the task -> bucket hash, so buckets do not correlate with other hashes of task_id.
_BUCKET_SALT = "alloc-bucket"


def require_columns(df: DataFrame, columns: tuple[str, ...], what: str) -> None:
    """Fail loudly, naming the interface, when an input lacks a column."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks columns {missing} (has {df.columns}); "
                         "see docs/allocation.md, 'Inputs'")


def queue_idx_col(queue: Column) -> Column:
    """Position of the queue in config.QUEUE_ORDER (null for an unknown queue)."""
    mapping = F.create_map(*[x for q, i in QUEUE_INDEX.items() for x in (F.lit(q), F.lit(i))])
    return mapping[queue]


def _by_queue(values: dict[str, float], queue: Column) -> Column:
    mapping = F.create_map(*[x for q, v in values.items() for x in (F.lit(q), F.lit(float(v)))])
    return mapping[queue]


def default_handling_s(queue: Column) -> Column:
    """Median handling seconds of the queue's modality: used when a labeler has no history."""
    return _by_queue({q: DEFAULT_HANDLING_S[spec.modality] for q, spec in QUEUES.items()}, queue)


def default_n_classes(queue: Column) -> Column:
    return _by_queue({q: len(spec.labels) for q, spec in QUEUES.items()}, queue).cast("int")


def prior_skill_lower() -> float:
    """Lower bound of the Beta prior alone (a labeler with no gold history on the queue)."""
    m, n = SKILL_PRIOR_MEAN, SKILL_PRIOR_STRENGTH
    return m - LOWER_BOUND_Z * (m * (1 - m) / (n + 1)) ** 0.5


def filter_servable_tasks(open_tasks_df: DataFrame) -> DataFrame:
    """Tasks that still need labels, with null-safe defaults for the scoring inputs."""
    require_columns(open_tasks_df, OPEN_TASK_COLUMNS, "open_tasks_df")
    k = F.coalesce(F.col("n_classes"), default_n_classes(F.col("queue")), F.lit(2))
    return (
        open_tasks_df
        .where(F.col("labels_needed") > 0)
        .where(F.col("task_id").isNotNull() & F.col("queue").isNotNull() & F.col("language").isNotNull())
        .select(
            "task_id", "queue", "language", "deadline_at",
            F.coalesce(F.col("priority"), F.lit(3)).cast("int").alias("priority"),
            k.cast("int").alias("n_classes"),
            F.col("labels_needed").cast("int").alias("labels_needed"),
            F.coalesce(F.col("n_labels"), F.lit(0)).cast("int").alias("n_labels"),
            # no posterior yet = uniform over the classes
            F.coalesce(F.col("confidence"), F.lit(1.0) / k).cast("double").alias("confidence"),
        )
    )


def task_rows(open_tasks_df: DataFrame, window_start: datetime) -> DataFrame:
    """Servable tasks with their task-level scoring inputs (slack_h, queue_idx added)."""
    window_start_ts = F.lit(window_start).cast("timestamp")
    slack_h = (F.unix_timestamp("deadline_at") - F.unix_timestamp(window_start_ts)) / 3600.0
    return (filter_servable_tasks(open_tasks_df)
            .withColumn("queue_idx", queue_idx_col(F.col("queue")).cast("int"))
            # a task without a deadline is treated as 30 days away
            .withColumn("slack_h", F.coalesce(slack_h, F.lit(24.0 * 30)).cast("double")))


def labeler_queue_rows(labelers_df: DataFrame, skills_df: DataFrame) -> DataFrame:
    """One row per (labeler, certified queue, spoken language) with skill and handling filled."""
    require_columns(labelers_df, LABELER_COLUMNS, "labelers_df")
    require_columns(skills_df, SKILL_COLUMNS, "skills_df")
    skills = skills_df.select(
        "labeler_id", "queue", "skill_mean", "skill_lower",
        F.col("handling_s").alias("queue_handling_s"),
    )
    return (
        labelers_df
        .where((F.col("capacity") > 0) & F.col("labeler_id").isNotNull())
        .select("labeler_id", "hourly_cost", "capacity", F.col("handling_s").alias("labeler_handling_s"),
                F.explode(F.array_distinct("certified_queues")).alias("queue"), "languages")
        .select("*", F.explode(F.array_distinct("languages")).alias("language"))
        .drop("languages")
        .join(skills, on=["labeler_id", "queue"], how="left")
        .select(
            "labeler_id", "queue", "language",
            F.coalesce(F.col("hourly_cost"), F.lit(0.0)).alias("hourly_cost"),
            F.col("capacity").cast("int").alias("capacity"),
            F.coalesce("skill_mean", F.lit(SKILL_PRIOR_MEAN)).alias("skill_mean"),
            F.coalesce("skill_lower", F.lit(prior_skill_lower())).alias("skill_lower"),
            F.coalesce("queue_handling_s", "labeler_handling_s", default_handling_s(F.col("queue")))
            .alias("handling_s"),
        )
    )


def with_buckets(labeler_rows_df: DataFrame, top_k: int) -> DataFrame:
    """Deal each (queue, language) group's labelers round-robin by prefilter rank into
    ceil(L / top_k) buckets: at most ``top_k`` per bucket, each spanning the skill range."""
    group = Window.partitionBy("queue", "language")
    ranked = Window.partitionBy("queue", "language").orderBy(F.col("skill_lower").desc(), "labeler_id")
    n_buckets = F.ceil(F.count(F.lit(1)).over(group) / F.lit(top_k)).cast("long")
    return (labeler_rows_df
            .withColumn("n_buckets", n_buckets)
            .withColumn("bucket", F.pmod(F.row_number().over(ranked) - 1, F.col("n_buckets"))))


def candidate_pairs(open_tasks_df: DataFrame, labelers_df: DataFrame, skills_df: DataFrame,
                    already_judged_df: DataFrame, window_start: datetime,
                    top_k: int = TOP_K, codes: EntityCodes | None = None) -> DataFrame:
    """Eligible (task, labeler) pairs, at most ``top_k`` per task, with every scoring input
    (``PAIR_COLUMNS``).

    Eligible: the labeler is certified for the task's queue, speaks its language, has
    capacity in the window and has not judged (or skipped) the task before. With ``codes``
    (``coded.entity_codes`` of the same inputs) the pairs carry ``t_code`` and ``l_code``
    (joined on the small task and labeler tables before they are paired) INSTEAD of the
    scoring inputs and the load ratio (``CODED_PAIR_COLUMNS``): those are per entity, in
    ``codes.inputs`` and ``coded.with_load_ratios``. Narrow pairs are cheaper to shuffle and
    cache, and the load ratio then needs no window over the pairs (demo day 7, 3.64 M pairs:
    persisted in 6.5-7.5 s instead of 15-16 s; docs/allocation.md)."""
    if top_k < 1:
        raise ValueError("top_k must be >= 1")
    require_columns(already_judged_df, JUDGED_COLUMNS, "already_judged_df")
    tasks = task_rows(open_tasks_df, window_start)
    labeler_rows = labeler_queue_rows(labelers_df, skills_df)
    if codes is not None:
        tasks = tasks.join(F.broadcast(codes.tasks), on="task_id", how="inner")
        labeler_rows = labeler_rows.join(F.broadcast(codes.labeler_queues), on=["labeler_id", "queue"],
                                         how="inner")
    labelers = with_buckets(labeler_rows, top_k)
    groups = labelers.select("queue", "language", "n_buckets").distinct()
    salt = F.lit(_BUCKET_SALT)
    # Who already judged each task, as a set on the task row: the exclusion is then a filter on
    # the pairs, not an anti-join that shuffles every pair (nulls never match, as in a join).
    judged_by = (already_judged_df.where(F.col("task_id").isNotNull() & F.col("labeler_id").isNotNull())
                 .groupBy("task_id").agg(F.collect_set("labeler_id").alias("_judged_by")))
    tasks = (tasks.join(F.broadcast(groups), on=["queue", "language"], how="inner")
             .withColumn("bucket", F.pmod(F.xxhash64("task_id", salt), F.col("n_buckets")))
             .join(judged_by, on="task_id", how="left"))
    # The labeler side (one row per labeler x queue x language: bounded by the roster) is
    # broadcast: the pairs are made where the tasks are, without shuffling them (day 7 of the
    # demo, 1.85 M pairs: 8.8 s -> 2.8 s with the set filter; docs/allocation.md).
    pairs = (tasks.join(F.broadcast(labelers.drop("n_buckets")), on=["queue", "language", "bucket"], how="inner")
             .where(F.col("_judged_by").isNull() | ~F.array_contains(F.col("_judged_by"), F.col("labeler_id"))))
    pairs = pairs.withColumn("task_degree", F.count(F.lit(1)).over(Window.partitionBy("task_id")).cast("int"))
    if codes is not None:
        return pairs.select(*CODED_PAIR_COLUMNS)
    return pairs.withColumn("load_ratio", load_ratio(F.col("labels_needed"), F.col("task_degree"),
                                                     F.col("capacity"), Window.partitionBy("labeler_id"))
                            ).select(*PAIR_COLUMNS)


def load_ratio(labels_needed: Column, task_degree: Column, capacity: Column, over: Window | None = None) -> Column:
    """The labeler's share of the demand it is a candidate for, over its capacity: the sum over
    its pairs (all queues) of labels_needed / task_degree. As a window expression with ``over``,
    else as an aggregate (capacity is the labeler's, so ``first``). The sum is rounded: its last
    bits follow the rows' order, which changes from run to run."""
    share = F.sum(labels_needed / task_degree)
    if over is not None:
        return F.round(share.over(over), 9) / capacity
    return F.round(share, 9) / F.first(capacity)


def pair_bound(open_tasks_df: DataFrame, labelers_df: DataFrame, top_k: int = TOP_K) -> DataFrame:
    """Per (queue, language): open tasks T, eligible labelers L, the full cross product T*L
    and this module's bound T*min(L, top_k). Small (one row per group): safe to collect."""
    tasks = filter_servable_tasks(open_tasks_df).groupBy("queue", "language").agg(
        F.count(F.lit(1)).alias("tasks"))
    labs = (labelers_df.where(F.col("capacity") > 0)
            .select("labeler_id", F.explode(F.array_distinct("certified_queues")).alias("queue"), "languages")
            .select("labeler_id", "queue", F.explode(F.array_distinct("languages")).alias("language"))
            .groupBy("queue", "language").agg(F.count(F.lit(1)).alias("labelers")))
    return (tasks.join(labs, on=["queue", "language"], how="left")
            .fillna({"labelers": 0})
            .withColumn("cross_product", F.col("tasks") * F.col("labelers"))
            .withColumn("bound", F.col("tasks") * F.least(F.col("labelers"), F.lit(top_k))))
