"""Jobs as spark-submit runs them: killed mid-write, and on a Spark standalone cluster."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from experiments.synth import generate
from jobs import ingest
from schemas import bronze

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent
D1, D2 = "2026-01-05", "2026-01-06"
TABLES = [bronze.INGEST_AUDIT, *bronze.BY_SOURCE.values(), bronze.QUARANTINE]


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("raw")
    generate(out, date(2026, 1, 5), days=2, seed=3, judgments_per_day=20000)
    return out


def _submit_cmd(*args: str, master: str = "local[2]") -> list[str]:
    spark_submit = str(Path(sys.executable).parent / "spark-submit")
    return [spark_submit, "--master", master, "--properties-file", str(REPO / "infra" / "spark-defaults.conf"),
            "--conf", "spark.ui.enabled=false", "--conf", "spark.sql.shuffle.partitions=2",
            str(REPO / "jobs" / "ingest.py"), *args]


def _env() -> dict[str, str]:
    import pyspark

    return {**os.environ, "SPARK_HOME": str(Path(pyspark.__file__).parent), "PYSPARK_PYTHON": sys.executable}


def _counts(spark, lake: str, day: str) -> dict[str, int]:
    return {c.qualified_name: spark.read.format("delta").load(f"{lake}/{c.layer}/{c.name}")
            .where(F.col("ingest_date") == day).count() for c in TABLES}


def test_sigkill_during_publication_leaves_no_partial_commit_and_a_rerun_completes(spark, lake, raw):
    assert ingest.main(["--date", D1, "--raw", str(raw), "--lake", lake]) == 0
    day1 = _counts(spark, lake, D1)

    # spark-submit's PythonRunner forwards the Python driver's stdout and stderr to its stdout.
    proc = subprocess.Popen(_submit_cmd("--date", D2, "--raw", str(raw), "--lake", lake), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=_env(), start_new_session=True)
    killed_at, seen = None, []
    for line in proc.stdout:
        seen.append(line)
        if "published bronze.ingest_audit" in line:  # the next table's write has just started
            os.killpg(proc.pid, signal.SIGKILL)
            killed_at = line
            break
    proc.wait(timeout=600)
    assert killed_at is not None, "".join(seen[-40:])
    assert proc.returncode == -signal.SIGKILL

    after_kill = _counts(spark, lake, D2)
    assert _counts(spark, lake, D1) == day1, "a killed run must not touch other days"
    assert ingest.main(["--date", D2, "--raw", str(raw), "--lake", lake]) == 0
    complete = _counts(spark, lake, D2)
    for table, n in after_kill.items():
        assert n in (0, complete[table]), f"{table}: {n} rows after the kill, {complete[table]} when complete"
    assert after_kill[bronze.INGEST_AUDIT.qualified_name] == complete[bronze.INGEST_AUDIT.qualified_name]
    assert sum(after_kill.values()) < sum(complete.values()), "the kill should have landed mid-publication"
    assert _counts(spark, lake, D1) == day1


def test_the_same_job_runs_unchanged_on_a_standalone_cluster(spark, lake, raw):
    from infra import local_cluster

    url = local_cluster.up(cores=1, memory="1g")
    try:
        out = subprocess.run(_submit_cmd("--date", D1, "--raw", str(raw), "--lake", lake, master=url),
                             capture_output=True, text=True, env=_env(), timeout=900)
    finally:
        local_cluster.down()
    assert out.returncode == 0, out.stderr[-3000:]
    run = spark.read.format("delta").load(f"{lake}/_ops/runs").first()
    assert run.status == "success" and run.spark_master == url
    assert spark.read.format("delta").load(f"{lake}/bronze/judgments").count() > 0
