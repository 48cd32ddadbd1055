"""The idempotent write helpers keyed by logical date (jobs/delta_io.py)."""

from __future__ import annotations

from datetime import date

import pytest
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, LongType, StringType, StructField, StructType

from jobs import delta_io
from schemas.contract import TableContract

SCHEMA = StructType([
    StructField("k", StringType(), False),
    StructField("as_of_date", DateType(), False),
    StructField("v", LongType(), True),
])
CONTRACT = TableContract(layer="features", name="t", schema=SCHEMA, keys=("k", "as_of_date"),
                         partition_by=("as_of_date",), write_mode="replace_range",
                         logical_date_column="as_of_date")


def _d(day: int) -> date:
    return date(2026, 1, day)


def _rows(spark, path: str) -> list[tuple]:
    return sorted(tuple(r) for r in spark.read.format("delta").load(path).collect())


def test_replace_range_rewrites_exactly_the_range(spark, lake):
    path = f"{lake}/features/t"
    first = spark.createDataFrame([("a", _d(1), 1), ("a", _d(2), 2), ("b", _d(2), None), ("a", _d(3), 3)], SCHEMA)
    delta_io.replace_range(first, CONTRACT, path, _d(1), _d(3), "run-1")
    # A backfill of days 2..3 where entity b no longer exists on day 2: its row goes, day 1 stays.
    backfill = spark.createDataFrame([("a", _d(2), 20), ("a", _d(3), 30)], SCHEMA)
    delta_io.replace_range(backfill, CONTRACT, path, _d(2), _d(3), "run-2")
    assert _rows(spark, path) == [("a", _d(1), 1), ("a", _d(2), 20), ("a", _d(3), 30)]
    delta_io.replace_range(backfill, CONTRACT, path, _d(2), _d(3), "run-3")  # a rerun changes nothing
    assert _rows(spark, path) == [("a", _d(1), 1), ("a", _d(2), 20), ("a", _d(3), 30)]


def test_replace_range_refuses_rows_outside_the_range(spark, lake):
    path = f"{lake}/features/t"
    delta_io.replace_range(spark.createDataFrame([("a", _d(1), 1)], SCHEMA), CONTRACT, path, _d(1), _d(1), "r1")
    stray = spark.createDataFrame([("a", _d(2), 2), ("a", _d(5), 5)], SCHEMA)
    with pytest.raises(Exception, match="(?i)replaceWhere|does not conform|constraint"):
        delta_io.replace_range(stray, CONTRACT, path, _d(2), _d(3), "r2")
    assert _rows(spark, path) == [("a", _d(1), 1)]  # nothing half-written


def test_latest_version_follows_every_commit_and_agrees_with_history(spark, lake):
    path = f"{lake}/features/t"
    assert delta_io.latest_version(spark, path) is None  # no table yet
    for day in (1, 2, 2):  # the rerun of day 2 is a commit too
        delta_io.replace_range(spark.createDataFrame([("a", _d(day), day)], SCHEMA), CONTRACT, path,
                               _d(day), _d(day), f"run-{day}")
        history = delta_io.DeltaTable.forPath(spark, path).history(1).select("version").first()[0]
        assert delta_io.latest_version(spark, path) == history
    assert delta_io.latest_version(spark, path) == 2


def _file_stats(path: str) -> list[dict]:
    """The ``stats`` of every file a commit added, from the table's JSON log."""
    import json
    from pathlib import Path

    stats = []
    for commit in sorted(Path(path, "_delta_log").glob("*.json")):
        for line in commit.read_text().splitlines():
            add = json.loads(line).get("add")
            if add and add.get("stats"):
                stats.append(json.loads(add["stats"]))
    return stats


def test_stats_columns_are_keys_and_skipping_columns_without_partition_columns():
    assert CONTRACT.stats_columns == ("k",)
    wider = TableContract(layer="silver", name="w", schema=SCHEMA, keys=("k", "as_of_date"),
                          partition_by=("as_of_date",), skipping_columns=("v", "k"), properties={"x": "1"})
    assert wider.stats_columns == ("k", "v")
    assert wider.delta_properties == {"delta.dataSkippingStatsColumns": "k,v", "x": "1"}


def test_every_contract_keeps_statistics_on_scalar_columns_it_has():
    """Delta refuses a stats column that is missing, a partition column or nested; and the
    features job finds a day's late judgments and re-exported tasks by ``ingest_date``."""
    from pyspark.sql.types import ArrayType, MapType, StructType

    from jobs.catalog import all_contracts
    from schemas import silver

    contracts = all_contracts()
    assert len(contracts) > 20
    for contract in contracts:
        for column in contract.stats_columns:
            assert column in contract.columns, (contract.qualified_name, column)
            assert column not in contract.partition_by, (contract.qualified_name, column)
            assert not isinstance(contract.field_type(column), ArrayType | MapType | StructType), column
    for contract in (silver.JUDGMENTS, silver.TASKS):
        assert "ingest_date" in contract.stats_columns


def test_writes_create_tables_with_statistics_on_the_contracts_columns_only(spark, lake):
    contract = TableContract(layer="silver", name="s", schema=SCHEMA, keys=("k", "as_of_date"),
                             partition_by=("as_of_date",), skipping_columns=("v",), write_mode="merge",
                             logical_date_column="as_of_date")
    replaced, merged = f"{lake}/features/t", f"{lake}/silver/s"
    rows = spark.createDataFrame([("a", _d(1), 1), ("b", _d(1), None)], SCHEMA)
    delta_io.replace_range(rows, CONTRACT, replaced, _d(1), _d(1), "run-1")
    delta_io.merge(rows, contract, merged, "run-1")  # creates the table with an empty write first
    for path, want in ((replaced, {"k"}), (merged, {"k", "v"})):
        props = {r.key: r.value for r in spark.sql(f"SHOW TBLPROPERTIES delta.`{path}`").collect()}
        assert props["delta.dataSkippingStatsColumns"] == ",".join(sorted(want, key=SCHEMA.names.index))
        stats = [s for s in _file_stats(path) if s["numRecords"]]
        assert stats and all(set(s["minValues"]) | set(s["nullCount"]) == want for s in stats), stats
    # the null row counts in the file statistics of a skipping column
    assert sum(s["nullCount"]["v"] for s in _file_stats(merged)) == 1


def _files_per_day(spark, path: str) -> dict:
    """Live data files per as_of_date partition, from the table's own log (Delta's file list)."""
    files = spark.read.format("delta").load(path).select("as_of_date", "_metadata.file_path")
    return {r["as_of_date"]: r["n"] for r in files.groupBy("as_of_date").agg(
        F.countDistinct("file_path").alias("n")).collect()}


def test_a_small_gated_output_is_written_as_one_file_per_table_partition(spark, lake):
    rows = [(f"k{i}", _d(1 + i % 3), i if i % 7 else None) for i in range(60)]  # with null values
    df = spark.createDataFrame(rows, SCHEMA).repartition(6).persist()
    try:
        df.count()  # what the gate does: the cache is filled, its size known
        fewer = delta_io.fewer_write_partitions(df)
        assert fewer.rdd.getNumPartitions() == 1
        path = f"{lake}/features/t"
        delta_io.replace_range(fewer, CONTRACT, path, _d(1), _d(3), "run-1")
        assert _files_per_day(spark, path) == {_d(1): 1, _d(2): 1, _d(3): 1}
        assert _rows(spark, path) == sorted(rows)  # nothing lost, nothing added
        # One partition per task_bytes of cached data, never more than it had.
        assert delta_io.fewer_write_partitions(df, task_bytes=1).rdd.getNumPartitions() == 6
    finally:
        df.unpersist()


def test_an_uncached_dataframe_is_written_as_it_is(spark):
    """Coalescing an uncached plan would pull its upstream work into fewer tasks: left alone."""
    df = spark.createDataFrame([("a", _d(1), 1), ("b", _d(2), None)], SCHEMA).repartition(4)
    assert delta_io.fewer_write_partitions(df) is df
