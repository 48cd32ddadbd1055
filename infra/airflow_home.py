"""A repo-local Airflow home, so Airflow never writes to ~/airflow.

``configure()`` sets the environment (must run before ``import airflow``);
``python -m infra.airflow_home`` also creates the SQLite metadata DB once.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HOME = REPO_ROOT / ".airflow"


def configure(home: Path | None = None, spark_master: str | None = None) -> Path:
    """Point Airflow at the repo's DAGs and home; default the Spark connection to local."""
    home = Path(os.environ.get("AIRFLOW_HOME") or home or DEFAULT_HOME)
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO_ROOT / "dags"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
    os.environ.setdefault("AIRFLOW__LOGGING__BASE_LOG_FOLDER", str(home / "logs"))
    if spark_master:
        os.environ["AIRFLOW_CONN_SPARK_DEFAULT"] = json.dumps({"conn_type": "spark", "host": spark_master})
    else:
        # A cluster is one setting away: export AIRFLOW_CONN_SPARK_DEFAULT='{"conn_type":"spark","host":"spark://h:7077"}'
        os.environ.setdefault(
            "AIRFLOW_CONN_SPARK_DEFAULT", json.dumps({"conn_type": "spark", "host": "local[*]"})
        )
    # SparkSubmitOperator runs `spark-submit` from PATH: use the one next to this interpreter.
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # The pip-installed spark-submit script needs SPARK_HOME (the pyspark package folder).
    spec = importlib.util.find_spec("pyspark")
    if spec and spec.submodule_search_locations:
        os.environ.setdefault("SPARK_HOME", list(spec.submodule_search_locations)[0])
    home.mkdir(parents=True, exist_ok=True)
    return home


def ensure_db(home: Path | None = None) -> Path:
    """Create/migrate the SQLite metadata DB if it is not there yet (~5 s once)."""
    home = configure(home)
    db = home / "airflow.db"
    if not db.exists():
        print(f"[infra] creating Airflow metadata DB in {home} ...", flush=True)
        airflow = Path(sys.executable).parent / "airflow"
        subprocess.run([str(airflow), "db", "migrate"], check=True, stdout=subprocess.DEVNULL)
    return db


if __name__ == "__main__":
    print(ensure_db())
