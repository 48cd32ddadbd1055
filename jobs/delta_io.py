"""Idempotent Delta writes keyed by logical date, and version-pinned reads.

Every write stamps the commit's ``userMetadata`` with the run (id, job, logical
date, code version), so ``DESCRIBE HISTORY`` says who wrote each version.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from schemas.contract import TableContract

log = logging.getLogger("labelops.delta")


class ContractError(ValueError):
    """A DataFrame does not have the columns its table contract requires."""


def table_exists(spark: SparkSession, path: str) -> bool:
    return DeltaTable.isDeltaTable(spark, path)


def latest_version(spark: SparkSession, path: str) -> int | None:
    """The table's newest committed version (None when there is no Delta table at ``path``).

    Loading the table refreshes Delta's cached snapshot, whose version is then read from the
    JVM: ~15 ms, against ~200 ms for ``history(1)``, which reads commit files in a Spark job
    (a pipeline day asks ~40 times). ``history(1)`` stays as the fallback should Delta's
    internal ``DeltaLog`` API move."""
    if not table_exists(spark, path):
        return None
    table = DeltaTable.forPath(spark, path)
    try:
        delta_log = spark._jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, path)
        return int(delta_log.unsafeVolatileSnapshot().version())
    except Exception:  # noqa: BLE001 - internal API; the public way below is always right
        return table.history(1).select("version").first()[0]


def read_version(spark: SparkSession, path: str, version: int) -> DataFrame:
    return spark.read.format("delta").option("versionAsOf", version).load(path)


def conform(df: DataFrame, contract: TableContract) -> DataFrame:
    """Select the contract's columns, in order, cast to its types; fail naming what is missing."""
    # One schema round trip: ``df.columns`` re-analyses the plan on every call, and a cast
    # sends its type to the JVM as JSON (~2 ms a column; a pipeline day conforms ~1,500).
    have = {f.name: f.dataType for f in df.schema.fields}
    missing = [c for c in contract.columns if c not in have]
    if missing:
        raise ContractError(
            f"DataFrame for {contract.qualified_name} lacks columns {missing}; it has {list(have)}. "
            f"The contract is schemas/{contract.layer}.py."
        )
    return df.select([F.col(f.name) if have[f.name] == f.dataType else F.col(f.name).cast(f.dataType).alias(f.name)
                      for f in contract.schema.fields])


# In-memory bytes of cached rows per write task. Each Spark partition of a write leaves one file
# per table partition it holds, so a small output spread over the shuffle's 8 partitions became
# 8 files per day (18 one-row files for queue_daily's 18 rows) and a write job of 8 tasks.
# Measured warm (docs/runtime.md, "Seventeenth pass"): 3.5k rows 1.14 s -> 0.83 s in one task,
# 366k rows (40 MB cached) 1.84 s in 8 tasks, 1.11 s in 2, 1.26 s in 1.
WRITE_TASK_BYTES = 32 * 1024 * 1024


def fewer_write_partitions(df: DataFrame, task_bytes: int = WRITE_TASK_BYTES) -> DataFrame:
    """``df`` coalesced to one partition per ``task_bytes`` of its cached size, never more
    partitions than it has. Only for a persisted DataFrame that an action has filled (a gated
    output): its size is then measured, not estimated, and ``coalesce`` reads the cache, so it
    cannot pull an upstream computation into fewer tasks. Anything else is returned as it is."""
    if not df.storageLevel.useMemory and not df.storageLevel.useDisk:
        return df
    try:
        size = int(df._jdf.queryExecution().optimizedPlan().stats().sizeInBytes())
    except Exception:  # noqa: BLE001 - internal API; writing as it is is always right
        return df
    have = df.rdd.getNumPartitions()
    want = max(1, min(have, -(-size // task_bytes)))  # ceil(size / task_bytes), 1 .. have
    return df.coalesce(want) if want < have else df


def _date_literal(value: date | str) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _writer(df: DataFrame, contract: TableContract, mode: str, user_metadata: str):
    """A Delta writer as the contract says: partitioning, run metadata, and the table properties
    (``contract.delta_properties``), which Delta applies when the write creates the table."""
    return (df.write.format("delta").mode(mode)
            .options(**contract.delta_properties)
            .option("userMetadata", user_metadata)
            .partitionBy(*contract.partition_by))


def replace_partition(df: DataFrame, contract: TableContract, path: str, logical_date: date | str,
                      user_metadata: str) -> None:
    """Rewrite exactly the logical date's partition (Delta replaceWhere): reruns never duplicate."""
    column = contract.logical_date_column
    if column is None:
        raise ContractError(f"{contract.qualified_name} has no logical_date_column for replaceWhere")
    (_writer(df, contract, "overwrite", user_metadata)
        .option("replaceWhere", f"{column} = '{_date_literal(logical_date)}'").save(path))


def replace_range(df: DataFrame, contract: TableContract, path: str, first: date | str, last: date | str,
                  user_metadata: str) -> None:
    """Rewrite exactly the partitions first..last of the logical-date column (one replaceWhere):
    a backfill that rebuilds several days replaces them whole, so a row that should no longer
    exist disappears, and reruns never duplicate. Delta rejects rows outside the range."""
    column = contract.logical_date_column
    if column is None:
        raise ContractError(f"{contract.qualified_name} has no logical_date_column for replaceWhere")
    predicate = f"{column} >= '{_date_literal(first)}' AND {column} <= '{_date_literal(last)}'"
    _writer(df, contract, "overwrite", user_metadata).option("replaceWhere", predicate).save(path)


def overwrite(df: DataFrame, contract: TableContract, path: str, user_metadata: str) -> None:
    _writer(df, contract, "overwrite", user_metadata).option("overwriteSchema", "false").save(path)


def append(df: DataFrame, contract: TableContract, path: str, user_metadata: str) -> None:
    _writer(df, contract, "append", user_metadata).save(path)


def merge(df: DataFrame, contract: TableContract, path: str, user_metadata: str, *,
          prune_values: dict[str, Iterable] | None = None, update_when: str | None = None) -> None:
    """Upsert on the contract's keys. ``prune_values`` limits the target scan to the partitions
    the batch touches (e.g. {"event_date": [...]}) so a MERGE's cost does not grow with history.
    ``update_when`` is a condition on ``s``/``t`` for replacing an existing row."""
    spark = df.sparkSession
    if not table_exists(spark, path):
        # First batch: create the table (partitioned as the contract says) with an empty write,
        # then MERGE like any other batch so duplicates inside the batch follow the same rule.
        _writer(spark.createDataFrame([], contract.schema), contract, "append", user_metadata).save(path)
    condition = " AND ".join(f"t.`{k}` = s.`{k}`" for k in contract.keys)
    for column, values in (prune_values or {}).items():
        literals = ", ".join(f"'{_date_literal(v)}'" for v in sorted(set(values)))
        if literals:
            condition += f" AND t.`{column}` IN ({literals})"
    conf_key = "spark.databricks.delta.commitInfo.userMetadata"
    spark.conf.set(conf_key, user_metadata)
    try:
        (DeltaTable.forPath(spark, path).alias("t")
            .merge(df.alias("s"), condition)
            .whenMatchedUpdateAll(condition=update_when)
            .whenNotMatchedInsertAll()
            .execute())
    finally:
        spark.conf.unset(conf_key)
