"""Which partition holds each queue's pairs while matching solves them.

Matching solves one queue per Python call, and a Spark task solves the queues of its partition
one after another. Hash-partitioned by the queue's name (``repartition("queue")``), the demo's
six queues landed on 3 of 8 partitions, one of them holding 59 % of the pairs (demo day 7): that
task bounded every price round while the other core idled. Here each queue gets a partition of
its own, the largest first. Spark starts a stage's tasks in partition order, so the cores take
the queues longest first (list scheduling), and a round is bounded by about half the pairs.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

SLOT = "_slot"
# per partition count: an int key that Spark's hash partitioner sends to each partition
_KEYS: dict[int, list[int]] = {}


def partition_keys(spark: SparkSession, n: int) -> list[int]:
    """For p in 0..n-1, an int that ``repartition(n, col)`` sends to partition p.

    Spark places a row on ``pmod(murmur3(key, seed 42), n)``, the expression of ``F.hash``, so
    asking Spark (one tiny query, cached per n) keeps this true to the engine rather than to a
    Python copy of its hash."""
    if n not in _KEYS:
        rows = (spark.range(0, 64 * n).select(F.col("id").cast("int").alias("k"))
                .groupBy(F.pmod(F.hash("k"), F.lit(n)).alias("p")).agg(F.min("k").alias("k")).collect())
        keys = {r["p"]: r["k"] for r in rows}
        if len(keys) < n:  # 64 draws per partition: missing one has odds of about n * e^-64
            raise RuntimeError(f"no int key found for {n - len(keys)} of {n} hash partitions")
        _KEYS[n] = [keys[p] for p in range(n)]
    return _KEYS[n]


def by_queue_slots(pairs_df: DataFrame, queue_pairs: Mapping[str, int]) -> DataFrame:
    """``pairs_df`` plus ``SLOT``, repartitioned so that each queue of ``queue_pairs`` (queue ->
    its pair count) has a partition of its own, the largest queue first.

    Group the result by ``(SLOT, "queue")`` (``matching.match_usage(by=...)``): its hash
    partitioning on ``SLOT`` already clusters those groups, so no solve shuffles it again. A queue
    missing from ``queue_pairs`` gets a null slot: it shares a partition, and is still solved
    on its own."""
    order = sorted(queue_pairs, key=lambda q: (-queue_pairs[q], q))
    n = max(len(order), 1)
    keys = partition_keys(pairs_df.sparkSession, n)
    slot = F.create_map(*[c for i, q in enumerate(order) for c in (F.lit(q), F.lit(keys[i]))])[F.col("queue")] \
        if order else F.lit(None).cast("int")
    return pairs_df.withColumn(SLOT, slot).repartition(n, SLOT)
