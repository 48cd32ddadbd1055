"""The daily DAG imports cleanly, has tags and retries, and only wires jobs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
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


def test_daily_dag_wires_each_job_after_the_jobs_it_reads(dagbag):
    dag = dagbag.dags["labelops_daily"]
    assert {t.task_id for t in dag.tasks} == set(DAILY)
    for name in DAILY:
        task = dag.get_task(name)
        assert task.application == JOBS[name].script and Path(task.application).exists()
        assert task._conn_id == "spark_default"
        assert "{{ ds }}" in task.application_args
        assert ("--raw" in task.application_args) == JOBS[name].needs_raw
        for param in JOBS[name].dag_params:
            flag = task.application_args.index(f"--{param.replace('_', '-')}")
            assert task.application_args[flag + 1] == f"{{{{ params.{param} }}}}"
            assert param in dag.params
        assert task.upstream_task_ids == set(JOBS[name].after), name
        # DAILY is a valid run order: every upstream job comes earlier
        assert all(DAILY.index(u) < DAILY.index(name) for u in JOBS[name].after)
    # features and confidence both read silver only: neither waits for the other,
    # and allocate waits for both (it reads skills and posteriors)
    assert dag.get_task("silver").downstream_task_ids == {"features", "confidence"}
    assert dag.get_task("allocate").upstream_task_ids == {"features", "confidence"}
    assert [t.task_id for t in dag.topological_sort()][:2] == ["ingest", "silver"]
    # the allocation's candidate bound is a run parameter (trigger form / --conf), default TOP_K
    from scoring.allocation.config import TOP_K

    assert JOBS["allocate"].dag_params == ("top_k",) and dag.params["top_k"] == TOP_K


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


def _parse_dag_with_runner(runner: str) -> subprocess.CompletedProcess:
    code = (
        "import sys, json; from infra.airflow_home import configure; configure();"
        "import importlib.util as u; s = u.spec_from_file_location('d', sys.argv[1]);"
        "m = u.module_from_spec(s); s.loader.exec_module(m);"
        "print(json.dumps([[t.task_id, type(t).__name__, getattr(t, 'module', None), t.retries,"
        " t.application_args, sorted(t.upstream_task_ids)] for t in m.dag.topological_sort()]))"
    )
    return subprocess.run([sys.executable, "-c", code, str(REPO / "dags" / "labelops_daily.py")],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "LABELOPS_TASK_RUNNER": runner})


def test_in_process_runner_wires_the_same_jobs_with_the_same_arguments(dagbag):
    out = _parse_dag_with_runner("in-process")
    assert out.returncode == 0, out.stderr[-2000:]
    tasks = json.loads(out.stdout.strip().splitlines()[-1])
    # one warm session runs one task at a time: chained in DAILY order, the same order every day
    assert [t[0] for t in tasks] == DAILY
    submit = dagbag.dags["labelops_daily"]
    for i, (task_id, kind, module, retries, args, upstream) in enumerate(tasks):
        assert kind == "LabelopsInProcessOperator"
        assert module == JOBS[task_id].module and retries >= 2
        assert args == submit.get_task(task_id).application_args
        assert upstream == DAILY[max(0, i - 1):i]
        assert set(JOBS[task_id].after) <= set(DAILY[:i])  # still after everything it reads


def test_an_unknown_runner_is_refused_by_name():
    out = _parse_dag_with_runner("yarn-please")
    assert out.returncode != 0
    assert "LABELOPS_TASK_RUNNER" in out.stderr and "in-process" in out.stderr


def test_in_process_operator_calls_main_and_maps_exit_codes(spark, monkeypatch):
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    from infra.airflow_operator import LabelopsInProcessOperator
    from jobs.exit_codes import ERROR, GATE_FAILED, OK

    calls: list[list[str]] = []
    fake = types.ModuleType("labelops_fake_job")
    fake.main = lambda argv: calls.append(argv) or fake.code
    monkeypatch.setitem(sys.modules, "labelops_fake_job", fake)
    op = LabelopsInProcessOperator(task_id="fake", module="labelops_fake_job",
                                   application_args=["--date", "2026-01-05"])
    fake.code = OK
    op.execute({})
    assert calls == [["--date", "2026-01-05"]]
    fake.code = GATE_FAILED
    with pytest.raises(AirflowFailException, match="quality gate failed"):
        op.execute({})
    fake.code = ERROR
    with pytest.raises(AirflowException, match="exited with code 1") as exc:
        op.execute({})
    assert not isinstance(exc.value, AirflowFailException), "other failures keep their retries"


def test_a_multi_day_run_says_how_far_it_is_and_how_long_is_left():
    from jobs.commands.pipeline import progress

    assert progress(1, 1, 90.0) == ""  # one day: nothing to add
    assert progress(3, 7, 3 * 150.0) == " (day 3 of 7; ~10 min left at this pace)"
    assert progress(1, 2, 20.0) == " (day 1 of 2; ~1 min left at this pace)"  # never "~0 min"
    assert progress(7, 7, 7 * 150.0) == " (day 7 of 7; all 7 in 17.5 min)"


def test_pipeline_params_are_read_as_json_when_they_parse():
    from jobs.commands.pipeline import parse_params

    assert parse_params(["top_k=40", "note=a b", "flag=true"]) == {"top_k": 40, "note": "a b", "flag": True}
    assert parse_params([]) == {}
    with pytest.raises(SystemExit, match="expected NAME=VALUE"):
        parse_params(["top_k"])


def test_pipeline_params_are_checked_against_the_dag_before_any_day_runs(dagbag):
    from jobs.commands.pipeline import check_params

    dag = dagbag.dags["labelops_daily"]
    check_params(dag, {"top_k": 40})
    with pytest.raises(SystemExit, match="topk: not a param of DAG labelops_daily"):
        check_params(dag, {"topk": 40})
    with pytest.raises(SystemExit, match="top_k: 0 is less than the minimum of 1"):
        check_params(dag, {"top_k": 0})
    with pytest.raises(SystemExit, match="top_k"):
        check_params(dag, {"top_k": "many"})
    with pytest.raises(SystemExit, match="--param lake: pass --lake instead"):
        check_params(dag, {"lake": "/elsewhere"})


def test_daily_upstreams_are_the_jobs_read_or_the_previous_job_when_chained():
    from jobs.registry import daily_upstreams

    assert daily_upstreams("ingest") == () and daily_upstreams("ingest", chained=True) == ()
    assert daily_upstreams("confidence") == ("silver",)
    assert daily_upstreams("confidence", chained=True) == ("features",)
    assert set(daily_upstreams("allocate")) == {"features", "confidence"}
    assert daily_upstreams("allocate", chained=True) == ("confidence",)
    with pytest.raises(SystemExit, match="unknown job 'nope'"):
        daily_upstreams("nope")
