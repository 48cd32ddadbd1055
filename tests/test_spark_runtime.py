"""The JVM settings of infra/spark_defaults.py reach both ways a driver starts.

The throughput collector is a measured speed setting (docs/runtime.md, "Fifth pass"): if a
refactor of the session builder or of the spark-submit properties file dropped it, nothing
else would fail - only every demo day would get slower.
"""

from __future__ import annotations

from pathlib import Path

from infra.checkpoints import release
from infra.delta_jars import write_spark_defaults
from infra.spark_defaults import DRIVER_GC_OPTIONS


def test_session_driver_runs_the_parallel_collector(spark):
    beans = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()
    names = {beans.get(i).getName() for i in range(beans.size())}
    assert DRIVER_GC_OPTIONS == "-XX:+UseParallelGC"
    # HotSpot names the Parallel collector's young and old generation beans like this; G1's are "G1 ..."
    assert names == {"PS Scavenge", "PS MarkSweep"}, names


def test_spark_submit_properties_carry_the_driver_gc_option(tmp_path: Path):
    conf = write_spark_defaults(["/jars/a.jar"], dest=tmp_path / "spark-defaults.conf").read_text()
    driver = [line for line in conf.splitlines() if line.startswith("spark.driver.extraJavaOptions ")]
    assert len(driver) == 1 and DRIVER_GC_OPTIONS in driver[0].split()


def _persistent_rdd_ids(spark) -> set[int]:
    rdds = spark.sparkContext._jsc.sc().getPersistentRDDs()
    return {int(k) for k in spark.sparkContext._jvm.scala.jdk.javaapi.CollectionConverters.asJava(rdds.keySet())}


def test_release_frees_a_local_checkpoint_that_unpersist_leaves_behind(spark):
    before = _persistent_rdd_ids(spark)
    df = spark.range(1000).selectExpr("id", "id * 2 AS twice").localCheckpoint(eager=True)
    held = _persistent_rdd_ids(spark) - before
    assert len(held) == 1                               # the checkpointed blocks
    df.unpersist()
    assert _persistent_rdd_ids(spark) - before == held  # Spark's unpersist does not free them
    release(df)
    assert _persistent_rdd_ids(spark) - before == set()


def test_release_of_a_plain_or_cached_frame_is_an_unpersist(spark):
    df = spark.range(10).persist()
    assert df.count() == 10 and df.is_cached
    release(df)
    assert not df.is_cached
    release(spark.range(3))  # never persisted: nothing to do, no error


def _warning(spark, logger: str, message: str):
    log4j = spark.sparkContext._jvm.org.apache.logging.log4j
    return (log4j.core.impl.Log4jLogEvent.newBuilder().setLoggerName(logger).setLevel(log4j.Level.WARN)
            .setMessage(log4j.message.SimpleMessage(message)).build())


def test_spark_log_drops_only_the_local_checkpoint_unpersist_warning(spark):
    """infra/log4j2.properties: ``release`` triggers this warning on purpose, 119 times in a 7-day demo."""
    console = spark.sparkContext._jvm.org.apache.logging.log4j.LogManager.getContext(False) \
        .getConfiguration().getAppender("console")
    rdd = "org.apache.spark.rdd.MapPartitionsRDD"
    assert console.isFiltered(_warning(spark, rdd, "RDD 9740 was locally checkpointed, its lineage has been "
                                                   "truncated and cannot be recomputed after unpersisting"))
    assert not console.isFiltered(_warning(spark, rdd, "RDD 9740 could not be cleaned"))
    assert not console.isFiltered(_warning(spark, "org.apache.spark.sql.execution.CacheManager",
                                           "Asked to cache already cached data."))
