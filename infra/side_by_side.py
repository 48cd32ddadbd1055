"""One piece of a Spark computation in a second thread, beside the caller's.

On 2 cores a chain of small Spark jobs leaves a core idle while the driver plans and code-
generates the next job; a second chain submitted from another thread takes it (Spark runs both
threads' jobs, first submitted first). The feature build's branches and allocation's random
baseline use it (docs/features.md, "Two branches side by side"; docs/allocation.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from pyspark.sql import SparkSession
from pyspark.util import inheritable_thread_target

T = TypeVar("T")


@contextmanager
def beside(spark: SparkSession, fn: Callable[..., T], *args: Any, name: str) -> Iterator[Future[T]]:
    """Runs ``fn(*args)`` in a second thread for the duration of the block and yields its future
    (``result()`` returns its value or raises its exception). Given the session, the thread
    inherits the caller's Spark local properties and job tags, so its jobs belong to the same
    run (and Spark logs no warning about a thread without them). Leaving the block waits for the
    thread, even when the block raised."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=name) as pool:
        yield pool.submit(inheritable_thread_target(spark)(fn), *args)
