"""What the labeling platform exports each day (the landing zone), field by field.

Layout under the raw root: ``<source>/dt=YYYY-MM-DD/<part>.<jsonl|csv>``.
Every field arrives as text; ``kind`` says how ingest parses it. A value that is
present but does not parse as its kind always sends the row to quarantine
(``wrong_type``); ``required`` says whether a *missing* value does too (otherwise
the field is null).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    DoubleType,
    IntegerType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from schemas.reference import (
    EVENT_TYPES,
    JUDGMENT_STATUSES,
    LABELER_STATUSES,
    MODALITIES,
    PRIORITIES,
    QUEUES,
)

Kind = Literal["string", "timestamp", "date", "double", "int", "bool", "list"]
FileFormat = Literal["jsonl", "csv"]

SPARK_TYPES: dict[str, DataType] = {
    "string": StringType(),
    "timestamp": TimestampType(),
    "date": DateType(),
    "double": DoubleType(),
    "int": IntegerType(),
    "bool": BooleanType(),
    "list": ArrayType(StringType()),
}

LIST_SEPARATOR = "|"  # lists inside CSV cells: "en|es"


@dataclass(frozen=True)
class RawField:
    name: str
    kind: Kind
    required: bool = False
    description: str = ""
    # True for timestamps that record when something happened: those cannot be in the future.
    occurred: bool = False
    # Code lists: a present value outside ``allowed`` is quarantined (for lists: every element).
    allowed: tuple[str, ...] | None = None
    # A label of the row's queue: must be in that queue's label set.
    is_label: bool = False

    @property
    def spark_type(self) -> DataType:
        return SPARK_TYPES[self.kind]


@dataclass(frozen=True)
class RawSource:
    name: str  # folder name under the raw root, and the bronze table name
    file_format: FileFormat
    fields: tuple[RawField, ...]
    key: tuple[str, ...]
    description: str

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> RawField:
        return next(f for f in self.fields if f.name == name)

    @property
    def id_fields(self) -> tuple[str, ...]:
        """Required identifier fields: a null one is a ``null_key`` (the row cannot be joined)."""
        return tuple(f.name for f in self.fields if f.required and f.name.endswith("_id"))

    @property
    def text_schema(self) -> StructType:
        """Every field as a string: how ingest first reads a line, so no value is lost to parsing."""
        return StructType([StructField(f.name, StringType(), True) for f in self.fields])

    @property
    def typed_schema(self) -> StructType:
        return StructType([StructField(f.name, f.spark_type, not f.required) for f in self.fields])


JUDGMENTS = RawSource(
    name="judgments",
    file_format="jsonl",
    key=("judgment_id",),
    description="One line per assignment outcome (submitted, skipped, expired, abandoned).",
    fields=(
        RawField("judgment_id", "string", True, "platform id of the assignment"),
        RawField("task_id", "string", True),
        RawField("labeler_id", "string", True),
        RawField("queue", "string", True, allowed=tuple(QUEUES)),
        RawField("status", "string", True, "submitted | skipped | expired | abandoned", allowed=JUDGMENT_STATUSES),
        RawField("label", "string", False, "chosen label; null unless submitted", is_label=True),
        RawField("assigned_at", "timestamp", True, occurred=True),
        RawField("started_at", "timestamp", False, occurred=True),
        RawField("submitted_at", "timestamp", False, "null unless submitted", occurred=True),
        RawField("active_seconds", "double", False, "time the labeler was active on the task"),
        RawField("is_gold", "bool", False, "the task is a gold (known-answer) task"),
        RawField("gold_label", "string", False, "the known answer, on gold tasks", is_label=True),
        RawField("review_label", "string", False, "QA auditor's label, on a reviewed sample", is_label=True),
        RawField("client_version", "string", False),
    ),
)

TASKS = RawSource(
    name="tasks",
    file_format="csv",
    key=("task_id",),
    description="Tasks created that day.",
    fields=(
        RawField("task_id", "string", True),
        RawField("queue", "string", True, allowed=tuple(QUEUES)),
        RawField("modality", "string", True, allowed=MODALITIES),
        RawField("language", "string", True),
        RawField("created_at", "timestamp", True, occurred=True),
        RawField("deadline_at", "timestamp", True),
        RawField("priority", "int", True, "1 = highest", allowed=tuple(str(p) for p in PRIORITIES)),
        RawField("label_set", "list", True, "allowed labels, pipe-separated"),
        RawField("reward", "double", False, "price paid per accepted label (USD)"),
    ),
)

LABELERS = RawSource(
    name="labelers",
    file_format="csv",
    key=("labeler_id",),
    description="The labeler roster as of that day (a full snapshot).",
    fields=(
        RawField("labeler_id", "string", True),
        RawField("site", "string", False),
        RawField("languages", "list", True, "pipe-separated language codes"),
        RawField("certified_queues", "list", True, "pipe-separated queue names", allowed=tuple(QUEUES)),
        RawField("hourly_cost", "double", True, "USD per paid hour"),
        RawField("shift_hours", "double", True, "scheduled hours per day"),
        RawField("hired_at", "date", True, occurred=True),
        RawField("status", "string", True, "active | inactive | suspended | offboarded", allowed=LABELER_STATUSES),
    ),
)

EVENTS = RawSource(
    name="events",
    file_format="jsonl",
    key=("event_id",),
    description="System log: assignment offered / accepted / expired, session start / end.",
    fields=(
        RawField("event_id", "string", True),
        RawField("event_type", "string", True, allowed=EVENT_TYPES),
        RawField("ts", "timestamp", True, occurred=True),
        RawField("labeler_id", "string", True),
        RawField("task_id", "string", False, "null for session events"),
        RawField("session_id", "string", False),
        RawField("queue", "string", False, allowed=tuple(QUEUES)),
    ),
)

SOURCES: dict[str, RawSource] = {s.name: s for s in (JUDGMENTS, TASKS, LABELERS, EVENTS)}

# How far in the future (after the end of the export day) a timestamp may be before it is
# treated as a clock error and quarantined.
FUTURE_TOLERANCE_HOURS = 1
