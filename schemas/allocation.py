"""Allocation: the assignment plan (who labels what next) and its expected figures.

The plan is rewritten per logical date (``plan_date``): rerunning a date replaces that
date's plan. Its gate checks the hard constraints on the rows about to be published:
capacity, labels still needed, eligibility (recomputed from the inputs, not trusted from
the matcher), and no duplicate (window, labeler, task) pair. Cross-row rules are checked
twice: on per-row helper columns (``labeler_assigned <= labeler_capacity``) and by a SQL
query that recounts the rows (so a wrong helper column cannot hide a violation).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql.types import (
    BooleanType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from schemas.contract import Expectation, Severity, TableContract, in_set, row_rule, unique
from schemas.reference import QUEUES

QUEUE_NAMES = sorted(QUEUES)
SOLVERS = ("min_cost_flow", "greedy")
WEIGHT_NAMES = ("coverage", "quality", "cost", "deadline", "load")
COMPONENTS = ("expected_accuracy", "label_value", "expected_cost", "deadline_risk", "on_time_gain",
              "load_penalty")


@dataclass(frozen=True)
class NamedExpectation(Expectation):
    """An expectation whose gate label is its note (pair and SQL checks have no single column)."""

    @property
    def label(self) -> str:
        return f"{self.kind}({self.note})"


def a_at_least_b(a: str, b: str, severity: Severity = "error") -> NamedExpectation:
    return NamedExpectation("ExpectColumnPairValuesAToBeGreaterThanB",
                            {"column_A": a, "column_B": b, "or_equal": True,
                             "ignore_row_if": "either_value_is_missing"},
                            severity, note=f"{a} >= {b}")


def no_rows(name: str, query: str, severity: Severity = "error") -> NamedExpectation:
    """Fails when the Spark SQL ``query`` over ``{batch}`` returns any row."""
    return NamedExpectation("UnexpectedRowsExpectation",
                            {"unexpected_rows_query": query, "description": name}, severity, note=name)


def no_rows_where(name: str, condition: str, columns: str, severity: Severity = "error") -> NamedExpectation:
    """Fails when a row of the batch matches ``condition`` (a row rule: see ``Expectation.where``)."""
    return row_rule(name, condition, columns=columns, severity=severity, cls=NamedExpectation)


_PLAN_NOT_NULL = ("plan_date", "window_start", "labeler_id", "task_id", "queue", "rank", "score",
                  *COMPONENTS, *[f"w_{w}" for w in WEIGHT_NAMES], "policy_version", "run_id")
_UNIT_COMPONENTS = ("expected_accuracy", "label_value", "deadline_risk", "on_time_gain", "load_penalty")

PLAN = TableContract(
    layer="allocation",
    name="assignment_plan",
    schema=StructType([
        StructField("plan_date", DateType(), False),
        StructField("window_start", TimestampType(), False),
        StructField("window_end", TimestampType(), False),
        StructField("labeler_id", StringType(), False),
        StructField("task_id", StringType(), False),
        StructField("queue", StringType(), False),
        StructField("rank", IntegerType(), False),  # order the labeler should work its tasks in
        StructField("score", DoubleType(), False),
        *[StructField(c, DoubleType(), False) for c in COMPONENTS],
        *[StructField(f"w_{w}", DoubleType(), False) for w in WEIGHT_NAMES],
        StructField("priority", IntegerType(), True),
        StructField("deadline_at", TimestampType(), True),
        StructField("solver", StringType(), False),
        StructField("labeler_capacity", IntegerType(), False),
        StructField("labeler_assigned", IntegerType(), False),
        StructField("task_labels_needed", IntegerType(), False),
        StructField("task_assigned", IntegerType(), False),
        StructField("is_eligible", BooleanType(), False),
        StructField("policy_version", StringType(), False),
        StructField("run_id", StringType(), False),
    ]),
    keys=("plan_date", "labeler_id", "task_id"),
    partition_by=("plan_date",),
    logical_date_column="plan_date",
    write_mode="replace_partition",
    description="Assignment plan for the window after plan_date: one row per (labeler, task) to "
    "offer, with its rank for the labeler, total score, each score component, the weights used, "
    "the policy version and the run that produced it.",
    # Few expectations, most as one SQL query each: GX runs one Spark job per expectation.
    expectations=(
        no_rows_where("not_null", " OR ".join(f"`{c}` IS NULL" for c in _PLAN_NOT_NULL), "labeler_id, task_id"),
        unique("window_start", "labeler_id", "task_id"),
        in_set("queue", QUEUE_NAMES),
        in_set("solver", SOLVERS),
        in_set("is_eligible", [True]),
        no_rows_where("values_in_range",
                      "`rank` < 1 OR score <= 0 OR expected_cost < 0 OR isnan(score) OR "
                      + " OR ".join(f"`{c}` < 0 OR `{c}` > 1 OR isnan(`{c}`)" for c in _UNIT_COMPONENTS),
                      "labeler_id, task_id"),
        a_at_least_b("labeler_capacity", "labeler_assigned"),
        a_at_least_b("task_labels_needed", "task_assigned"),
        no_rows("labeler_over_capacity",
                "SELECT labeler_id FROM {batch} GROUP BY window_start, labeler_id "
                "HAVING count(*) > max(labeler_capacity)"),
        no_rows("task_over_assigned",
                "SELECT task_id FROM {batch} GROUP BY window_start, task_id "
                "HAVING count(*) > max(task_labels_needed)"),
        no_rows("rank_not_dense",
                "SELECT labeler_id FROM {batch} GROUP BY window_start, labeler_id "
                "HAVING max(`rank`) <> count(*)"),
    ),
)

_METRIC_COUNTS = ("pairs", "tasks", "demand_labels", "capacity_labels", "assigned")
_METRIC_RATIOS = ("mean_expected_accuracy", "mean_true_accuracy", "cost_per_label", "on_time_share",
                  "filled_share")

PLAN_METRICS = TableContract(
    layer="allocation",
    name="plan_metrics",
    schema=StructType([
        StructField("plan_date", DateType(), False),
        StructField("queue", StringType(), False),  # a queue, or "_all"
        StructField("policy", StringType(), False),  # "policy" (the plan) or "random" (baseline)
        *[StructField(c, LongType(), True) for c in _METRIC_COUNTS],
        *[StructField(c, DoubleType(), True) for c in _METRIC_RATIOS],
        StructField("total_expected_cost", DoubleType(), True),
        StructField("total_label_value", DoubleType(), True),
        StructField("objective", DoubleType(), True),  # total policy score of the plan's pairs
        StructField("exact_objective", DoubleType(), True),
        StructField("greedy_objective", DoubleType(), True),
        StructField("greedy_gap", DoubleType(), True),  # (exact - greedy) / exact where both ran
        StructField("strategy", StringType(), False),
        StructField("upper_bound", DoubleType(), True),  # bound on the global optimum ("_all" rows)
        StructField("policy_version", StringType(), False),
        StructField("run_id", StringType(), False),
    ]),
    keys=("plan_date", "queue", "policy"),
    partition_by=("plan_date",),
    logical_date_column="plan_date",
    write_mode="replace_partition",
    description="Expected figures of each day's plan per queue and overall, next to a random "
    "assignment of the same candidate pairs under the same capacities: expected accuracy, cost, "
    "on-time share, share of needed labels filled, objective, and the greedy-vs-exact gap of the matching.",
    expectations=(
        no_rows_where("not_null", "plan_date IS NULL OR queue IS NULL OR policy IS NULL OR assigned IS NULL "
                      "OR run_id IS NULL", "queue, policy"),
        unique("plan_date", "queue", "policy"),
        in_set("policy", ["policy", "random"]),
        in_set("queue", [*QUEUE_NAMES, "_all"]),
        no_rows_where("values_in_range",
                      "greedy_gap < -1e-9 OR assigned > demand_labels OR "
                      + " OR ".join(f"{c} < 0 OR {c} > 1 + 1e-9"
                                    for c in ("mean_expected_accuracy", "on_time_share", "filled_share")),
                      "queue, policy"),
    ),
)

ALL = (PLAN, PLAN_METRICS)
