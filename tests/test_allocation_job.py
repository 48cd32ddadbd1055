"""End to end: ``jobs/allocate.py`` on tiny silver tables written with the silver contracts,
nothing to plan (empty roster, no open tasks), and the Pareto sweep command."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from pyspark.sql import functions as F
from test_allocation_inputs import DAY, at, silver_judgments, silver_roster, silver_tasks

from jobs import delta_io
from jobs.lake import Lake
from schemas import allocation, silver
from schemas.ops import RUNS
from scoring.allocation.config import TOP_K

DATE = DAY.isoformat()


def _write(spark, lake: str, df, contract) -> None:
    delta_io.overwrite(df, contract, Lake(lake).path(contract), "{}")


def _silver(spark, lake: str, roster_rows: list[dict]) -> None:
    tasks = [{"task_id": f"S{i}", "queue": "spam", "language": "en" if i % 4 else "es",
              "priority": 1 + i % 3, "deadline_at": at(6 + 4 * i)} for i in range(12)]
    tasks += [{"task_id": f"M{i}", "queue": "sentiment", "created_at": at(2, DAY - timedelta(days=1))}
              for i in range(6)]
    judgments = [{"task_id": "S1", "labeler_id": "a", "label": "spam", "active_seconds": 15.0},
                 {"task_id": "S2", "labeler_id": "b", "status": "skipped"},
                 {"task_id": "M0", "labeler_id": "c", "queue": "sentiment", "label": "positive"}]
    judgments += [{"task_id": f"G{i}", "labeler_id": "a", "label": "spam", "is_gold": True,
                   "gold_label": "spam", "active_seconds": 12.0} for i in range(6)]
    _write(spark, lake, silver_tasks(spark, tasks), silver.TASKS)
    _write(spark, lake, silver_judgments(spark, judgments), silver.JUDGMENTS)
    _write(spark, lake, silver_roster(spark, roster_rows), silver.LABELER_SNAPSHOTS)


ROSTER = [
    {"labeler_id": "a", "certified_queues": ["spam", "sentiment"], "shift_hours": 0.05},
    {"labeler_id": "b", "languages": ["en", "es"], "certified_queues": ["spam"], "shift_hours": 0.02},
    {"labeler_id": "c", "certified_queues": ["sentiment"], "hourly_cost": 30.0},
    {"labeler_id": "d", "languages": ["es"], "certified_queues": ["spam"], "status": "offboarded"},
]


def _plan(spark, lake: str):
    return delta_io.read_version(spark, Lake(lake).path(allocation.PLAN),
                                 delta_io.latest_version(spark, Lake(lake).path(allocation.PLAN)))


@contextmanager
def logged(name: str, level: int = logging.INFO) -> Iterator[list[logging.LogRecord]]:
    """Records of a labelops logger (they do not propagate to pytest's caplog: jobs.job.setup_logging)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(level)
    handler.emit = records.append
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def test_allocate_job_end_to_end_and_sweep(spark, lake, capsys) -> None:
    from jobs.allocate import main
    from jobs.cli import main as cli

    _silver(spark, lake, ROSTER)
    with logged("labelops.allocate") as records:
        assert main(["--date", DATE, "--lake", lake, "--window-hours", "24", "--weight", "load=0.5"]) == 0
    run = spark.read.format("delta").load(Lake(lake).path(RUNS)).where("job = 'allocate'").first()
    assert run["metrics"]["allocation.top_k"] == TOP_K  # the bound that shaped the plan stays with the run
    # where the computation's time went: one line, every step named, and its total on the run row
    line = next(r.getMessage() for r in records if "candidate pairs in" in r.getMessage())
    assert re.match(r"allocate: planned [1-9][0-9]* candidate pairs in [0-9.]+s: ", line), line
    for step in ("entity_codes", "candidate_pairs", "load_ratios", "matching", "random_baseline", "plan_figures"):
        assert re.search(rf"\b{step} [0-9.]+s\b", line), (step, line)
    # the random baseline runs beside the matching: the line gives each one's sequential path
    assert re.search(r"\(side by side: policy path [0-9.]+s, random path [0-9.]+s\)$", line), line
    assert 0 < run["metrics"]["allocation.compute_ms"] < run["duration_s"] * 1000
    plan = _plan(spark, lake).persist()
    rows = plan.collect()
    assert rows, "the plan is empty"
    by_lab = {}
    for r in rows:
        by_lab.setdefault(r["labeler_id"], []).append(r)
        assert r["is_eligible"] and r["score"] > 0 and r["policy_version"] and r["run_id"]
        assert r["w_load"] == 0.5 and r["w_cost"] > 0  # the override reached every row
    assert "d" not in by_lab  # offboarded
    for rs in by_lab.values():  # capacities respected, ranks dense
        assert len(rs) <= rs[0]["labeler_capacity"]
        assert sorted(r["rank"] for r in rs) == list(range(1, len(rs) + 1))
    # already judged / skipped pairs are never planned again
    pairs = {(r["labeler_id"], r["task_id"]) for r in rows}
    assert ("a", "S1") not in pairs and ("b", "S2") not in pairs and ("c", "M0") not in pairs
    # es tasks only go to es speakers
    assert all(r["labeler_id"] == "b" for r in rows if r["task_id"] in {"S0", "S4", "S8"})
    per_task = plan.groupBy("task_id").agg(F.count("*").alias("n"), F.max("task_labels_needed").alias("need"))
    assert per_task.where("n > need").count() == 0
    plan.unpersist()

    metrics = delta_io.read_version(spark, Lake(lake).path(allocation.PLAN_METRICS), 0)
    overall = {r["policy"]: r for r in metrics.where("queue = '_all'").collect()}
    assert set(overall) == {"policy", "random"}
    # a few pairs fit one exact solve: the default strategy (auto) solved every queue at once, so
    # the plan is the optimum and its bound is its own objective
    assert {r["strategy"] for r in metrics.collect()} == {"global"}
    assert overall["policy"]["upper_bound"] == pytest.approx(overall["policy"]["objective"], rel=1e-9)
    assert overall["policy"]["assigned"] == len(rows)
    assert overall["policy"]["mean_expected_accuracy"] >= overall["random"]["mean_expected_accuracy"]
    # the plan rows' components (computed from the codes after matching) and the report's sums
    # (built-in expressions over every candidate pair) are the same formulas on the same pairs
    assert sum(r["expected_accuracy"] for r in rows) == pytest.approx(
        overall["policy"]["mean_expected_accuracy"] * len(rows), rel=1e-9)
    assert sum(r["expected_cost"] for r in rows) == pytest.approx(overall["policy"]["total_expected_cost"], rel=1e-9)
    assert sum(r["score"] for r in rows) == pytest.approx(overall["policy"]["objective"], rel=1e-9)

    # a rerun of the date replaces its plan with the same one (no duplicate rows, same pairs and
    # figures; only the run id differs), and the random baseline is drawn the same way again
    assert main(["--date", DATE, "--lake", lake, "--window-hours", "24", "--weight", "load=0.5"]) == 0
    first = delta_io.read_version(spark, Lake(lake).path(allocation.PLAN), 0).drop("run_id")
    again = _plan(spark, lake).drop("run_id")
    assert again.count() == len(rows)
    assert first.exceptAll(again).count() == 0 and again.exceptAll(first).count() == 0
    def figures(df):  # sums over the pairs: their last bits may follow the summation order
        return df.select(*[F.round(c, 9).alias(c) if t == "double" else F.col(c)
                           for c, t in df.dtypes if c != "run_id"])
    metrics_again = delta_io.read_version(spark, Lake(lake).path(allocation.PLAN_METRICS), 1)
    assert metrics_again.count() == metrics.count()
    assert figures(metrics).exceptAll(figures(metrics_again)).count() == 0

    capsys.readouterr()
    with logged("labelops.allocation") as records:
        assert cli(["allocation", "sweep", "--lake", lake, "--date", DATE, "--window-hours", "24",
                    "--grid", "quality=0,4", "--grid", "cost=0,2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["points"]) == 4 and any(p["pareto"] for p in out["points"])
    # the sweep says what it solves before the wait, and what came of it
    said = "\n".join(r.getMessage() for r in records)
    assert re.search(rf"4 weight settings over [1-9][0-9]* candidate pairs \(top_k={TOP_K}\)", said)
    assert f"4 points, {sum(p['pareto'] for p in out['points'])} on the Pareto front" in said
    for path in (out["csv"], out["png"]):
        assert Path(path).stat().st_size > 0


@pytest.mark.parametrize("case", ["empty_roster", "no_open_tasks", "no_eligible_pair"])
def test_nothing_to_plan_gives_an_empty_plan_and_a_clear_log_line(spark, lake, case, capsys) -> None:
    from jobs.allocate import main
    from jobs.cli import main as cli

    if case == "empty_roster":
        _silver(spark, lake, [{"labeler_id": "x", "status": "inactive"}])
        expected = "no active labeler"
    elif case == "no_open_tasks":  # every task is older than the planning horizon
        _silver(spark, lake, ROSTER)
        old = silver_tasks(spark, [{"task_id": "old", "created_at": at(1, DAY - timedelta(days=40))}])
        _write(spark, lake, old, silver.TASKS)
        expected = "no open tasks need labels"
    else:  # open tasks and a labeler with capacity, but she speaks none of the tasks' languages
        _silver(spark, lake, [{"labeler_id": "z", "languages": ["fr"], "certified_queues": ["spam"]}])
        expected = "no eligible"
    with logged("labelops.allocate", logging.WARNING) as records:
        assert main(["--date", DATE, "--lake", lake]) == 0
    assert any(expected in r.getMessage() and "EMPTY plan" in r.getMessage() for r in records)
    assert _plan(spark, lake).count() == 0
    capsys.readouterr()
    assert cli(["allocation", "sweep", "--lake", lake, "--date", DATE, "--grid", "quality=0,4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["points"] == [] and expected in out["reason"]


def test_no_open_tasks_is_reported(spark) -> None:
    from scoring.allocation.pipeline import AllocationInputs, empty_reason

    labelers = spark.createDataFrame([("a", 5)], "labeler_id string, capacity int")
    none_open = spark.createDataFrame([("t", 0)], "task_id string, labels_needed int")
    some_open = spark.createDataFrame([("t", 2)], "task_id string, labels_needed int")
    nobody = spark.createDataFrame([("a", 0)], "labeler_id string, capacity int")
    judged = spark.createDataFrame([], "task_id string, labeler_id string")
    assert empty_reason(AllocationInputs(none_open, labelers, judged, judged)) == "no open tasks need labels"
    assert "no active labeler" in empty_reason(AllocationInputs(some_open, nobody, judged, judged))
    assert empty_reason(AllocationInputs(some_open, labelers, judged, judged)) is None
