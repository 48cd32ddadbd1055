"""Features: daily aggregates per entity, window feature tables as of each day, and the
publication registry.

Two kinds of tables:
- daily aggregates (``*_daily``), one row per entity and event day, additive measures plus
  mergeable sketches: windows are computed from them, so building day N costs the same as day 1;
- feature tables (``*_features``), one row per entity and ``as_of_date``, built from events of
  days <= as_of_date. ``feature_ts`` = as_of_date + 1 day 00:00 UTC is the row's event time for
  point-in-time retrieval: the row is valid for entity timestamps strictly after it.

All of them are MERGEd on their keys into the partitions a run rebuilds (the logical date and
any earlier dates whose windows received late data), so reruns never duplicate rows.

Column names here are the contract downstream stages read (docs/features.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date

from pyspark.sql.types import (
    BooleanType,
    DataType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from schemas.contract import Expectation, Severity, TableContract, row_rule, unique
from schemas.reference import MAX_CLASSES

WINDOWS = ("1d", "7d", "28d")
ALL_TIME = "all"
WINDOW_SUFFIXES = (*WINDOWS, ALL_TIME)

# Additive per-day measures of a labeler (x queue): windows are sums of these.
SUM_MEASURES: tuple[tuple[str, DataType], ...] = (
    ("assignments", LongType()),        # judgments rows of any status (assignment outcomes)
    ("judgments", LongType()),          # submitted judgments
    ("skipped_n", LongType()),
    ("expired_n", LongType()),
    ("abandoned_n", LongType()),
    ("gold_n", LongType()),             # submitted gold judgments with a label and a gold label
    ("gold_correct", LongType()),
    ("reviewed_n", LongType()),         # submitted judgments with a QA review label
    ("overturned_n", LongType()),       # ... where the reviewer chose another label
    ("agreement_n", LongType()),        # submitted judgments with a leave-one-out consensus
    ("agreement_credit", DoubleType()), # sum of agreement credits (1/#tied top labels if agreeing)
    ("active_seconds", DoubleType()),   # active time on judgments of any status
    ("accepted_n", LongType()),         # submitted, not overturned, not a wrong gold answer
    ("labor_cost", DoubleType()),       # active hours x hourly cost of the day's roster snapshot
)
SUM_MEASURE_NAMES = tuple(name for name, _ in SUM_MEASURES)
# Rates in [0, 1] per window.
RATE_FEATURES = ("gold_accuracy", "gold_accuracy_lb", "agreement_rate", "overturn_rate",
                 "skip_rate", "expiry_rate", "abandon_rate")
# Non-negative ratios per window.
RATIO_FEATURES = ("throughput_per_active_hour", "cost_per_accepted_label")
# Active-seconds quantiles of submitted judgments (sketch based), windows only (no all-time).
QUANTILE_FEATURES = ("active_seconds_p50", "active_seconds_p90")

SKETCH = MapType(IntegerType(), LongType())
COUNT_MAP = MapType(StringType(), LongType())
CONFUSION = MapType(StringType(), MapType(StringType(), DoubleType()))


def window_columns(suffix: str) -> list[str]:
    """Every column a window suffix ('1d', '7d', '28d', 'all') contributes, in table order."""
    names = [f"{m}_{suffix}" for m in SUM_MEASURE_NAMES]
    names += [f"{r}_{suffix}" for r in (*RATE_FEATURES, *RATIO_FEATURES)]
    names.append(f"active_days_{suffix}")
    if suffix != ALL_TIME:
        names += [f"{q}_{suffix}" for q in QUANTILE_FEATURES]
    return names


def _window_fields(suffix: str) -> list[StructField]:
    measure_types = dict(SUM_MEASURES)
    fields = []
    for name in window_columns(suffix):
        base = name[: -len(suffix) - 1]
        if base in measure_types:  # labor cost is unknown without a roster snapshot
            fields.append(StructField(name, measure_types[base], base == "labor_cost"))
        elif base == "active_days":
            fields.append(StructField(name, LongType(), False))
        else:
            fields.append(StructField(name, DoubleType(), True))
    return fields


def _all_window_fields() -> list[StructField]:
    return [f for suffix in WINDOW_SUFFIXES for f in _window_fields(suffix)]


# --- expectations written as Spark SQL over the batch (one GX query each: cheap on wide tables) --


@dataclass(frozen=True)
class QueryExpectation(Expectation):
    """A GX UnexpectedRowsExpectation whose label says what it checks (the query is long)."""

    @property
    def label(self) -> str:
        return f"UnexpectedRows({self.note})"


def rows_where(name: str, condition: str, columns: str = "*", severity: Severity = "error") -> QueryExpectation:
    return row_rule(name, condition, columns=columns, severity=severity, cls=QueryExpectation)


def no_nulls(*columns: str) -> QueryExpectation:
    return rows_where("not_null(" + ",".join(columns) + ")", " OR ".join(f"`{c}` IS NULL" for c in columns))


def in_unit_interval(*columns: str, tolerance: float = 1e-9) -> QueryExpectation:
    cond = " OR ".join(f"`{c}` < {-tolerance} OR `{c}` > {1 + tolerance} OR isnan(`{c}`)" for c in columns)
    return rows_where("rates_in_[0,1]", cond)


def non_negative(*columns: str) -> QueryExpectation:
    cond = " OR ".join(f"`{c}` < 0 OR isnan(CAST(`{c}` AS DOUBLE))" for c in columns)
    return rows_where("non_negative", cond)


def freshness(column: str, logical_date: date, start: date, end: date, *,
              require_logical_date: bool = True) -> QueryExpectation:
    """The batch holds the logical date (when required) and nothing outside the rebuilt range."""
    parts = [f"SELECT concat('{column} outside [{start}, {end}]: ', string(`{column}`)) AS problem "
             f"FROM {{batch}} WHERE `{column}` < DATE'{start}' OR `{column}` > DATE'{end}'"]
    if require_logical_date:
        parts.insert(0, f"SELECT 'no row for the logical date {logical_date}' AS problem WHERE NOT EXISTS "
                        f"(SELECT 1 FROM {{batch}} WHERE `{column}` = DATE'{logical_date}')")
    return QueryExpectation("UnexpectedRowsExpectation",
                            {"unexpected_rows_query": " UNION ALL ".join(parts),
                             "description": f"freshness({column})"}, "error", note=f"freshness({column})")


def with_freshness(contract: TableContract, logical_date: date, start: date, end: date) -> TableContract:
    """The contract for one run: its static suite plus the freshness check of that run's dates.

    Daily aggregate tables only have rows for days with activity, so they need not hold the
    logical date; feature tables carry every known entity forward and must."""
    column = contract.logical_date_column or "as_of_date"
    check = freshness(column, logical_date, start, end,
                      require_logical_date=not contract.name.endswith("_daily"))
    return replace(contract, expectations=(*contract.expectations, check))


# --- daily aggregates ------------------------------------------------------------------------

_DAILY_MEASURE_FIELDS = [StructField(name, dtype, name == "labor_cost") for name, dtype in SUM_MEASURES]
_DAILY_NON_NEGATIVE = list(SUM_MEASURE_NAMES)

LABELER_QUEUE_DAILY = TableContract(
    layer="features",
    name="labeler_queue_daily",
    schema=StructType([
        StructField("labeler_id", StringType(), False),
        StructField("queue", StringType(), False),
        StructField("event_date", DateType(), False),
        StructField("feature_ts", TimestampType(), False),
        *_DAILY_MEASURE_FIELDS,
        StructField("hourly_cost", DoubleType(), True),
        StructField("active_seconds_sketch", SKETCH, False),
        StructField("gold_confusion_counts", COUNT_MAP, False),  # "gold|given" -> count
    ]),
    keys=("labeler_id", "queue", "event_date"),
    partition_by=("event_date",),
    logical_date_column="event_date",
    write_mode="replace_range",
    description="Per labeler, queue and event day: additive judgment measures, an active-seconds "
    "DDSketch and gold confusion counts. The base every labeler window is summed from.",
    expectations=(
        unique("labeler_id", "queue", "event_date"),
        no_nulls("labeler_id", "queue", "event_date", "feature_ts", *[m for m in SUM_MEASURE_NAMES if m != "labor_cost"],
                 "active_seconds_sketch", "gold_confusion_counts"),
        non_negative(*_DAILY_NON_NEGATIVE, "hourly_cost"),
        rows_where("counts_consistent", "gold_correct > gold_n OR overturned_n > reviewed_n OR "
                   "judgments > assignments OR accepted_n > judgments OR agreement_credit > agreement_n + 1e-9"),
    ),
)

LABELER_DAILY = TableContract(
    layer="features",
    name="labeler_daily",
    schema=StructType([
        StructField("labeler_id", StringType(), False),
        StructField("event_date", DateType(), False),
        StructField("feature_ts", TimestampType(), False),
        *_DAILY_MEASURE_FIELDS,
        StructField("queues_n", IntegerType(), False),
        StructField("active_seconds_sketch", SKETCH, False),
    ]),
    keys=("labeler_id", "event_date"),
    partition_by=("event_date",),
    logical_date_column="event_date",
    write_mode="replace_range",
    description="Per labeler and event day: the labeler x queue daily measures summed over queues.",
    expectations=(
        unique("labeler_id", "event_date"),
        no_nulls("labeler_id", "event_date", "feature_ts", "judgments", "assignments", "active_seconds_sketch"),
        non_negative(*_DAILY_NON_NEGATIVE),
    ),
)

QUEUE_DAILY = TableContract(
    layer="features",
    name="queue_daily",
    schema=StructType([
        StructField("queue", StringType(), False),
        StructField("event_date", DateType(), False),
        StructField("feature_ts", TimestampType(), False),
        StructField("arrivals", LongType(), False),            # tasks created that day
        StructField("completions", LongType(), False),         # tasks reaching the label target that day
        StructField("closed_incomplete", LongType(), False),   # tasks retired that day below target
        StructField("backlog_end", LongType(), False),         # open tasks at the end of the day
        StructField("assignments", LongType(), False),
        StructField("labels_submitted", LongType(), False),
        StructField("median_turnaround_hours", DoubleType(), True),   # creation -> completion
        StructField("completed_late_share", DoubleType(), True),      # completions after deadline
        StructField("backlog_past_deadline_share", DoubleType(), True),
        StructField("handling_sketches", MapType(StringType(), SKETCH), False),  # modality -> sketch
    ]),
    keys=("queue", "event_date"),
    partition_by=("event_date",),
    logical_date_column="event_date",
    write_mode="replace_range",
    description="Per queue and day: arrivals, completions, backlog at end of day, turnaround and "
    "deadline shares (inputs to forecasting), plus active-seconds sketches per task modality.",
    expectations=(
        unique("queue", "event_date"),
        no_nulls("queue", "event_date", "feature_ts", "arrivals", "completions", "backlog_end"),
        non_negative("arrivals", "completions", "closed_incomplete", "backlog_end", "assignments",
                     "labels_submitted", "median_turnaround_hours"),
        in_unit_interval("completed_late_share", "backlog_past_deadline_share"),
    ),
)

# --- feature tables (as of a day) ------------------------------------------------------------

_WINDOW_RATES = [f"{r}_{w}" for w in WINDOW_SUFFIXES for r in RATE_FEATURES]
_WINDOW_NON_NEGATIVE = (
    [f"{m}_{w}" for w in WINDOW_SUFFIXES for m in SUM_MEASURE_NAMES]
    + [f"{r}_{w}" for w in WINDOW_SUFFIXES for r in RATIO_FEATURES]
    + [f"{q}_{w}" for w in WINDOWS for q in QUANTILE_FEATURES]
    + [f"active_days_{w}" for w in WINDOW_SUFFIXES]
)
_WINDOW_CONSISTENT = " OR ".join(
    [f"gold_correct_{w} > gold_n_{w} OR gold_accuracy_lb_{w} > gold_accuracy_{w} + 1e-9" for w in WINDOW_SUFFIXES]
    + [f"active_days_{w} > {int(w[:-1])}" for w in WINDOWS]
    + ["judgments_1d > judgments_7d OR judgments_7d > judgments_28d OR judgments_28d > judgments_all"]
)
_EW_FIELDS = [
    StructField("ew_gold_n", DoubleType(), False),        # exponentially weighted gold count
    StructField("ew_gold_correct", DoubleType(), False),
    StructField("ew_gold_accuracy", DoubleType(), True),  # Beta posterior mean on the weighted counts
]

LABELER_QUEUE_FEATURES = TableContract(
    layer="features",
    name="labeler_queue_features",
    schema=StructType([
        StructField("labeler_id", StringType(), False),
        StructField("queue", StringType(), False),
        StructField("as_of_date", DateType(), False),
        StructField("feature_ts", TimestampType(), False),
        *_all_window_fields(),
        StructField("gold_confusion_28d", CONFUSION, True),  # true label -> given label -> probability
        StructField("gold_balanced_accuracy_28d", DoubleType(), True),
        *_EW_FIELDS,
    ]),
    keys=("labeler_id", "queue", "as_of_date"),
    partition_by=("as_of_date",),
    logical_date_column="as_of_date",
    write_mode="replace_range",
    description="Skill per queue: quality, speed and cost of each labeler in each queue over 1/7/28 "
    "days and all time, as of the end of as_of_date, with a smoothed gold confusion matrix.",
    expectations=(
        unique("labeler_id", "queue", "as_of_date"),
        no_nulls("labeler_id", "queue", "as_of_date", "feature_ts", "judgments_28d", "gold_accuracy_28d",
                 "gold_accuracy_lb_28d", "gold_accuracy_all", "ew_gold_n"),
        in_unit_interval(*_WINDOW_RATES, "gold_balanced_accuracy_28d", "ew_gold_accuracy"),
        non_negative(*_WINDOW_NON_NEGATIVE, "ew_gold_n", "ew_gold_correct"),
        rows_where("windows_consistent", _WINDOW_CONSISTENT),
    ),
)

LABELER_FEATURES = TableContract(
    layer="features",
    name="labeler_features",
    schema=StructType([
        StructField("labeler_id", StringType(), False),
        StructField("as_of_date", DateType(), False),
        StructField("feature_ts", TimestampType(), False),
        *_all_window_fields(),
        StructField("gold_balanced_accuracy_28d", DoubleType(), True),
        *_EW_FIELDS,
        StructField("queues_28d", IntegerType(), False),   # queues with an assignment in 28 days
        StructField("tenure_days", IntegerType(), True),   # as_of_date - hired_at (roster)
    ]),
    keys=("labeler_id", "as_of_date"),
    partition_by=("as_of_date",),
    logical_date_column="as_of_date",
    write_mode="replace_range",
    description="Per labeler over all queues: volume, quality, speed, cost and activity over 1/7/28 "
    "days and all time, as of the end of as_of_date.",
    expectations=(
        unique("labeler_id", "as_of_date"),
        no_nulls("labeler_id", "as_of_date", "feature_ts", "judgments_28d", "gold_accuracy_28d",
                 "gold_accuracy_lb_28d", "gold_accuracy_all", "ew_gold_n", "queues_28d"),
        in_unit_interval(*_WINDOW_RATES, "gold_balanced_accuracy_28d", "ew_gold_accuracy"),
        non_negative(*_WINDOW_NON_NEGATIVE, "ew_gold_n", "ew_gold_correct", "queues_28d", "tenure_days"),
        rows_where("windows_consistent", _WINDOW_CONSISTENT),
    ),
)

TASK_FEATURES = TableContract(
    layer="features",
    name="task_features",
    schema=StructType([
        StructField("task_id", StringType(), False),
        StructField("as_of_date", DateType(), False),
        StructField("feature_ts", TimestampType(), False),
        StructField("queue", StringType(), False),
        StructField("modality", StringType(), False),
        StructField("priority", IntegerType(), False),
        StructField("created_at", TimestampType(), False),
        StructField("deadline_at", TimestampType(), False),
        StructField("retire_at", TimestampType(), False),   # leaves the table after this time
        StructField("assignments_so_far", LongType(), False),
        StructField("labels_so_far", LongType(), False),
        StructField("label_counts", COUNT_MAP, False),
        StructField("labeler_labels", MapType(StringType(), StringType()), False),  # labeler -> label
        StructField("disagreement_entropy", DoubleType(), True),  # bits; null before the first label
        StructField("age_hours", DoubleType(), False),            # feature_ts - created_at
        StructField("sla_slack_hours", DoubleType(), False),      # deadline_at - feature_ts
        StructField("expected_handling_seconds", DoubleType(), True),  # queue x modality median, 28 days
        StructField("completed_at", TimestampType(), True),       # when labels reached the target
        StructField("is_open", BooleanType(), False),
        StructField("is_past_deadline", BooleanType(), False),
    ]),
    keys=("task_id", "as_of_date"),
    partition_by=("as_of_date",),
    logical_date_column="as_of_date",
    write_mode="replace_range",
    description="Every task created but not yet retired at the end of as_of_date: labels so far, "
    "disagreement, age, SLA slack, expected handling time, priority and completion.",
    expectations=(
        unique("task_id", "as_of_date"),
        no_nulls("task_id", "as_of_date", "feature_ts", "queue", "created_at", "deadline_at",
                 "labels_so_far", "is_open"),
        non_negative("assignments_so_far", "labels_so_far", "disagreement_entropy", "age_hours",
                     "expected_handling_seconds"),
        rows_where("task_consistent", "labels_so_far > assignments_so_far OR created_at >= feature_ts OR "
                   "(completed_at IS NOT NULL AND completed_at >= feature_ts) OR "
                   f"disagreement_entropy > {math.log2(MAX_CLASSES) + 1e-9}"),
    ),
)

PUBLICATIONS = TableContract(
    layer="features",
    name="publications",
    schema=StructType([
        StructField("publication_id", StringType(), False),
        StructField("run_id", StringType(), False),
        StructField("feature_set", StringType(), False),
        StructField("feature_set_version", StringType(), False),
        StructField("definition_hash", StringType(), False),
        StructField("table_name", StringType(), False),
        StructField("logical_date", DateType(), False),
        StructField("as_of_start", DateType(), False),
        StructField("as_of_end", DateType(), False),
        StructField("delta_version", LongType(), True),             # null when the gate blocked it
        StructField("input_versions", MapType(StringType(), LongType()), False),
        StructField("code_version", StringType(), False),
        StructField("params", MapType(StringType(), StringType()), False),
        StructField("gate_passed", BooleanType(), False),
        StructField("gate_summary", StringType(), True),
        StructField("published_at", TimestampType(), False),
    ]),
    keys=("publication_id",),
    skipping_columns=("as_of_end",),  # the features job looks up the newest gated publications
    write_mode="append",
    description="One row per feature table per features run: feature-set version and definition "
    "hash, the Delta version written, the input table versions read, code version, gate result.",
    expectations=(unique("publication_id"),),
)

DAILY_TABLES = (LABELER_QUEUE_DAILY, LABELER_DAILY, QUEUE_DAILY)
FEATURE_TABLES = (LABELER_QUEUE_FEATURES, LABELER_FEATURES, TASK_FEATURES)
ALL = (*DAILY_TABLES, *FEATURE_TABLES, PUBLICATIONS)
