"""``JobContext.publish``: a write that fails after its gate passed is reported naming the table,
what this run did write, and what it did not; the failed table keeps its previous version."""

from __future__ import annotations

from datetime import date

from pyspark.sql.types import DateType, LongType, StringType, StructField, StructType

from jobs import delta_io
from jobs.exit_codes import ERROR, OK
from jobs.job import run_job
from jobs.lake import Lake
from schemas.contract import TableContract, not_null
from schemas.ops import RUNS

DAY = date(2026, 1, 5)
SCHEMA = StructType([
    StructField("k", StringType(), True),
    StructField("as_of_date", DateType(), False),
    StructField("v", LongType(), True),
])


def contract(name: str, write_mode: str = "replace_partition") -> TableContract:
    return TableContract(layer="features", name=name, schema=SCHEMA, keys=("k", "as_of_date"),
                         partition_by=("as_of_date",), write_mode=write_mode,
                         logical_date_column="as_of_date", expectations=tuple(not_null("as_of_date")))


def _publish(spark, lake: str, outputs) -> int:
    def body(ctx):
        ctx.publish([(spark.createDataFrame(rows, SCHEMA), c) for rows, c in outputs])

    argv = ["--date", DAY.isoformat(), "--lake", lake, "--run-id", "publish-test"]
    return run_job("publish-test", body, argv, spark=spark)


def _last_run(spark, lake: str):
    return (spark.read.format("delta").load(Lake(lake).path(RUNS))
            .orderBy("started_at", ascending=False).first())


def _rows(spark, path: str) -> list[tuple]:
    return sorted((tuple(r) for r in spark.read.format("delta").load(path).collect()),
                  key=lambda r: (r[0] is None, r[0] or ""))


def test_a_failed_write_names_the_table_and_what_landed(spark, lake):
    first, ranged, last = contract("first"), contract("ranged", write_mode="replace_range"), contract("last")
    ranged_path = Lake(lake).path(ranged)
    delta_io.replace_range(spark.createDataFrame([("a", DAY, 0)], SCHEMA), ranged, ranged_path, DAY, DAY, "setup")
    outputs = [([("a", DAY, 1), (None, DAY, None)], first),
               ([("a", date(2026, 1, 9), 2)], ranged),  # outside the logical date: Delta refuses the write
               ([("a", DAY, 3)], last)]
    assert _publish(spark, lake, outputs) == ERROR
    assert _rows(spark, Lake(lake).path(first)) == [("a", DAY, 1), (None, DAY, None)]
    assert delta_io.latest_version(spark, ranged_path) == 0
    assert _rows(spark, ranged_path) == [("a", DAY, 0)]  # its previous version, untouched
    assert delta_io.latest_version(spark, Lake(lake).path(last)) is None  # not attempted
    run = _last_run(spark, lake)
    assert run["status"] == "failed" and dict(run["outputs"]) == {"features.first": 0}
    assert run["error"].startswith(f"WriteFailed: writing features.ranged at {ranged_path} failed: ")
    assert ("That table keeps its previous version; written by this run: features.first; "
            "not written: features.last. Fix the cause and rerun the job for 2026-01-05") in run["error"]
    # the rerun with the row fixed publishes all three; nothing is duplicated
    outputs[1] = ([("a", DAY, 2)], ranged)
    assert _publish(spark, lake, outputs) == OK
    assert _rows(spark, Lake(lake).path(first)) == [("a", DAY, 1), (None, DAY, None)]
    assert _rows(spark, ranged_path) == [("a", DAY, 2)]
    assert _rows(spark, Lake(lake).path(last)) == [("a", DAY, 3)]
