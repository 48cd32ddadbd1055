"""Interchangeable ways to score candidate pairs with the formulas of ``formulas.py``.

* ``with_scores``: a pandas UDF over Arrow batches of the ten input columns, NumPy inside
  (the Pareto sweep's, which needs every component of every pair).
* ``with_scores_builtin``: the same formulas as Spark built-in expressions (JVM codegen).
* ``with_scores_row_udf``: the same formulas in a row-at-a-time Python UDF.
* ``with_scores_arrow``: the pandas UDF's body as an Arrow UDF.

Each adds the columns of ``formulas.COMPONENT_COLUMNS`` (or, with ``score_only``, the score
alone) and keeps every input column. The daily plan scores with ``coded.with_coded_score``
(the same formulas, fed integer codes); ``bench/allocation.py`` times them all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StructField, StructType

from scoring.allocation.config import DEFAULT_WINDOW_HOURS, Weights, weights_for
from scoring.allocation.formulas import (
    COMPONENT_COLUMNS,
    INPUT_COLUMNS,
    MathOps,
    NumpyOps,
    SparkOps,
    queue_params,
    score_components,
)

COMPONENTS_TYPE = StructType([StructField(c, DoubleType(), True) for c in COMPONENT_COLUMNS])
_STRUCT = "_components"


def _params(weights: Mapping[str, Weights] | None) -> dict[str, tuple[float, ...]]:
    return queue_params(weights or weights_for())


def _inputs(df: DataFrame) -> list[Column]:
    missing = [c for c in INPUT_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"pair scoring needs columns {missing}; the DataFrame has {df.columns}")
    return [F.col(c) for c in INPUT_COLUMNS]


def _unpack(df: DataFrame) -> DataFrame:
    return df.select("*", *[F.col(f"{_STRUCT}.{c}").alias(c) for c in COMPONENT_COLUMNS]).drop(_STRUCT)


def score_arrays(inputs: Mapping[str, np.ndarray], params: Mapping[str, tuple[float, ...]],
                 window_h: float) -> dict[str, np.ndarray]:
    """NumPy scoring of a batch, one float64 array per component: the body of both UDFs."""
    out = score_components(NumpyOps, inputs, params, window_h)
    n = len(next(iter(inputs.values())))
    return {c: np.broadcast_to(np.asarray(out[c], dtype=np.float64), (n,)) for c in COMPONENT_COLUMNS}


def score_frame(inputs: Mapping[str, np.ndarray], params: Mapping[str, tuple[float, ...]],
                window_h: float) -> pd.DataFrame:
    """The batch scores as a DataFrame (the pandas UDF's output; also used by the matcher's tests)."""
    return pd.DataFrame(score_arrays(inputs, params, window_h))


def pandas_scorer(weights: Mapping[str, Weights] | None = None,
                  window_h: float = DEFAULT_WINDOW_HOURS):
    """The pandas UDF (iterator of batches -> struct of components), weights baked in."""
    params = _params(weights)

    @F.pandas_udf(COMPONENTS_TYPE)  # type: ignore[call-overload]
    def score_pairs(batches: Iterator[tuple[pd.Series, ...]]) -> Iterator[pd.DataFrame]:
        for cols in batches:
            inputs = {name: s.to_numpy() for name, s in zip(INPUT_COLUMNS, cols, strict=True)}
            yield score_frame(inputs, params, window_h)

    return score_pairs


def with_scores(pairs_df: DataFrame, weights: Mapping[str, Weights] | None = None,
                window_h: float = DEFAULT_WINDOW_HOURS) -> DataFrame:
    """Adds the score and its components with the vectorised (pandas UDF) scorer."""
    udf = pandas_scorer(weights, window_h)
    return _unpack(pairs_df.withColumn(_STRUCT, udf(*_inputs(pairs_df))))


def arrow_scorer(weights: Mapping[str, Weights] | None = None,
                 window_h: float = DEFAULT_WINDOW_HOURS):
    """The same NumPy body as an Arrow UDF (pyarrow arrays in and out, no pandas objects)."""
    params = _params(weights)

    @F.arrow_udf(COMPONENTS_TYPE)  # type: ignore[call-overload]
    def score_pairs(batches: Iterator[tuple[pa.Array, ...]]) -> Iterator[pa.Array]:
        for cols in batches:
            inputs = {name: a.to_numpy(zero_copy_only=False) for name, a in zip(INPUT_COLUMNS, cols, strict=True)}
            out = score_arrays(inputs, params, window_h)
            yield pa.StructArray.from_arrays([pa.array(out[c]) for c in COMPONENT_COLUMNS],
                                             names=list(COMPONENT_COLUMNS))

    return score_pairs


def with_scores_arrow(pairs_df: DataFrame, weights: Mapping[str, Weights] | None = None,
                      window_h: float = DEFAULT_WINDOW_HOURS) -> DataFrame:
    """Adds the score and its components with the Arrow UDF scorer."""
    udf = arrow_scorer(weights, window_h)
    return _unpack(pairs_df.withColumn(_STRUCT, udf(*_inputs(pairs_df))))


def with_components_builtin(pairs_df: DataFrame, columns: tuple[str, ...] = COMPONENT_COLUMNS,
                            weights: Mapping[str, Weights] | None = None,
                            window_h: float = DEFAULT_WINDOW_HOURS) -> DataFrame:
    """Adds ``columns`` (components of ``formulas.COMPONENT_COLUMNS``) as Spark built-in
    expressions of the formulas (no Python workers)."""
    _inputs(pairs_df)
    x = {c: F.col(c) for c in INPUT_COLUMNS}
    out = score_components(SparkOps, x, _params(weights), window_h)
    return pairs_df.select("*", *[out[c].cast("double").alias(c) for c in columns])


def with_scores_builtin(pairs_df: DataFrame, weights: Mapping[str, Weights] | None = None,
                        window_h: float = DEFAULT_WINDOW_HOURS, score_only: bool = False) -> DataFrame:
    """Same formulas as Spark built-in expressions (no Python workers)."""
    return with_components_builtin(pairs_df, ("score",) if score_only else COMPONENT_COLUMNS, weights, window_h)


def with_scores_row_udf(pairs_df: DataFrame, weights: Mapping[str, Weights] | None = None,
                        window_h: float = DEFAULT_WINDOW_HOURS, score_only: bool = False) -> DataFrame:
    """Same formulas in a classic row-at-a-time Python UDF (pickled rows, no Arrow)."""
    params = _params(weights)

    if score_only:
        def score_of_row(*values: float) -> float:
            out = score_components(MathOps, dict(zip(INPUT_COLUMNS, values, strict=True)), params, window_h)
            return float(out["score"])

        one = F.udf(score_of_row, DoubleType(), useArrow=False)
        return pairs_df.withColumn("score", one(*_inputs(pairs_df)))

    def score_row(*values: float) -> tuple[float, ...]:
        x = dict(zip(INPUT_COLUMNS, values, strict=True))
        out = score_components(MathOps, x, params, window_h)
        return tuple(float(out[c]) for c in COMPONENT_COLUMNS)

    udf = F.udf(score_row, COMPONENTS_TYPE, useArrow=False)
    return _unpack(pairs_df.withColumn(_STRUCT, udf(*_inputs(pairs_df))))
