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


E2E_PIPELINE_MODULE = "test_pipeline_e2e.py"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The pipeline e2e runs last, so its background runs (fixture below) get the whole session."""
    items.sort(key=lambda item: item.path.name == E2E_PIPELINE_MODULE)


@pytest.fixture(scope="session", autouse=True)
def e2e_pipeline(request, tmp_path_factory):
    """Starts the pipeline e2e's runs at session start when that module is selected
    (``tests/e2e_pipeline.py`` says why); None otherwise."""
    if not any(item.path.name == E2E_PIPELINE_MODULE for item in request.session.items):
        yield None
        return
    from e2e_pipeline import PipelineRuns

    runs = PipelineRuns(tmp_path_factory.mktemp("e2e"), dict(os.environ)).start()
    yield runs
    runs.stop()
