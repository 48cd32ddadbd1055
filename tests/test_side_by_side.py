"""A piece of a Spark computation in a second thread (infra/side_by_side.py)."""

from __future__ import annotations

import threading
import time

import pytest

from infra.side_by_side import beside


def test_the_thread_runs_spark_jobs_with_the_callers_local_properties(spark) -> None:
    sc = spark.sparkContext
    sc.setLocalProperty("labelops.test.run", "run-7")
    try:
        def branch(n: int) -> tuple[str | None, str, int]:
            return sc.getLocalProperty("labelops.test.run"), threading.current_thread().name, spark.range(n).count()

        with beside(spark, branch, 5, name="test-branch") as future:
            here = spark.range(3).count()  # the caller's own jobs meanwhile
            prop, thread, count = future.result()
        assert (prop, count, here) == ("run-7", 5, 3)
        assert thread.startswith("test-branch") and thread != threading.current_thread().name
    finally:
        sc.setLocalProperty("labelops.test.run", None)


def test_the_threads_error_reaches_the_caller_and_leaving_waits_for_the_thread(spark) -> None:
    def fails() -> None:
        raise ValueError("branch broke")

    with beside(spark, fails, name="test-fails") as future, pytest.raises(ValueError, match="branch broke"):
        future.result()

    finished = []

    def slow() -> None:
        time.sleep(0.3)
        finished.append(True)

    with pytest.raises(RuntimeError, match="caller broke"), beside(spark, slow, name="test-slow"):
        raise RuntimeError("caller broke")
    assert finished == [True]  # the block's error did not leave the thread running
