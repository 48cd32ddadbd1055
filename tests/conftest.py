"""One SparkSession for the whole test session: local[2], UI off, few shuffle partitions."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
# Airflow (imported by DAG tests) must use the repo-local home, never ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", str(REPO_ROOT / ".airflow"))
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO_ROOT / "dags"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


@pytest.fixture(scope="session")
def spark():
    from infra.spark_defaults import TEST_CONF
    from jobs.session import build_spark

    session = build_spark("labelops-tests", master="local[2]", extra_conf=TEST_CONF)
    yield session
    session.stop()


@pytest.fixture()
def lake(tmp_path) -> str:
    """A fresh lake root per test."""
    path = tmp_path / "lake"
    path.mkdir()
    return str(path)
