"""Spark settings for a small machine; every one can be overridden with --conf.

Kept apart from the session builder so that tests, benchmarks, the Airflow
connection and spark-submit all start Spark the same way.
"""

from __future__ import annotations

from pathlib import Path

# Spark's own JVM log: warnings only (see the file); labelops logs its progress from Python.
LOG4J2_FILE = Path(__file__).resolve().parent / "log4j2.properties"
# The driver JVM (in local mode also the executor) collects garbage with the throughput
# collector: labelops' jobs are batch work on a few-GB heap, where G1's write barriers and
# concurrent marking cost CPU the 2 cores need for tasks and the JIT. Measured on 3 demo days in
# one session (bench/pipeline_day.py --days 3 --rounds 0, alternated): 420 / 392 s with G1,
# 352 / 354 s with -XX:+UseParallelGC (docs/runtime.md, "Fifth pass").
DRIVER_GC_OPTIONS = "-XX:+UseParallelGC"
DRIVER_JAVA_OPTIONS = f"-Duser.timezone=UTC -Dlog4j2.configurationFile=file:{LOG4J2_FILE} {DRIVER_GC_OPTIONS}"

DELTA_CONF: dict[str, str] = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}

SMALL_MACHINE_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.extraJavaOptions": DRIVER_JAVA_OPTIONS,
    "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
    # 200 shuffle partitions is tuned for clusters; on 2-8 cores it is pure overhead.
    "spark.sql.shuffle.partitions": "8",
    "spark.default.parallelism": "8",
    # Delta rebuilds a table's state (its live files) from the log with this many partitions
    # (default 50) before every write and every read of a new version. labelops' logs hold tens
    # to hundreds of files' actions, so one partition does it fastest: a warm replaceWhere of a
    # small table 0.99 s -> 0.73 s against 4 partitions (docs/runtime.md, "Seventeenth pass").
    # A lake with logs of millions of files wants more: --conf spark.databricks.delta.snapshotPartitions=N.
    "spark.databricks.delta.snapshotPartitions": "1",
    "spark.sql.sources.partitionOverwriteMode": "static",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.adaptive.enabled": "true",
    # Generated code is cached by source text (default 100 entries). One pipeline day plans a
    # few hundred distinct stages; with room for them all, a long-lived session (the in-process
    # runner, notebooks) reuses the compiled - and JIT-compiled - classes on the next day
    # instead of compiling them again (measured: a warm day 154 s -> 138 s on 2 cores).
    "spark.sql.codegen.cache.maxEntries": "2000",
    "spark.driver.memory": "4g",
    # Spark 4.2's types framework (TIME type only) asks SQLConf.get - on an executor a new
    # ReadOnlySQLConf and, unless this is set, a System.getenv for this flag's default - for
    # every value that interpreted code reads (map lookups, higher-order functions, aggregation
    # buffers). Set, the getenv goes: 4.5 % of the feature build's task-thread samples (JFR,
    # docs/runtime.md "Fourth pass"); the ReadOnlySQLConf stays. labelops has no TIME column.
    "spark.sql.types.framework.enabled": "false",
}

# What the test-suite adds: no UI, one shuffle partition per core.
TEST_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.driver.memory": "2g",
    "spark.sql.adaptive.coalescePartitions.enabled": "true",
}
