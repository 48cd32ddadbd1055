"""Plan constraint columns, violation counts and the gate that blocks a bad plan."""

from __future__ import annotations

from datetime import date, datetime

from pyspark.sql import functions as F

from jobs import delta_io
from jobs.quality import QualityGate
from schemas import allocation
from scoring.allocation.plan import constraint_violations, with_constraint_columns, with_ranks

WINDOW = datetime(2026, 1, 6)


def _inputs(spark):
    labelers = spark.createDataFrame(
        [("L1", ["en"], ["spam"], 10.0, 1, 20.0), ("L2", ["en"], ["spam"], 10.0, 5, 20.0),
         ("L3", ["en"], ["sentiment"], 10.0, 5, 20.0), ("L4", None, None, None, None, None)],
        "labeler_id string, languages array<string>, certified_queues array<string>, hourly_cost double, "
        "capacity int, handling_s double")
    tasks = spark.createDataFrame(
        [("T1", "spam", "en", 1), ("T2", "spam", "en", 2), ("T3", "spam", "en", 1)],
        "task_id string, queue string, language string, labels_needed int")
    judged = spark.createDataFrame([("T3", "L2")], "task_id string, labeler_id string")
    return labelers, tasks, judged


def _plan(spark, rows):
    df = spark.createDataFrame(rows, "labeler_id string, task_id string, queue string, score double")
    return (df.withColumn("window_start", F.lit(WINDOW).cast("timestamp"))
            .withColumn("deadline_at", F.lit(None).cast("timestamp")))


def test_constraint_columns_count_every_kind_of_violation(spark) -> None:
    labelers, tasks, judged = _inputs(spark)
    bad = _plan(spark, [
        ("L1", "T1", "spam", 1.0), ("L1", "T2", "spam", 1.0),  # L1 over capacity (1)
        ("L2", "T1", "spam", 1.0),                              # T1 over-assigned (needs 1)
        # T2 (needs 2) gets L1, L3 and L4: over-assigned too
        ("L3", "T2", "spam", 1.0),                              # L3 not certified for spam
        ("L2", "T3", "spam", 1.0),                              # L2 already judged T3
        ("L4", "T2", "spam", 1.0),                              # L4: null roster fields
    ])
    checked = with_constraint_columns(bad, labelers, tasks, judged)
    counts = constraint_violations(checked)
    # rows counted: L1's two + L4's one (no capacity known = 0); T1's two + T2's three
    assert counts == {"over_capacity": 3, "over_assigned": 5, "ineligible": 3, "duplicate_pairs": 0,
                      "rows": 6}
    dup = with_constraint_columns(bad.unionByName(bad.limit(1)), labelers, tasks, judged)
    assert constraint_violations(dup)["duplicate_pairs"] == 1
    triple = with_constraint_columns(bad.unionByName(bad.limit(1)).unionByName(bad.limit(1)), labelers, tasks,
                                     judged)
    assert constraint_violations(triple)["duplicate_pairs"] == 2  # rows beyond the first of their pair
    good = with_constraint_columns(_plan(spark, [("L1", "T1", "spam", 1.0), ("L2", "T2", "spam", 1.0)]),
                                   labelers, tasks, judged)
    assert constraint_violations(good) == {"over_capacity": 0, "over_assigned": 0, "ineligible": 0,
                                           "duplicate_pairs": 0, "rows": 2}


def _publishable(df):
    cols = {f"w_{w}": 1.0 for w in allocation.WEIGHT_NAMES}
    cols.update({c: 0.5 for c in allocation.COMPONENTS})
    out = df.transform(with_ranks)
    for name, value in cols.items():
        out = out.withColumn(name, F.lit(value))
    return (out.withColumn("plan_date", F.lit(date(2026, 1, 5)))
            .withColumn("window_end", F.lit(datetime(2026, 1, 7)).cast("timestamp"))
            .withColumn("priority", F.lit(1)).withColumn("solver", F.lit("min_cost_flow"))
            .withColumn("policy_version", F.lit("test")).withColumn("run_id", F.lit("r1")))


def test_gate_blocks_a_plan_that_breaks_capacity_and_passes_a_good_one(spark) -> None:
    labelers, tasks, judged = _inputs(spark)
    gate = QualityGate(None)
    bad = _plan(spark, [("L1", "T1", "spam", 1.0), ("L1", "T2", "spam", 1.0), ("L2", "T2", "spam", 1.0)])
    bad = delta_io.conform(_publishable(with_constraint_columns(bad, labelers, tasks, judged)), allocation.PLAN)
    result = gate.validate(bad, allocation.PLAN, run_id="r1", logical_date="2026-01-05")
    failed = {o.expectation for o in result.failures}
    assert not result.passed
    assert "ExpectColumnPairValuesAToBeGreaterThanB(labeler_capacity >= labeler_assigned)" in failed
    assert "UnexpectedRowsExpectation(labeler_over_capacity)" in failed
    assert not any("task" in name for name in failed)  # T2 needs 2 and got 2
    good = _plan(spark, [("L1", "T1", "spam", 1.0), ("L2", "T2", "spam", 0.5)])
    good = delta_io.conform(_publishable(with_constraint_columns(good, labelers, tasks, judged)), allocation.PLAN)
    assert gate.validate(good, allocation.PLAN, run_id="r1", logical_date="2026-01-05").passed
