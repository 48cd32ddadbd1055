"""Silver: deduplicated, conformed tables keyed for analysis.

Judgments and events land in the partition of their *event* date (late records
included), through a MERGE on their key, so a rerun or a re-sent record never
duplicates a row. The roster is kept as one full snapshot per day, which makes
point-in-time questions ("who was certified on day D?") a partition filter.
"""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DateType,
    DoubleType,
    IntegerType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from schemas.contract import TableContract, between, in_set, not_null, unique
from schemas.reference import EVENT_TYPES, JUDGMENT_STATUSES, LABELER_STATUSES, QUEUES

QUEUE_NAMES = sorted(QUEUES)

JUDGMENTS = TableContract(
    layer="silver",
    name="judgments",
    schema=StructType([
        StructField("judgment_id", StringType(), False),
        StructField("task_id", StringType(), False),
        StructField("labeler_id", StringType(), False),
        StructField("queue", StringType(), False),
        StructField("status", StringType(), False),
        StructField("label", StringType(), True),
        StructField("assigned_at", TimestampType(), False),
        StructField("started_at", TimestampType(), True),
        StructField("submitted_at", TimestampType(), True),
        StructField("active_seconds", DoubleType(), True),
        StructField("is_gold", BooleanType(), False),
        StructField("gold_label", StringType(), True),
        StructField("review_label", StringType(), True),
        StructField("client_version", StringType(), True),
        StructField("event_ts", TimestampType(), False),
        StructField("event_date", DateType(), False),
        StructField("ingest_date", DateType(), False),
        StructField("is_late", BooleanType(), False),
    ]),
    keys=("judgment_id",),
    partition_by=("event_date",),
    skipping_columns=("ingest_date",),  # the features job finds a day's late judgments by it
    write_mode="merge",
    description="One row per judgment (assignment outcome), deduplicated by judgment_id, "
    "partitioned by the date it happened (submitted_at, else assigned_at).",
    expectations=tuple(
        not_null("judgment_id", "task_id", "labeler_id", "queue", "status", "event_ts", "event_date")
        + [
            unique("judgment_id"),
            in_set("status", JUDGMENT_STATUSES),
            in_set("queue", QUEUE_NAMES),
            between("active_seconds", 0, 6 * 3600, severity="warn"),
            # a submitted judgment without a label is possible in exports but suspicious
            *not_null("label", severity="warn", mostly=0.5),
        ]
    ),
)

TASKS = TableContract(
    layer="silver",
    name="tasks",
    schema=StructType([
        StructField("task_id", StringType(), False),
        StructField("queue", StringType(), False),
        StructField("modality", StringType(), False),
        StructField("language", StringType(), False),
        StructField("created_at", TimestampType(), False),
        StructField("deadline_at", TimestampType(), False),
        StructField("priority", IntegerType(), False),
        StructField("label_set", ArrayType(StringType()), False),
        StructField("reward", DoubleType(), True),
        StructField("created_date", DateType(), False),
        StructField("ingest_date", DateType(), False),
    ]),
    keys=("task_id",),
    partition_by=("created_date",),
    skipping_columns=("ingest_date",),  # the features job finds a day's re-exported tasks by it
    write_mode="merge",
    description="One row per task, latest export wins.",
    expectations=tuple(
        not_null("task_id", "queue", "created_at", "deadline_at", "priority", "created_date")
        + [unique("task_id"), in_set("queue", QUEUE_NAMES), between("priority", 1, 3)]
    ),
)

LABELER_SNAPSHOTS = TableContract(
    layer="silver",
    name="labeler_snapshots",
    schema=StructType([
        StructField("labeler_id", StringType(), False),
        StructField("snapshot_date", DateType(), False),
        StructField("site", StringType(), True),
        StructField("languages", ArrayType(StringType()), False),
        StructField("certified_queues", ArrayType(StringType()), False),
        StructField("hourly_cost", DoubleType(), False),
        StructField("shift_hours", DoubleType(), False),
        StructField("hired_at", DateType(), False),
        StructField("status", StringType(), False),
    ]),
    keys=("labeler_id", "snapshot_date"),
    partition_by=("snapshot_date",),
    logical_date_column="snapshot_date",
    write_mode="replace_partition",
    description="The roster as of each day: one full snapshot per snapshot_date.",
    expectations=tuple(
        not_null("labeler_id", "snapshot_date", "hourly_cost", "shift_hours", "status")
        + [
            unique("labeler_id", "snapshot_date"),
            in_set("status", LABELER_STATUSES),
            between("hourly_cost", 0, 500),
            between("shift_hours", 0, 24),
        ]
    ),
)

EVENTS = TableContract(
    layer="silver",
    name="events",
    schema=StructType([
        StructField("event_id", StringType(), False),
        StructField("event_type", StringType(), False),
        StructField("ts", TimestampType(), False),
        StructField("labeler_id", StringType(), False),
        StructField("task_id", StringType(), True),
        StructField("session_id", StringType(), True),
        StructField("queue", StringType(), True),
        StructField("event_date", DateType(), False),
        StructField("ingest_date", DateType(), False),
    ]),
    keys=("event_id",),
    partition_by=("event_date",),
    write_mode="merge",
    description="System events, deduplicated by event_id, partitioned by event date.",
    expectations=tuple(
        not_null("event_id", "event_type", "ts", "labeler_id", "event_date")
        + [unique("event_id"), in_set("event_type", EVENT_TYPES)]
    ),
)

ALL = (JUDGMENTS, TASKS, LABELER_SNAPSHOTS, EVENTS)
