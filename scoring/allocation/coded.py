"""The pipeline's pair scorer: a pandas UDF over two integer codes per pair.

A pair's ten scoring inputs are functions of two entities: the task (confidence, n_classes,
slack_h, priority, queue_idx) and the labeler on the task's queue (skill_mean, skill_lower,
handling_s, hourly_cost, load_ratio). A planning window has tens of thousands of tasks and
a few thousand labeler x queue rows but a million pairs, so shipping the ten inputs with
every pair repeats each entity's figures ~20-500 times through Arrow. Here each entity's
inputs cross into Python ONCE, as NumPy arrays in the UDF's closure (Spark broadcasts a
large Python command), and every pair carries two int32 codes, joined on the small task and
labeler tables before they are paired (``candidate_pairs(codes=...)``), that the UDF gathers
with; only what matching needs, the score, crosses back (8 bytes per pair, not 56).
The formulas are ``formulas.score_components``, as in every other scorer.

The components of a pair (expected accuracy, cost, deadline risk, ...) are only needed for
the pairs a plan keeps: ``with_coded_components`` computes them from the same codes after
matching, over ~10% of the pairs. ``docs/allocation.md`` ("The coded scorer") has the figures.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StructField, StructType

from scoring.allocation.candidates import labeler_queue_rows, load_ratio, task_rows
from scoring.allocation.config import DEFAULT_WINDOW_HOURS, Weights, weights_for
from scoring.allocation.formulas import COMPONENT_COLUMNS, queue_params
from scoring.allocation.scorers import score_arrays

log = logging.getLogger("labelops.allocation")

TASK_KEY = ("task_id",)
TASK_INPUTS = ("confidence", "n_classes", "slack_h", "priority", "queue_idx")
LABELER_QUEUE_INPUTS = ("skill_mean", "skill_lower", "handling_s", "hourly_cost", "load_ratio")
CODE_COLUMNS = ("t_code", "l_code")
# the inputs' Spark types, as on the uncoded pairs of ``candidate_pairs``
INPUT_TYPES = {"confidence": "double", "n_classes": "int", "slack_h": "double", "priority": "int",
               "queue_idx": "int", "skill_mean": "double", "skill_lower": "double", "handling_s": "double",
               "hourly_cost": "double", "load_ratio": "double"}
# every component but the score, which matching has already added
PLAN_COMPONENTS = tuple(c for c in COMPONENT_COLUMNS if c != "score")
_PLAN_COMPONENTS_TYPE = StructType([StructField(c, DoubleType(), True) for c in PLAN_COMPONENTS])


@dataclass(frozen=True)
class EntityInputs:
    """The scoring inputs per entity, row ``code`` of each array belonging to that code."""

    tasks: Mapping[str, np.ndarray]
    labeler_queues: Mapping[str, np.ndarray]

    def gather(self, t_codes: np.ndarray, l_codes: np.ndarray) -> dict[str, np.ndarray]:
        """The ten inputs of the pairs with these codes."""
        return ({c: a[t_codes] for c, a in self.tasks.items()}
                | {c: a[l_codes] for c, a in self.labeler_queues.items()})

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (*self.tasks.values(), *self.labeler_queues.values()))


@dataclass(frozen=True)
class EntityCodes:
    """Dense int32 codes per task and per (labeler, queue), and the inputs they index."""

    tasks: DataFrame  # task_id, t_code
    labeler_queues: DataFrame  # labeler_id, queue, l_code
    inputs: EntityInputs  # load_ratio is filled from the pairs by ``with_load_ratios``


def _collect(df: DataFrame, key: tuple[str, ...], columns: tuple[str, ...], what: str) -> pd.DataFrame:
    """The entity table on the driver (one row per key), sorted by key so that the codes (row
    numbers) do not depend on the order the rows arrive in: the solvers see the pairs ordered by
    code, so the same inputs give the same plan. Refuses duplicate keys; leaves out (with a
    warning) rows that cannot be scored because an input is null, so they get no pairs."""
    table = df.select(*key, *columns).toPandas().sort_values(list(key), kind="stable")
    dupes = table[table.duplicated(list(key), keep=False)]
    if len(dupes):
        raise ValueError(f"{what}: several rows for the same {key}, e.g. "
                         f"{dupes.head(3).to_dict('records')}; deduplicate the allocation inputs")
    unscorable = table[list(columns)].isna().any(axis=1)
    if unscorable.any():
        nulls = [c for c in columns if table.loc[unscorable, c].isna().any()]
        log.warning("allocation: %d %s rows left out, null %s (defaults are filled for known queues only: "
                    "check the queue names against schemas/reference.py), e.g. %s", int(unscorable.sum()),
                    what, nulls, table[unscorable].head(3).to_dict("records"))
    return table[~unscorable].reset_index(drop=True)


def entity_codes(open_tasks_df: DataFrame, labelers_df: DataFrame, skills_df: DataFrame,
                 window_start: datetime) -> EntityCodes:
    """Codes and scoring inputs of every servable task and every (labeler, certified queue).

    Collects one row per task and per labeler x queue: bounded by the open tasks and the
    roster, not by the pairs (~1.6 MB for 50,000 tasks and 5,600 labeler x queue rows)."""
    spark = open_tasks_df.sparkSession
    tasks = _collect(task_rows(open_tasks_df, window_start), TASK_KEY, TASK_INPUTS, "open tasks")
    lq_inputs = tuple(c for c in LABELER_QUEUE_INPUTS if c != "load_ratio")
    lqs = _collect(labeler_queue_rows(labelers_df, skills_df).select("labeler_id", "queue", *lq_inputs).distinct(),
                   ("labeler_id", "queue"), lq_inputs, "labeler x queue skills")
    tasks["t_code"] = np.arange(len(tasks), dtype=np.int32)
    lqs["l_code"] = np.arange(len(lqs), dtype=np.int32)
    load = np.full(len(lqs), np.nan)  # filled from the pairs (with_load_ratios)
    inputs = EntityInputs(tasks={c: tasks[c].to_numpy() for c in TASK_INPUTS},
                          labeler_queues={**{c: lqs[c].to_numpy() for c in lq_inputs}, "load_ratio": load})
    return EntityCodes(
        tasks=spark.createDataFrame(tasks[["task_id", "t_code"]], "task_id string, t_code int"),
        labeler_queues=spark.createDataFrame(lqs[["labeler_id", "queue", "l_code"]],
                                             "labeler_id string, queue string, l_code int"),
        inputs=inputs)


def with_load_ratios(codes: EntityCodes, pairs_df: DataFrame) -> EntityInputs:
    """``codes.inputs`` with each labeler x queue's load ratio (the labeler's candidate demand
    over its capacity, known only once the pairs exist), from the coded pairs of
    ``candidate_pairs(codes=codes)``: one aggregation per labeler over the (persisted) pairs,
    a row per labeler x queue to the driver."""
    per_labeler = pairs_df.groupBy("labeler_id").agg(
        load_ratio(F.col("labels_needed"), F.col("task_degree"), F.col("capacity")).alias("load_ratio"))
    per_code = codes.labeler_queues.join(per_labeler, on="labeler_id", how="inner").select(
        "l_code", "load_ratio").toPandas()
    load = np.full(len(codes.inputs.labeler_queues["load_ratio"]), np.nan)  # no pairs: never gathered
    load[per_code["l_code"].to_numpy()] = per_code["load_ratio"].to_numpy()
    return EntityInputs(tasks=codes.inputs.tasks,
                        labeler_queues={**codes.inputs.labeler_queues, "load_ratio": load})


def with_entity_inputs(coded_df: DataFrame, entities: EntityInputs) -> DataFrame:
    """Adds the ten scoring inputs (``formulas.INPUT_COLUMNS``) to coded pairs, from the entity
    arrays by their codes (two broadcast joins of tables with a row per task and per labeler x
    queue): for the built-in formulas over every pair (``metrics.plan_metrics``)."""
    spark = coded_df.sparkSession
    tasks = pd.DataFrame({"t_code": np.arange(len(entities.tasks["confidence"]), dtype=np.int32),
                          **{c: entities.tasks[c] for c in TASK_INPUTS if c not in coded_df.columns}})
    lqs = pd.DataFrame({"l_code": np.arange(len(entities.labeler_queues["skill_mean"]), dtype=np.int32),
                        **{c: entities.labeler_queues[c] for c in LABELER_QUEUE_INPUTS}})
    task_df = spark.createDataFrame(tasks).select(
        "t_code", *[F.col(c).cast(INPUT_TYPES[c]).alias(c) for c in tasks.columns if c != "t_code"])
    lq_df = spark.createDataFrame(lqs).select(
        "l_code", *[F.col(c).cast(INPUT_TYPES[c]).alias(c) for c in LABELER_QUEUE_INPUTS])
    return (coded_df.join(F.broadcast(task_df), on="t_code", how="left")
            .join(F.broadcast(lq_df), on="l_code", how="left"))


def _params(weights: Mapping[str, Weights] | None) -> dict[str, tuple[float, ...]]:
    return queue_params(weights or weights_for())


def coded_score_udf(entities: EntityInputs, weights: Mapping[str, Weights] | None = None,
                    window_h: float = DEFAULT_WINDOW_HOURS):
    """The pandas UDF (t_code, l_code) -> score, entity inputs and weights in its closure."""
    params = _params(weights)

    @F.pandas_udf(DoubleType())  # type: ignore[call-overload]
    def score_by_codes(batches: Iterator[tuple[pd.Series, pd.Series]]) -> Iterator[pd.Series]:
        for t, lq in batches:
            x = entities.gather(t.to_numpy(), lq.to_numpy())
            yield pd.Series(score_arrays(x, params, window_h)["score"])

    return score_by_codes


def with_coded_score(coded_df: DataFrame, entities: EntityInputs,
                     weights: Mapping[str, Weights] | None = None,
                     window_h: float = DEFAULT_WINDOW_HOURS) -> DataFrame:
    """Adds ``score`` to pairs with codes (``candidate_pairs(codes=...)``, ``with_load_ratios``)."""
    udf = coded_score_udf(entities, weights, window_h)
    return coded_df.withColumn("score", udf(*[F.col(c) for c in CODE_COLUMNS]))


def with_coded_components(coded_df: DataFrame, entities: EntityInputs,
                          weights: Mapping[str, Weights] | None = None,
                          window_h: float = DEFAULT_WINDOW_HOURS) -> DataFrame:
    """Adds every component but the score (``PLAN_COMPONENTS``) to pairs with codes: run it on
    the pairs a plan keeps, not on every candidate."""
    params = _params(weights)

    @F.pandas_udf(_PLAN_COMPONENTS_TYPE)  # type: ignore[call-overload]
    def components_by_codes(batches: Iterator[tuple[pd.Series, pd.Series]]) -> Iterator[pd.DataFrame]:
        for t, lq in batches:
            out = score_arrays(entities.gather(t.to_numpy(), lq.to_numpy()), params, window_h)
            yield pd.DataFrame({c: out[c] for c in PLAN_COMPONENTS})

    struct = "_plan_components"
    return (coded_df.withColumn(struct, components_by_codes(*[F.col(c) for c in CODE_COLUMNS]))
            .select("*", *[F.col(f"{struct}.{c}").alias(c) for c in PLAN_COMPONENTS]).drop(struct))
