"""The two ways a DAG task runs a labelops job.

``LabelopsSparkSubmitOperator`` (the default, and what a cluster uses): one
``spark-submit`` per task. It does not retry a failed quality gate: a job exits with
``jobs.exit_codes.GATE_FAILED`` when its output broke an error-severity expectation,
and re-running the same input gives the same verdict, so the task fails at once
(AirflowFailException) instead of burning its retries; any other failure (a lost
executor, a full disk) keeps the normal retries.

``LabelopsInProcessOperator`` (``LABELOPS_TASK_RUNNER=in-process``): calls the same
``jobs.<job>.main(argv)`` inside the worker process, on one local SparkSession that
lives as long as the process. Under ``dag.test()`` (``labelops pipeline``/``demo``)
all tasks of all days share it, so the JVM start, class loading and JIT warm-up that
cost each cold ``spark-submit`` ~20 s on 2 cores are paid once. Only for a single
local process: on a real Airflow deployment every task is a fresh process anyway.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from jobs.exit_codes import GATE_FAILED, OK

RUNNER_ENV = "LABELOPS_TASK_RUNNER"
RUNNERS = ("spark-submit", "in-process")


def task_runner() -> str:
    """The runner the DAG wires its tasks with (read at parse time from the environment)."""
    runner = os.environ.get(RUNNER_ENV, "spark-submit")
    if runner not in RUNNERS:
        raise ValueError(f"${RUNNER_ENV}={runner!r}: expected one of {', '.join(RUNNERS)}")
    return runner


def _gate_failed(task_id: str) -> AirflowFailException:
    return AirflowFailException(
        f"{task_id}: quality gate failed (exit code {GATE_FAILED}); nothing was published "
        "and retrying the same input cannot pass. See the job log above for the failed "
        "expectations and the Data Docs under <lake>/_quality."
    )


class LabelopsSparkSubmitOperator(SparkSubmitOperator):
    def execute(self, context):
        try:
            return super().execute(context)
        except AirflowException as exc:
            proc = getattr(getattr(self, "_hook", None), "_submit_sp", None)
            if proc is not None and proc.returncode == GATE_FAILED:
                raise _gate_failed(self.task_id) from exc
            raise


class LabelopsInProcessOperator(BaseOperator):
    """Run ``module.main(application_args)`` in this process (see the module docstring)."""

    template_fields: Sequence[str] = ("application_args",)

    def __init__(self, *, module: str, application_args: list[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.module = module
        self.application_args = application_args

    def execute(self, context) -> None:
        from jobs.session import build_spark

        # One session for the process: built on the first task, found again by the job's
        # own build_spark call on every later one.
        spark = build_spark("labelops-in-process", master=os.environ.get("LABELOPS_MASTER"))
        job = importlib.import_module(self.module)
        ui = spark.sparkContext.uiWebUrl  # None with spark.ui.enabled=false
        self.log.info("running %s.main(%s) in-process on %s%s", self.module, self.application_args,
                      spark.sparkContext.master, f" (Spark UI while it runs: {ui})" if ui else "")
        try:
            code = job.main([str(a) for a in self.application_args])
        finally:
            spark.catalog.clearCache()  # nothing a task cached outlives it
        if code == GATE_FAILED:
            raise _gate_failed(self.task_id)
        if code != OK:
            raise AirflowException(f"{self.task_id}: {self.module} exited with code {code}; see its log above")
