"""The one place that builds a SparkSession with Delta.

Local by default (``local[*]``, or ``$LABELOPS_MASTER``). Under ``spark-submit``
the master and jars given on the command line win, so the same job runs
unchanged on a cluster; the project's packages are then shipped to executors.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

from pyspark.sql import SparkSession

from infra.delta_jars import DeltaJarsMissing, jar_paths
from infra.spark_defaults import DELTA_CONF, SMALL_MACHINE_CONF

log = logging.getLogger("labelops.session")

PROJECT_PACKAGES = ("jobs", "transforms", "features", "schemas", "scoring", "experiments", "infra")
MASTER_ENV = "LABELOPS_MASTER"


def default_master() -> str:
    return os.environ.get(MASTER_ENV, "local[*]")


def launched_by_spark_submit() -> bool:
    """spark-submit starts the JVM first and hands Python its gateway through these variables."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def _project_root() -> Path:
    return Path(__file__).resolve().parent.parent


def _zip_project(dest_dir: Path) -> Path:
    """Zip our packages so that executors on other hosts can import them."""
    root = _project_root()
    out = dest_dir / "labelops_pkgs.zip"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for pkg in PROJECT_PACKAGES:
            for path in (root / pkg).rglob("*.py"):
                zf.write(path, path.relative_to(root).as_posix())
    return out


def _check_delta_loaded(spark: SparkSession) -> None:
    try:
        spark._jvm.java.lang.Class.forName(
            "io.delta.sql.DeltaSparkSessionExtension", True,
            spark._jvm.Thread.currentThread().getContextClassLoader(),
        )
    except Exception as exc:  # py4j wraps ClassNotFoundException
        raise DeltaJarsMissing(
            "Delta classes are not on the driver classpath. With spark-submit pass the jars: "
            "`spark-submit --properties-file infra/spark-defaults.conf ...` (written by `make jars`) "
            "or `--packages io.delta:delta-spark_4.2_2.13:<version>`."
        ) from exc


def build_spark(
    app_name: str,
    master: str | None = None,
    extra_conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """A Delta-enabled session. Fails fast, naming `make jars`, if the Delta jars are missing.

    An already active session (a test's, or a notebook's) is returned untouched, so jobs
    called in-process never reconfigure it."""
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    conf = {**SMALL_MACHINE_CONF, **DELTA_CONF}
    if launched_by_spark_submit():
        # The JVM is up: master, memory and jars come from the spark-submit command line.
        if master:
            builder = builder.master(master)
        for key in ("spark.driver.memory", "spark.driver.extraJavaOptions"):
            conf.pop(key, None)
    else:
        builder = builder.master(master or default_master())
        conf["spark.jars"] = ",".join(jar_paths())  # raises DeltaJarsMissing with the fix
    conf.update(extra_conf or {})
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("LABELOPS_SPARK_LOG_LEVEL", "WARN"))
    _check_delta_loaded(spark)
    actual_master = spark.sparkContext.master
    if not actual_master.startswith("local"):
        tmp = Path(tempfile.mkdtemp(prefix="labelops-pyfiles-"))
        spark.sparkContext.addPyFile(str(_zip_project(tmp)))
        log.info("shipped project packages to executors (master %s)", actual_master)
    log.info("spark %s up: master=%s app=%s", spark.version, actual_master, app_name)
    return spark
