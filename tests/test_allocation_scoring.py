"""Pair scoring: formula properties, and the three scorers (pandas UDF, built-ins, row UDF)
agreeing on the same pairs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scoring.allocation.config import QUEUE_INDEX, weights_for
from scoring.allocation.formulas import (
    COMPONENT_COLUMNS,
    INPUT_COLUMNS,
    MathOps,
    NumpyOps,
    queue_params,
    score_components,
)

PARAMS = queue_params(weights_for())
WINDOW_H = 24.0


def pair(**overrides: float) -> dict[str, float]:
    x = {"skill_mean": 0.85, "skill_lower": 0.78, "confidence": 0.5, "n_classes": 3, "handling_s": 30.0,
         "hourly_cost": 10.0, "slack_h": 30.0, "priority": 2, "load_ratio": 0.5,
         "queue_idx": QUEUE_INDEX["sentiment"]}
    x.update(overrides)
    return x


def comp(**overrides: float) -> dict[str, float]:
    return score_components(MathOps, pair(**overrides), PARAMS, WINDOW_H)


def random_inputs(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    mean = rng.uniform(0.3, 0.999, n)
    return {
        "skill_mean": mean, "skill_lower": mean - rng.uniform(0, 0.3, n),
        "confidence": rng.uniform(0, 1, n), "n_classes": rng.integers(2, 5, n),
        "handling_s": rng.uniform(1, 600, n), "hourly_cost": rng.uniform(0, 40, n),
        "slack_h": rng.uniform(-100, 200, n), "priority": rng.integers(1, 4, n),
        "load_ratio": rng.uniform(0, 5, n), "queue_idx": rng.integers(0, len(QUEUE_INDEX), n),
    }


def test_numpy_and_scalar_backends_agree() -> None:
    x = random_inputs(300)
    vec = score_components(NumpyOps, x, PARAMS, WINDOW_H)
    for i in range(300):
        row = score_components(MathOps, {k: v[i].item() for k, v in x.items()}, PARAMS, WINDOW_H)
        for c in COMPONENT_COLUMNS:
            assert vec[c][i] == pytest.approx(row[c], rel=1e-9, abs=1e-12), c


def test_components_stay_in_range() -> None:
    out = score_components(NumpyOps, random_inputs(5000, seed=1), PARAMS, WINDOW_H)
    for c in ("expected_accuracy", "label_value", "deadline_risk", "on_time_gain", "load_penalty"):
        assert np.all((out[c] >= 0) & (out[c] <= 1)), c
    assert np.all(np.isfinite(out["score"]))


def test_a_nearly_certain_task_gains_little_from_one_more_label() -> None:
    new = comp(confidence=1 / 3)["label_value"]
    sure = comp(confidence=0.99)["label_value"]
    assert new > 0.3
    assert sure < 0.05 * new


def test_label_value_grows_with_accuracy_and_uncertainty_costs_accuracy() -> None:
    assert comp(skill_mean=0.95, skill_lower=0.93)["label_value"] > comp(skill_mean=0.7, skill_lower=0.68)["label_value"]
    proven = comp(skill_mean=0.9, skill_lower=0.88)["expected_accuracy"]
    unproven = comp(skill_mean=0.9, skill_lower=0.6)["expected_accuracy"]
    assert unproven < proven
    # a labeler at chance level brings no information
    assert comp(skill_mean=1 / 3, skill_lower=1 / 3)["label_value"] == pytest.approx(0.0, abs=1e-4)


def test_cost_deadline_and_load_terms() -> None:
    assert comp(hourly_cost=20.0, handling_s=36.0)["expected_cost"] == pytest.approx(0.2)
    assert comp(slack_h=2.0)["deadline_risk"] > comp(slack_h=40.0)["deadline_risk"]
    # assigning now matters most for tasks due within the next window, not for relaxed ones
    assert comp(slack_h=20.0)["on_time_gain"] > comp(slack_h=200.0)["on_time_gain"]
    assert comp(load_ratio=0.8)["load_penalty"] == 0.0
    assert comp(load_ratio=4.0)["load_penalty"] == pytest.approx(0.75)
    # the score falls with cost and rises with priority (1 = highest)
    assert comp(hourly_cost=30.0)["score"] < comp(hourly_cost=5.0)["score"]
    assert comp(slack_h=12.0, priority=1)["score"] > comp(slack_h=12.0, priority=3)["score"]
    assert math.isfinite(comp(slack_h=-1e6)["score"]) and math.isfinite(comp(slack_h=1e6)["score"])


def test_spark_scorers_agree_with_each_other(spark) -> None:
    from pyspark.sql import functions as F

    from scoring.allocation.scorers import (
        with_scores,
        with_scores_arrow,
        with_scores_builtin,
        with_scores_row_udf,
    )

    x = random_inputs(40, seed=2)
    rows = [tuple(x[c][i].item() for c in INPUT_COLUMNS) + (f"p{i}",) for i in range(40)]
    schema = ("skill_mean double, skill_lower double, confidence double, n_classes int, handling_s double, "
              "hourly_cost double, slack_h double, priority int, load_ratio double, queue_idx int, id string")
    df = spark.createDataFrame(rows, schema)
    cols = ["id", *COMPONENT_COLUMNS]
    results = [scorer(df).select(*cols).orderBy("id").collect()
               for scorer in (with_scores, with_scores_builtin, with_scores_row_udf, with_scores_arrow)]
    for a, *others in zip(*results, strict=True):
        for name in COMPONENT_COLUMNS:
            for other in others:
                assert a[name] == pytest.approx(other[name], rel=1e-9, abs=1e-12), name
    assert df.select(F.count("*")).first()[0] == 40
