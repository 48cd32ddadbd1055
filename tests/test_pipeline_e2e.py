"""End to end, as a data engineer runs it: generate exports, run the daily Airflow DAG
(`labelops pipeline`: dag.test()) for three days - the first with one spark-submit per
job, the next two with the in-process runner `labelops demo` uses - then a broken fourth
day (spark-submit) whose gate must stop the DAG without touching what was published."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from e2e_pipeline import BROKEN, DAYS
from pyspark.sql import functions as F

from jobs.registry import DAILY

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pipeline(e2e_pipeline):
    """Every run happened in the background since the session started (conftest)."""
    return {"raw": e2e_pipeline.raw, "lake": e2e_pipeline.lake, **e2e_pipeline.results()}


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


def test_spark_logs_carry_none_of_the_known_noise(pipeline):
    """Each of these once came dozens of times a day with nothing to act on: GX caching what
    the job had cached (jobs/quality.py) and the unpersist of a local checkpoint
    (infra/log4j2.properties)."""
    out = pipeline["good"].stdout + pipeline["good"].stderr
    for noise in ("Asked to cache already cached data", "was locally checkpointed"):
        assert noise not in out, f"{noise!r} in the pipeline's log"
