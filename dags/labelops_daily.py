"""
### labelops_daily

Every day, for the logical date `ds`: raw platform exports -> bronze (+ quarantine)
-> silver -> features and confidence (side by side: both read silver only) -> allocation,
each stage a `spark-submit` of one job in `jobs/`; a job's upstream tasks are the jobs whose
tables it reads (`jobs.registry.daily_upstreams`; the in-process runner chains them in `DAILY`
order). Every job gates its output with Great Expectations before it publishes, so a failed
gate fails its task and stops everything downstream; the last published table versions stay
readable.

Params (override per run with `--conf '{"lake": ..., "raw": ...}'`):
- `lake`: lake root (local folder or s3a://...); default `$LABELOPS_LAKE` or `<repo>/lakehouse`
- `raw`: raw landing root; default `$LABELOPS_RAW`
- `top_k`: candidate labelers per task in the allocation (default 40; 20 saves ~20 s on
  demo-size data for 1.6 points less expected accuracy at 11 % more cost per label:
  docs/allocation.md, "Choosing --top-k")

Spark: connection `spark_default` (`AIRFLOW_CONN_SPARK_DEFAULT`, `local[*]` unless set,
e.g. `{"conn_type":"spark","host":"spark://host:7077"}`); jars and confs from
`infra/spark-defaults.conf` (written by `make jars`).

Runner: `$LABELOPS_TASK_RUNNER` (read when the DAG is parsed). `spark-submit` (default):
one `spark-submit` per task. `in-process`: the task calls the same `jobs.<job>.main(argv)`
in the Airflow process on one warm local SparkSession, which `labelops demo` uses to
skip the per-task JVM start and warm-up (see `infra/airflow_operator.py`).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG, Param

from infra.airflow_operator import (
    LabelopsInProcessOperator,
    LabelopsSparkSubmitOperator,
    task_runner,
)
from jobs.registry import DAILY, JOBS, daily_upstreams
from scoring.allocation.config import TOP_K

REPO = Path(__file__).resolve().parent.parent
SPARK_PROPERTIES = REPO / "infra" / "spark-defaults.conf"
RUNNER = task_runner()

default_args = {
    "owner": "labelops",
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}

with DAG(
    dag_id="labelops_daily",
    description="raw exports -> bronze -> silver -> features + confidence -> allocation, gated",
    doc_md=__doc__,
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["labelops", "spark", "delta", "daily"],
    params={
        "lake": os.environ.get("LABELOPS_LAKE", str(REPO / "lakehouse")),
        "raw": os.environ.get("LABELOPS_RAW", ""),
        "top_k": Param(TOP_K, type="integer", minimum=1,
                       description="candidate labelers per task in the allocation (docs/allocation.md)"),
    },
) as dag:
    tasks = {}
    for name in DAILY:
        job = JOBS[name]
        args = ["--date", "{{ ds }}", "--lake", "{{ params.lake }}",
                "--run-id", "{{ run_id }}.{{ ti.task_id }}.{{ ti.try_number }}"]
        if job.needs_raw:
            args += ["--raw", "{{ params.raw }}"]
        for param in job.dag_params:
            args += [f"--{param.replace('_', '-')}", f"{{{{ params.{param} }}}}"]
        common = {"task_id": name, "doc_md": f"`{job.module}`: {job.summary}", "application_args": args}
        if RUNNER == "in-process":
            task = LabelopsInProcessOperator(module=job.module, **common)
        else:
            task = LabelopsSparkSubmitOperator(
                application=job.script,
                conn_id="spark_default",
                name=f"labelops-{name}-{{{{ ds }}}}",
                properties_file=str(SPARK_PROPERTIES),
                **common,
            )
        # in-process: chained (dag.test() would pick between features and confidence at random)
        for upstream in daily_upstreams(name, chained=RUNNER == "in-process"):
            tasks[upstream] >> task
        tasks[name] = task
