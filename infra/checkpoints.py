"""Free what ``DataFrame.localCheckpoint`` keeps, when the caller is done with it.

``df.unpersist()`` does not free a local checkpoint: the blocks belong to the RDD under the
DataFrame's ``LogicalRDD``, which Spark only drops when the driver's garbage collector
finds that RDD unreachable (ContextCleaner). In a long-lived session (the in-process
runner, notebooks, the test suite) that left hundreds of MB of old builds' blocks on the
heap between collections. ``release`` unpersists that RDD directly.
"""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame

log = logging.getLogger("labelops.checkpoints")

_LOGICAL_RDD = "org.apache.spark.sql.execution.LogicalRDD"


def release(df: DataFrame) -> None:
    """Unpersist ``df``; if it is a local checkpoint, also drop its checkpointed blocks.

    Only call it when no DataFrame derived from ``df`` will be computed again: a local
    checkpoint cannot be recomputed once its blocks are gone."""
    df.unpersist()
    try:
        plan = df._jdf.queryExecution().analyzed()  # noqa: SLF001 - no public handle on the RDD
        if plan.getClass().getName() == _LOGICAL_RDD:
            plan.rdd().unpersist(False)
    except Exception as exc:  # noqa: BLE001 - freeing memory early is an optimisation, never an error
        log.debug("could not release a local checkpoint's blocks: %s", exc)
