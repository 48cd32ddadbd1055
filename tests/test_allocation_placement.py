"""Where matching's pairs live: each queue on a partition of its own, largest first, grouped
without another shuffle; and the global solve (the random baseline) read in one partition."""

from __future__ import annotations

import pandas as pd
from pyspark.sql import functions as F

from scoring.allocation.matching import match_pairs, match_partition, match_usage
from scoring.allocation.placement import by_queue_slots, partition_keys
from scoring.allocation.shared_capacity import SOLVE_GROUPS


def _shuffles(df) -> bool:
    """Whether the plan adds a shuffle of its own (the cached input's plan may hold others)."""
    return "ENSURE_REQUIREMENTS" in df._jdf.queryExecution().executedPlan().toString()


def test_each_queue_gets_its_own_partition_largest_first(spark) -> None:
    rows = ([("big", f"t{i}") for i in range(6)] + [("mid", f"u{i}") for i in range(4)]
            + [("small", "v0"), ("unplanned", "w0"), (None, "x0")])
    pairs = spark.createDataFrame(rows, "queue string, task_id string")
    placed = by_queue_slots(pairs, {"small": 1, "big": 6, "mid": 4})
    where = (placed.select("queue", "task_id", F.spark_partition_id().alias("p")).toPandas()
             .sort_values("task_id", ignore_index=True))
    # nothing is lost or added, a queue never spans two partitions
    assert sorted(where["task_id"]) == sorted(t for _, t in rows)
    assert where.dropna().groupby("queue")["p"].nunique().eq(1).all()
    part = where.dropna().groupby("queue")["p"].first()
    assert (part["big"], part["mid"], part["small"]) == (0, 1, 2)
    # a queue the counts do not know (and a null queue) has a null slot: it shares a partition
    assert where["p"].between(0, 2).all()


def test_partition_keys_land_where_spark_hashes_them(spark) -> None:
    for n in (1, 5, 8):
        keys = partition_keys(spark, n)
        df = spark.createDataFrame([(k,) for k in keys], "k int").repartition(n, "k")
        got = dict(df.select("k", F.spark_partition_id().alias("p")).collect())
        assert [got[k] for k in keys] == list(range(n))


def test_solves_on_placed_pairs_do_not_shuffle_them_again(spark) -> None:
    pairs = spark.createDataFrame(
        [("L1", "T1", "q1", 0.9, 1, 2), ("L1", "T2", "q1", 0.8, 1, 2), ("L2", "T1", "q1", 0.7, 1, 1),
         ("L2", "T3", "q2", 0.5, 1, 1), ("L1", "T3", "q2", 0.4, 1, 2), ("L3", "T4", "q2", None, 1, 1)],
        "labeler_id string, task_id string, queue string, score double, labels_needed int, capacity int")
    placed = by_queue_slots(pairs, {"q1": 3, "q2": 3}).persist()
    try:
        assert placed.count() == 6  # materialised: until then a cached plan reports no partitioning
        usage = match_usage(placed, by=SOLVE_GROUPS)
        assert not _shuffles(usage)
        assert _shuffles(match_usage(placed))  # grouped by queue alone, it would shuffle
        # the same usage as solving the queues of the unplaced pairs
        got = usage.toPandas().sort_values("queue", ignore_index=True)
        want = match_usage(pairs).toPandas().sort_values("queue", ignore_index=True)
        pd.testing.assert_frame_equal(got, want, check_dtype=False)
        matched = match_pairs(placed.withColumn("queue_capacity", F.col("capacity")), by=SOLVE_GROUPS)
        assert not _shuffles(matched)
        assert sorted(matched.select("labeler_id", "task_id").collect()) == [("L1", "T1"), ("L1", "T2"),
                                                                             ("L2", "T3")]
    finally:
        placed.unpersist()


def test_a_global_solve_reads_every_partition_once_and_plans_as_pandas_does(spark) -> None:
    rows = [(f"L{i % 7}", f"T{j}", f"q{j % 3}", float((i * 31 + j * 17) % 11) / 10.0, 1 + j % 2, 1 + i % 3)
            for i in range(7) for j in range(20) if (i + j) % 3]
    rows.append(("L0", "T99", "q0", None, 1, 1))  # a pair without a score is never planned
    cols = "labeler_id string, task_id string, queue string, score double, labels_needed int, queue_capacity int"
    pairs = spark.createDataFrame(rows, cols).repartition(4)
    matched = match_pairs(pairs, by=None, keep=("queue",), max_exact_pairs=0, compare_greedy=False)
    assert not _shuffles(matched)
    got = sorted((r.labeler_id, r.task_id) for r in matched.collect())
    want = match_partition(pd.DataFrame(rows, columns=[c.split()[0] for c in cols.split(", ")]),
                           capacity="queue_capacity", max_exact_pairs=0, compare_greedy=False)
    assert got == sorted(zip(want["labeler_id"], want["task_id"], strict=True))
    assert len(got) > 0
