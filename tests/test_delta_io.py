"""The idempotent write helpers keyed by logical date (jobs/delta_io.py)."""

from __future__ import annotations

from datetime import date

import pytest
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
