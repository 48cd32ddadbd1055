"""The daily DAG imports cleanly, has tags and retries, and only wires jobs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jobs.registry import DAILY, JOBS

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def dagbag():
    from infra.airflow_home import configure

    configure()
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_dags_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "labelops_daily" in dagbag.dags


def test_every_dag_has_tags_and_every_task_retries(dagbag):
    for dag in dagbag.dags.values():
        assert dag.tags, dag.dag_id
        for task in dag.tasks:
            assert task.retries >= 2, f"{dag.dag_id}.{task.task_id}"


def test_daily_dag_chains_the_registered_jobs_in_order(dagbag):
    dag = dagbag.dags["labelops_daily"]
    assert [t.task_id for t in dag.topological_sort()] == DAILY
    for name in DAILY:
        task = dag.get_task(name)
        assert task.application == JOBS[name].script and Path(task.application).exists()
        assert task._conn_id == "spark_default"
        assert "{{ ds }}" in task.application_args
        assert ("--raw" in task.application_args) == JOBS[name].needs_raw
    for upstream, downstream in zip(DAILY, DAILY[1:], strict=False):
        assert downstream in dag.get_task(upstream).downstream_task_ids


def test_parsing_the_dag_starts_no_spark_and_is_quick():
    code = (
        "import time, sys; t = time.time();"
        "from infra.airflow_home import configure; configure();"
        "import importlib.util as u; s = u.spec_from_file_location('d', sys.argv[1]);"
        "m = u.module_from_spec(s); s.loader.exec_module(m);"
        "from pyspark import SparkContext; assert SparkContext._active_spark_context is None;"
        "print(round(time.time() - t, 2))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(REPO / "dags" / "labelops_daily.py")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
