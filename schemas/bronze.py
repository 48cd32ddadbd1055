"""Bronze: the platform's exports, typed, one Delta partition per ingest (logical) date.

Rows that cannot be typed or fail a hard rule go to ``bronze.quarantine`` with a
reason; for every source file, lines in = bronze rows + quarantined rows.
"""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DateType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from schemas import raw
from schemas.contract import Expectation, TableContract, between, in_set, not_null, unique
from schemas.reference import EVENT_TYPES, JUDGMENT_STATUSES, LABELER_STATUSES, QUEUES

LINEAGE_FIELDS = [
    StructField("ingest_date", DateType(), False),
    StructField("source_file", StringType(), False),
    StructField("source_line", LongType(), False),
]


class Reason:
    """Quarantine reason codes (stable strings: dashboards and tests filter on them)."""

    MALFORMED = "malformed_line"          # not JSON / not a CSV row of the header's width
    MISSING_COLUMN = "missing_column"     # a required field is absent from the file's columns
    NULL_KEY = "null_key"                 # a key field is null or empty
    MISSING_REQUIRED = "missing_required" # another required field is null or empty
    WRONG_TYPE = "wrong_type"             # a value does not parse as its field's type
    UNKNOWN_QUEUE = "unknown_queue"
    UNKNOWN_LABEL = "unknown_label"       # label / gold_label / review_label not in the queue's label set
    INVALID_VALUE = "invalid_value"       # a code outside its list (status, event_type, ...)
    FUTURE_TIMESTAMP = "future_timestamp" # after the end of the export day (+ tolerance)
    DUPLICATE = "duplicate_key"           # a second row with the same key in the same day

    ALL = (MALFORMED, MISSING_COLUMN, NULL_KEY, MISSING_REQUIRED, WRONG_TYPE, UNKNOWN_QUEUE,
           UNKNOWN_LABEL, INVALID_VALUE, FUTURE_TIMESTAMP, DUPLICATE)


def _bronze(source: raw.RawSource, extra_expectations: list) -> TableContract:
    schema = StructType(list(source.typed_schema.fields) + LINEAGE_FIELDS)
    required = [f.name for f in source.fields if f.required]
    return TableContract(
        layer="bronze",
        name=source.name,
        schema=schema,
        keys=source.key,
        partition_by=("ingest_date",),
        logical_date_column="ingest_date",
        write_mode="replace_partition",
        description=f"Typed platform export: {source.description}",
        expectations=tuple(
            not_null(*required, "ingest_date", "source_file", "source_line")
            + [unique(*source.key)]
            + extra_expectations
        ),
    )


QUEUE_NAMES = sorted(QUEUES)

JUDGMENTS = _bronze(
    raw.JUDGMENTS,
    [in_set("status", JUDGMENT_STATUSES), in_set("queue", QUEUE_NAMES)],
)
TASKS = _bronze(raw.TASKS, [in_set("queue", QUEUE_NAMES)])
LABELERS = _bronze(raw.LABELERS, [in_set("status", LABELER_STATUSES)])
EVENTS = _bronze(raw.EVENTS, [in_set("event_type", EVENT_TYPES)])

BY_SOURCE: dict[str, TableContract] = {
    "judgments": JUDGMENTS, "tasks": TASKS, "labelers": LABELERS, "events": EVENTS,
}

QUARANTINE = TableContract(
    layer="bronze",
    name="quarantine",
    schema=StructType([
        StructField("source", StringType(), False),
        StructField("ingest_date", DateType(), False),
        StructField("source_file", StringType(), False),
        StructField("line_number", LongType(), False),
        StructField("raw_text", StringType(), True),
        StructField("reason", StringType(), False),
        StructField("detail", StringType(), False),
    ]),
    keys=("source", "source_file", "line_number"),
    partition_by=("ingest_date",),
    logical_date_column="ingest_date",
    write_mode="replace_partition",
    description="Every raw line that did not make it to bronze, with the reason. Nothing is dropped silently.",
    expectations=tuple(
        not_null("source", "ingest_date", "source_file", "line_number", "reason", "detail")
        + [unique("source", "source_file", "line_number"), in_set("reason", Reason.ALL)]
    ),
)


# Above this share of quarantined lines a day's export is treated as broken and the ingest
# gate fails (nothing is published, the DAG stops); above WARN_QUARANTINE_SHARE it warns.
MAX_QUARANTINE_SHARE: dict[str, float] = {"judgments": 0.20, "tasks": 0.20, "labelers": 0.20, "events": 0.20}
WARN_QUARANTINE_SHARE = 0.02

INGEST_AUDIT = TableContract(
    layer="bronze",
    name="ingest_audit",
    schema=StructType([
        StructField("ingest_date", DateType(), False),
        StructField("source", StringType(), False),
        StructField("files", LongType(), False),
        StructField("lines", LongType(), False),
        StructField("bronze_rows", LongType(), False),
        StructField("quarantined_rows", LongType(), False),
        StructField("quarantine_share", DoubleType(), False),
        StructField("max_quarantine_share", DoubleType(), False),
        StructField("reconciled", BooleanType(), False),
        StructField("extra_fields", ArrayType(StringType()), False),
        StructField("missing_columns", ArrayType(StringType()), False),
    ]),
    keys=("ingest_date", "source"),
    partition_by=("ingest_date",),
    logical_date_column="ingest_date",
    write_mode="replace_partition",
    description="Per day and source: lines in, bronze rows, quarantined rows (lines = bronze + quarantined), "
    "schema drift. Its gate stops the pipeline when a day's export is mostly garbage.",
    expectations=tuple(
        not_null("ingest_date", "source", "lines", "bronze_rows", "quarantined_rows")
        + [
            unique("ingest_date", "source"),
            in_set("reconciled", [True]),
            Expectation("ExpectColumnPairValuesAToBeGreaterThanB",
                        {"column_A": "max_quarantine_share", "column_B": "quarantine_share", "or_equal": True},
                        "error", "a day's export with too many bad lines is broken: stop, do not publish"),
            between("quarantine_share", 0, WARN_QUARANTINE_SHARE, severity="warn"),
        ]
    ),
)
