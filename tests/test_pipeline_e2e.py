"""End to end, as a data engineer runs it: generate exports, run the daily Airflow DAG
(`labelops pipeline`: dag.test()) for three days - the first with one spark-submit per
job, the next two with the in-process runner `labelops demo` uses - then a broken fourth
day (spark-submit) whose gate must stop the DAG without touching what was published."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from experiments.synth import generate
from jobs import cli
from jobs.registry import DAILY

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent
LABELOPS = [sys.executable, "-m", "jobs.cli"]
DAYS = ["2026-01-05", "2026-01-06", "2026-01-07"]
BROKEN = "2026-01-08"


def _labelops(*args: str, timeout: int = 1500) -> subprocess.CompletedProcess:
    env = {**os.environ, "LABELOPS_LOG_LEVEL": "INFO"}
    return subprocess.run([*LABELOPS, *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO)


def _tables_json(lake: Path) -> subprocess.CompletedProcess:
    """`labelops tables --lake L --json`, in-process on the test session (a subprocess would
    start one more JVM just to list tables)."""
    out = io.StringIO()
    labelops_logger = logging.getLogger("labelops")
    level = labelops_logger.level
    try:
        with contextlib.redirect_stdout(out):
            code = cli.main(["tables", "--lake", str(lake), "--json"])
    finally:
        labelops_logger.setLevel(level)
    return subprocess.CompletedProcess(["labelops", "tables"], code, out.getvalue(), "")


@pytest.fixture(scope="module")
def pipeline(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    raw, lake = root / "raw", root / "lake"
    generate(raw, date(2026, 1, 5), days=4, seed=5, judgments_per_day=3000)
    # Day 4's judgments export is garbage: most lines cut in half.
    for f in (raw / "judgments" / f"dt={BROKEN}").glob("*.jsonl"):
        lines = f.read_text().splitlines()
        f.write_text("\n".join(line[: len(line) // 3] if i % 4 else line for i, line in enumerate(lines)) + "\n")
    first = _labelops("pipeline", "--start", DAYS[0], "--raw", str(raw), "--lake", str(lake))
    rest = _labelops("pipeline", "--start", DAYS[1], "--end", DAYS[-1], "--raw", str(raw), "--lake", str(lake),
                     "--runner", "in-process")
    good = subprocess.CompletedProcess(first.args, first.returncode or rest.returncode,
                                       first.stdout + rest.stdout, first.stderr + rest.stderr)
    tables_after_good = _tables_json(lake)
    broken = _labelops("pipeline", "--start", BROKEN, "--raw", str(raw), "--lake", str(lake))
    tables_after_broken = _tables_json(lake)
    return {"raw": raw, "lake": lake, "good": good, "broken": broken,
            "tables_good": tables_after_good, "tables_broken": tables_after_broken}


def _tail(proc: subprocess.CompletedProcess) -> str:
    return (proc.stdout[-3000:] + "\n---stderr---\n" + proc.stderr[-3000:])


def test_three_days_run_through_every_stage(pipeline):
    proc = pipeline["good"]
    assert proc.returncode == 0, _tail(proc)
    for day in DAYS:
        assert f"DAG run for {day} succeeded" in proc.stdout
    assert "(--runner spark-submit)" in proc.stdout and "(--runner in-process)" in proc.stdout


def test_runs_table_has_a_gated_success_per_job_and_day(spark, pipeline):
    runs = spark.read.format("delta").load(f"{pipeline['lake']}/_ops/runs").where(F.col("status") == "success")
    got = {(r.job, str(r.logical_date)) for r in runs.collect()}
    assert {(job, day) for job in DAILY for day in DAYS} <= got
    airflow_runs = runs.where(F.col("run_id").contains(".ingest.")).count()
    assert airflow_runs >= len(DAYS), "run ids should carry the Airflow run, task and try"


def test_reconciliation_holds_every_day(spark, pipeline):
    audit = spark.read.format("delta").load(f"{pipeline['lake']}/bronze/ingest_audit").collect()
    assert {str(r.ingest_date) for r in audit} == set(DAYS)
    for r in audit:
        assert r.reconciled and r.lines == r.bronze_rows + r.quarantined_rows, r


def test_tables_json_lists_every_table_with_rows(pipeline):
    proc = pipeline["tables_good"]
    assert proc.returncode == 0, _tail(proc)
    doc = json.loads(proc.stdout)
    by_name = {f"{t['layer']}.{t['name']}": t for t in doc["tables"]}
    for name in ("bronze.judgments", "bronze.quarantine", "silver.judgments", "silver.tasks", "ops.runs"):
        assert by_name[name]["rows"] > 0 and by_name[name]["version"] is not None, name
    assert Path(pipeline["lake"], "_quality", "gx", "uncommitted", "data_docs", "local_site", "index.html").exists()


def test_broken_day_fails_its_gate_stops_downstream_and_keeps_published_versions(spark, pipeline):
    proc = pipeline["broken"]
    assert proc.returncode == 1, _tail(proc)
    assert "quality gate failed" in proc.stdout + proc.stderr
    assert "'ingest': 'failed'" in proc.stdout
    for job in DAILY[1:]:
        assert f"'{job}': 'upstream_failed'" in proc.stdout
    before = {(t["layer"], t["name"]): (t["version"], t["rows"]) for t in json.loads(pipeline["tables_good"].stdout)["tables"]}
    after = {(t["layer"], t["name"]): (t["version"], t["rows"]) for t in json.loads(pipeline["tables_broken"].stdout)["tables"]}
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {("ops", "runs")}, changed  # only the failed run was recorded
    bronze = spark.read.format("delta").load(f"{pipeline['lake']}/bronze/judgments")
    assert bronze.where(F.col("ingest_date") == BROKEN).count() == 0
