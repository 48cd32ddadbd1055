"""The lake's HTML report: the allocation section reads the plans' overall figures."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from chispa import assert_df_equality

from jobs import delta_io
from jobs.lake import Lake
from jobs.pipeline_report import PLAN_SUMMARY_COLUMNS, build_report, plan_summary
from schemas import allocation


def _metrics_row(day: int, queue: str, policy: str, accuracy: float | None, cost: float) -> dict:
    row = {f.name: None for f in allocation.PLAN_METRICS.schema.fields}
    row.update(plan_date=date(2026, 1, day), queue=queue, policy=policy, pairs=40, tasks=10, demand_labels=12,
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


def test_plan_summary_keeps_the_overall_rows_newest_first(spark) -> None:
    expected = spark.createDataFrame(
        [_metrics_row(6, "_all", "policy", None, 0.0700), _metrics_row(6, "_all", "random", 0.7001, 0.1300),
         _metrics_row(5, "_all", "policy", 0.8302, 0.0744), _metrics_row(5, "_all", "random", 0.7288, 0.1229)],
        allocation.PLAN_METRICS.schema).select(*PLAN_SUMMARY_COLUMNS)
    assert_df_equality(plan_summary(_metrics(spark)), expected)


def test_report_shows_each_days_plan_next_to_the_random_baseline(spark, lake) -> None:
    lake_ = Lake(lake)
    delta_io.overwrite(_metrics(spark), allocation.PLAN_METRICS, lake_.path(allocation.PLAN_METRICS), "{}")
    page = build_report(spark, lake_).read_text()
    section = page[page.index("<h2>Allocation plans</h2>"):]
    assert '<img src="allocation_plans.png">' in section
    assert Path(lake_.reports_root, "allocation_plans.png").stat().st_size > 0
    for figure in ("0.8302", "0.7288", "0.1229", "12 / 12", "11 / 12"):
        assert figure in section
    assert "0.9900" not in section  # the per-queue row stays out
    day6_policy = section[section.index("<td>2026-01-06</td><td>policy</td>"):].split("</tr>")[0]
    assert "<td>-</td>" in day6_policy and "0.0700" in day6_policy
