"""SparkSubmitOperator that does not retry a failed quality gate.

A job exits with ``jobs.exit_codes.GATE_FAILED`` when its output broke an
error-severity expectation. Re-running the same input gives the same verdict, so
the task fails at once (AirflowFailException) instead of burning its retries;
any other failure (a lost executor, a full disk) keeps the normal retries.
"""

from __future__ import annotations

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from jobs.exit_codes import GATE_FAILED


class LabelopsSparkSubmitOperator(SparkSubmitOperator):
    def execute(self, context):
        try:
            return super().execute(context)
        except AirflowException as exc:
            proc = getattr(getattr(self, "_hook", None), "_submit_sp", None)
            if proc is not None and proc.returncode == GATE_FAILED:
                raise AirflowFailException(
                    f"{self.task_id}: quality gate failed (exit code {GATE_FAILED}); nothing was published "
                    "and retrying the same input cannot pass. See the job log above for the failed "
                    "expectations and the Data Docs under <lake>/_quality."
                ) from exc
            raise
