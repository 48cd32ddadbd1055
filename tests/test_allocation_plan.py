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


def test_plan_metrics_in_spark_equal_the_pandas_summary_per_queue(spark) -> None:
    """The job's built-in aggregation and the sweep's pandas ``summarize`` report the same plan
    figures (random pairs over two queues, tasks half planned, a null true accuracy)."""
    import numpy as np
    import pandas as pd
    import pytest

    from scoring.allocation.metrics import SUM_FIELDS, plan_metrics, summarize

    rng = np.random.default_rng(5)
    rows = []
    for queue in ("spam", "sentiment"):
        for t in range(6):
            for lab in rng.choice(5, size=3, replace=False):
                rows.append({"queue": queue, "task_id": f"{queue}-T{t}", "labeler_id": f"L{lab}",
                             "labels_needed": t % 3, "expected_accuracy": rng.uniform(0.5, 1.0),
                             "expected_cost": rng.uniform(0.01, 0.2), "label_value": rng.uniform(0, 1),
                             "deadline_risk": rng.uniform(0, 1), "on_time_gain": rng.uniform(0, 0.3),
                             "score": rng.normal(1, 1), "queue_capacity": 2 + lab % 2,
                             "true_accuracy": rng.uniform(0.5, 1.0)})
    pdf = pd.DataFrame(rows)
    pdf.loc[0, "true_accuracy"] = np.nan  # a pair without a known truth (null in Spark)
    pdf["_chosen"] = rng.random(len(pdf)) < 0.4
    pdf.loc[0, "_chosen"] = True
    scored = spark.createDataFrame(pdf.drop(columns="_chosen").astype({"queue_capacity": "int64"}))
    scored = scored.withColumn("true_accuracy", F.when(~F.isnan("true_accuracy"), F.col("true_accuracy")))
    matched = spark.createDataFrame(pdf.loc[pdf["_chosen"], ["task_id", "labeler_id"]])

    got = plan_metrics(scored, {"policy": matched, "random": scored.limit(0)}).toPandas()
    nothing = got[got["policy"] == "random"].set_index("queue")
    assert (nothing["assigned"] == 0).all() and (nothing["sum_score"] == 0).all()
    got = got[got["policy"] == "policy"].set_index("queue")
    for queue, part in pdf.groupby("queue"):
        part = part.reset_index(drop=True)
        want = summarize(part, part["_chosen"].to_numpy())
        for field in SUM_FIELDS:
            assert got.loc[queue, field] == pytest.approx(want[field], rel=1e-9, abs=1e-9), (queue, field)


def test_random_baseline_scores_follow_the_pairs_not_their_row_order(spark) -> None:
    """The baseline is drawn per pair: the same pairs in another order or partitioning (another
    run's shuffle) get the same scores, another seed other ones; all in (0, 1.001]."""
    from scoring.allocation.metrics import with_random_scores

    rows = [(f"t{i:03d}", f"l{j:02d}") for i in range(60) for j in range(5)] + [("t999", None)]
    pairs = spark.createDataFrame(rows, "task_id string, labeler_id string")
    one = with_random_scores(pairs, 7).toPandas().sort_values(["task_id", "labeler_id"]).reset_index(drop=True)
    other = (with_random_scores(pairs.orderBy(F.col("task_id").desc()).repartition(3), 7).toPandas()
             .sort_values(["task_id", "labeler_id"]).reset_index(drop=True))
    assert one.equals(other)
    assert one["score"].between(1e-3, 1.0 + 1e-3).all() and one["score"].nunique() == len(rows)
    assert 0.4 < one["score"].mean() < 0.6
    reseeded = with_random_scores(pairs, 8).toPandas().sort_values(["task_id", "labeler_id"]).reset_index(drop=True)
    assert (reseeded["score"] != one["score"]).mean() > 0.99


def test_plan_metrics_score_unscored_pairs_with_the_plans_weights(spark) -> None:
    """The job sums its plan's score from unscored pairs (the built-in formulas, not the scorer
    UDF again): with the plan's weights the figures equal those of pairs scored beforehand, and
    without weights it refuses rather than score with the defaults."""
    import pandas as pd
    import pytest

    from scoring.allocation.candidates import candidate_pairs
    from scoring.allocation.config import weights_for
    from scoring.allocation.metrics import plan_metrics
    from scoring.allocation.scorers import with_scores_builtin
    from scoring.allocation.synthetic import generate

    syn = generate(n_labelers=12, n_tasks=80, seed=3, window_h=0.5)
    frames = syn.to_spark(spark)
    pairs = (candidate_pairs(frames["open_tasks"], frames["labelers"], frames["skills"], frames["judged"],
                             syn.window_start, top_k=5)
             .withColumn("queue_capacity", F.col("capacity")).persist())
    try:
        weights = weights_for({"cost": 3.0, "deadline": 0.5})  # not the defaults
        scored = with_scores_builtin(pairs, weights=weights, window_h=syn.window_h, score_only=True)
        plans = {"policy": pairs.where(F.abs(F.hash("task_id", "labeler_id")) % 3 == 0),
                 "random": pairs.where(F.abs(F.hash("labeler_id", "task_id")) % 4 == 0)}
        want = plan_metrics(scored, plans, window_h=syn.window_h).toPandas()
        got = plan_metrics(pairs, plans, window_h=syn.window_h, weights=weights).toPandas()
        keys = ["queue", "policy"]
        want, got = (d.sort_values(keys, ignore_index=True) for d in (want, got))
        assert (want["assigned"] > 0).any() and want["sum_score"].abs().sum() > 0
        pd.testing.assert_frame_equal(got, want, rtol=1e-9)
        defaults = plan_metrics(pairs, plans, window_h=syn.window_h, weights=weights_for()).toPandas()
        moved = (defaults.sort_values(keys, ignore_index=True)["sum_score"] - want["sum_score"]).abs().max()
        assert moved > 1e-3  # the weights matter to these figures: defaults would be wrong
        with pytest.raises(ValueError, match="weights"):
            plan_metrics(pairs, plans, window_h=syn.window_h)
    finally:
        pairs.unpersist()
