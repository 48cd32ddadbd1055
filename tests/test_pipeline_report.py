"""The lake's HTML report: the allocation section reads the plans' overall figures and, from the
run table, the candidate bound (top_k) each day's plan was made with."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from chispa import assert_df_equality

from jobs import delta_io
from jobs.lake import Lake
from jobs.pipeline_report import PLAN_SUMMARY_COLUMNS, build_report, plan_bounds, plan_summary
from schemas import allocation, ops


def _metrics_row(day: int, queue: str, policy: str, accuracy: float | None, cost: float) -> dict:
    row = {f.name: None for f in allocation.PLAN_METRICS.schema.fields}
    row.update(plan_date=date(2026, 1, day), queue=queue, policy=policy, pairs=4000, tasks=10, demand_labels=12,
               capacity_labels=20, assigned=12 if policy == "policy" else 11, mean_expected_accuracy=accuracy,
               cost_per_label=cost, on_time_share=0.5, filled_share=1.0, strategy="priced",
               policy_version="v", run_id="r")
    return row


def _metrics(spark):
    rows = [_metrics_row(5, "_all", "policy", 0.8302, 0.0744), _metrics_row(5, "_all", "random", 0.7288, 0.1229),
            _metrics_row(5, "spam", "policy", 0.99, 0.01),  # a queue's row: not in the summary
            _metrics_row(6, "_all", "policy", None, 0.0700),  # a null figure renders as "-"
            _metrics_row(6, "_all", "random", 0.7001, 0.1300)]
    return spark.createDataFrame(rows, allocation.PLAN_METRICS.schema)


def _run_row(run_id: str, day: int, minute: int, top_k: int | None, job: str = "allocate",
             status: str = "success") -> dict:
    at = datetime(2026, 1, 12, 0, minute)
    return {"run_id": run_id, "job": job, "logical_date": date(2026, 1, day), "status": status,
            "started_at": at, "finished_at": at, "duration_s": 1.0, "inputs": {}, "outputs": {},
            "metrics": {} if top_k is None else {"allocation.top_k": top_k, "plan.rows": 12},
            "gate_passed": True, "gate_summary": None, "code_version": "c", "spark_master": "local[2]",
            "error": None}


def _runs(spark):
    rows = [_run_row("a", 5, 1, 20), _run_row("b", 5, 2, 40),  # a rerun with another bound: the latest counts
            _run_row("c", 5, 3, 10, status="failed"),  # a failed run made no plan
            _run_row("d", 5, 4, 10, job="features"),
            _run_row("e", 6, 1, None)]  # a run from before the metric: the bound is unknown (null)
    return spark.createDataFrame(rows, ops.RUNS.schema)


def test_plan_bounds_take_the_latest_successful_allocate_run_per_day(spark) -> None:
    expected = spark.createDataFrame([(date(2026, 1, 5), 40), (date(2026, 1, 6), None)],
                                     "plan_date date, top_k int")
    assert_df_equality(plan_bounds(_runs(spark)), expected, ignore_row_order=True, ignore_nullable=True)


def test_plan_summary_keeps_the_overall_rows_newest_first(spark) -> None:
    expected = spark.createDataFrame(
        [_metrics_row(6, "_all", "policy", None, 0.0700), _metrics_row(6, "_all", "random", 0.7001, 0.1300),
         _metrics_row(5, "_all", "policy", 0.8302, 0.0744), _metrics_row(5, "_all", "random", 0.7288, 0.1229)],
        allocation.PLAN_METRICS.schema).select(*PLAN_SUMMARY_COLUMNS)
    assert_df_equality(plan_summary(_metrics(spark)), expected)


def test_report_shows_each_days_plan_next_to_the_random_baseline(spark, lake) -> None:
    lake_ = Lake(lake)
    delta_io.overwrite(_metrics(spark), allocation.PLAN_METRICS, lake_.path(allocation.PLAN_METRICS), "{}")
    delta_io.overwrite(_runs(spark), ops.RUNS, lake_.path(ops.RUNS), "{}")
    page = build_report(spark, lake_).read_text()
    section = page[page.index("<h2>Allocation plans</h2>"):]
    assert '<img src="allocation_plans.png">' in section
    assert Path(lake_.reports_root, "allocation_plans.png").stat().st_size > 0
    for figure in ("0.8302", "0.7288", "0.1229", "12 / 12", "11 / 12"):
        assert figure in section
    assert "0.9900" not in section  # the per-queue row stays out
    day6_policy = section[section.index("<td>2026-01-06</td><td>policy</td>"):].split("</tr>")[0]
    assert "<td>-</td>" in day6_policy and "0.0700" in day6_policy
    day5_policy = section[section.index("<td>2026-01-05</td><td>policy</td>"):].split("</tr>")[0]
    assert day5_policy.endswith("<td>4,000</td><td>40</td>")  # candidate pairs, then the bound of the latest run
    assert day6_policy.endswith("<td>4,000</td><td>-</td>")  # no top_k recorded for that run
