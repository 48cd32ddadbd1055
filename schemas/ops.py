"""Operational tables: one row per job run (lineage), kept under ``<lake>/_ops``."""

from __future__ import annotations

from pyspark.sql.types import (
    BooleanType,
    DateType,
    DoubleType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from schemas.contract import TableContract, in_set, not_null, unique

RUNS = TableContract(
    layer="ops",
    name="runs",
    schema=StructType([
        StructField("run_id", StringType(), False),
        StructField("job", StringType(), False),
        StructField("logical_date", DateType(), True),
        StructField("status", StringType(), False),           # success | failed | gate_failed
        StructField("started_at", TimestampType(), False),
        StructField("finished_at", TimestampType(), False),
        StructField("duration_s", DoubleType(), False),
        StructField("inputs", MapType(StringType(), LongType()), False),   # table -> Delta version read
        StructField("outputs", MapType(StringType(), LongType()), False),  # table -> Delta version written
        StructField("metrics", MapType(StringType(), LongType()), False),  # row counts, reconciliation
        StructField("gate_passed", BooleanType(), True),
        StructField("gate_summary", StringType(), True),
        StructField("code_version", StringType(), False),
        StructField("spark_master", StringType(), False),
        StructField("error", StringType(), True),
    ]),
    keys=("run_id",),
    skipping_columns=("job", "logical_date"),  # one row per run, appended: readers pick by these
    write_mode="append",
    description="Lineage: which inputs (Delta versions), which outputs, which code, which gate result.",
    expectations=tuple(not_null("run_id", "job", "status") + [unique("run_id"),
                       in_set("status", ["success", "failed", "gate_failed"])]),
)
