"""The roster as known on each day: the latest daily snapshot at most N days old.

The silver roster is one full snapshot per day; a missing export day should not make a
labeler's hourly cost or tenure vanish, so each day takes the newest snapshot within a
short lookback (never a later one: that would leak the future).
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F


def roster_by_day(snapshots_df: DataFrame, days_df: DataFrame, lookback_days: int) -> DataFrame:
    """(labeler_id, day, hourly_cost, hired_at, status) for every ``day`` of ``days_df``.

    ``days_df`` has one column ``day``; a labeler without a snapshot in (day - lookback, day]
    gets no row."""
    snaps = snapshots_df.select("labeler_id", "snapshot_date", "hourly_cost", "hired_at", "status")
    joined = days_df.join(
        snaps,
        on=(F.col("snapshot_date") <= F.col("day"))
        & (F.col("snapshot_date") > F.date_sub(F.col("day"), lookback_days)),
        how="inner",
    )
    latest = Window.partitionBy("labeler_id", "day").orderBy(F.col("snapshot_date").desc())
    return (
        joined.withColumn("_rn", F.row_number().over(latest))
        .where(F.col("_rn") == 1)
        .select("labeler_id", "day", "hourly_cost", "hired_at", "status")
    )
