"""The run/lineage table: one row per job run, appended when the run ends (success or not)."""

from __future__ import annotations

import functools
import os
import subprocess
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from pyspark.sql import SparkSession

from jobs import delta_io
from jobs.lake import Lake
from schemas.ops import RUNS

CODE_VERSION_ENV = "LABELOPS_CODE_VERSION"


@functools.cache
def code_version() -> str:
    """git commit of the code that runs (``-dirty`` if it has uncommitted changes)."""
    if os.environ.get(CODE_VERSION_ENV):
        return os.environ[CODE_VERSION_ENV]
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        from importlib.metadata import PackageNotFoundError, version

        try:
            return "labelops-" + version("labelops")
        except PackageNotFoundError:
            return "unknown"


@dataclass
class RunRecord:
    run_id: str
    job: str
    logical_date: date | None
    started_at: datetime
    spark_master: str
    inputs: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, int] = field(default_factory=dict)
    metrics: dict[str, int] = field(default_factory=dict)
    gate_passed: bool | None = None
    gate_summary: str | None = None
    status: str = "success"
    error: str | None = None
    finished_at: datetime | None = None

    def as_row(self) -> dict:
        finished = self.finished_at or datetime.now(self.started_at.tzinfo)
        return {
            "run_id": self.run_id, "job": self.job, "logical_date": self.logical_date,
            "status": self.status, "started_at": self.started_at, "finished_at": finished,
            "duration_s": (finished - self.started_at).total_seconds(),
            "inputs": self.inputs, "outputs": self.outputs,
            "metrics": {k: int(v) for k, v in self.metrics.items()},
            "gate_passed": self.gate_passed, "gate_summary": self.gate_summary,
            "code_version": code_version(), "spark_master": self.spark_master,
            "error": (self.error or None) and self.error[:4000],
        }


def record_run(spark: SparkSession, lake: Lake, record: RunRecord, user_metadata: str) -> None:
    # One row: one write task and one file (a local list becomes spark.default.parallelism partitions).
    df = spark.createDataFrame([record.as_row()], RUNS.schema).coalesce(1)
    delta_io.append(df, RUNS, lake.path(RUNS), user_metadata)
