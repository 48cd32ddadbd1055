"""Point-in-time retrieval with Feast's semantics, as a pure transformation.

For each entity row (keys, ts) the result carries the feature row with the same keys whose
event time ``feature_ts`` is the latest one *strictly before* ts and not older than the TTL:

    feature_ts < ts  and  feature_ts >= ts - ttl        (latest such row wins)

A feature row as of day D is built from events of days <= D only and stamped
feature_ts = D + 1 00:00, so every event behind a returned value happened before ts: an
event at or after ts cannot influence it (tests/test_features_pit.py checks this by
changing everything at or after ts and comparing).

Event-time semantics: a late event (happened before ts, exported after) is included once
its day is rebuilt, as in Feast. To reproduce what a model saw at serving time, read the
table at the Delta version that was published then (features.publications).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

MATCH_TS = "feature_ts"


class EntityFrameError(ValueError):
    """The entity DataFrame does not have the columns point-in-time retrieval needs."""


def as_of_join(entity_df: DataFrame, feature_df: DataFrame, keys: Sequence[str], *,
               ttl: timedelta | None, entity_ts: str = "ts", feature_ts: str = MATCH_TS,
               features: Sequence[str] | None = None) -> DataFrame:
    """``entity_df`` (every row kept, in any order) plus the matching feature columns, null when
    no feature row is within the TTL. ``feature_ts`` of the matched row is returned as
    ``feature_ts`` (rename it in ``entity_df`` if it has one)."""
    keys = list(keys)
    missing = [c for c in (*keys, entity_ts) if c not in entity_df.columns]
    if missing:
        raise EntityFrameError(f"entity DataFrame lacks {missing}; it has {entity_df.columns}")
    wanted = [c for c in (features or feature_df.columns) if c not in (*keys, feature_ts)]
    clash = [c for c in (*wanted, MATCH_TS) if c in entity_df.columns and c not in keys]
    if clash:
        raise EntityFrameError(f"entity DataFrame already has feature columns {clash}: rename them first")
    entities = entity_df.select(*keys, F.col(entity_ts).alias("_ts")).where(F.col("_ts").isNotNull()).distinct()
    # Feature-side keys renamed: entity frames are often derived from the feature table itself,
    # and Spark would resolve a self-join condition to "trivially true".
    rows = feature_df.select(*[F.col(k).alias(f"_f_{k}") for k in keys], F.col(feature_ts).alias("_fts"), *wanted)
    condition = [F.col(k) == F.col(f"_f_{k}") for k in keys] + [F.col("_fts") < F.col("_ts")]
    if ttl is not None:
        condition.append(F.col("_fts") >= F.col("_ts") - F.make_dt_interval(
            F.lit(ttl.days), F.lit(0), F.lit(0), F.lit(ttl.seconds)))
    cond = condition[0]
    for c in condition[1:]:
        cond = cond & c
    candidates = entities.join(rows, on=cond, how="inner").drop(*[f"_f_{k}" for k in keys])
    latest = Window.partitionBy(*keys, "_ts").orderBy(F.col("_fts").desc())
    matched = (candidates.withColumn("_rn", F.row_number().over(latest)).where(F.col("_rn") == 1)
               .drop("_rn").withColumnRenamed("_fts", MATCH_TS))
    out = entity_df.join(matched.withColumnRenamed("_ts", entity_ts), on=[*keys, entity_ts], how="left")
    return out.select(*entity_df.columns, MATCH_TS, *wanted)
