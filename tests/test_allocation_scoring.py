"""Pair scoring: formula properties, and the three scorers (pandas UDF, built-ins, row UDF)
agreeing on the same pairs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
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


@pytest.fixture(scope="module")
def small_instance(spark):
    from scoring.allocation.synthetic import generate

    syn = generate(n_labelers=30, n_tasks=300, seed=3, window_h=1.0)
    return syn, syn.to_spark(spark)


def _coded_pairs(syn, frames, open_tasks=None, skills=None):
    from scoring.allocation.candidates import candidate_pairs
    from scoring.allocation.coded import entity_codes

    open_tasks = frames["open_tasks"] if open_tasks is None else open_tasks
    skills = frames["skills"] if skills is None else skills
    codes = entity_codes(open_tasks, frames["labelers"], skills, syn.window_start)
    pairs = candidate_pairs(open_tasks, frames["labelers"], skills, frames["judged"], syn.window_start,
                            top_k=5, codes=codes)
    return codes, pairs


def test_coded_scorer_agrees_with_the_built_ins_on_candidate_pairs(small_instance) -> None:
    from chispa import assert_approx_df_equality

    from scoring.allocation.candidates import candidate_pairs
    from scoring.allocation.coded import (
        PLAN_COMPONENTS,
        with_coded_components,
        with_coded_score,
        with_load_ratios,
    )
    from scoring.allocation.scorers import with_scores_builtin

    syn, frames = small_instance
    codes, pairs = _coded_pairs(syn, frames)
    pairs = pairs.persist()
    entities = with_load_ratios(codes, pairs)
    plain = candidate_pairs(frames["open_tasks"], frames["labelers"], frames["skills"], frames["judged"],
                            syn.window_start, top_k=5)
    keys = ["task_id", "labeler_id"]
    cols = [*keys, *PLAN_COMPONENTS, "score"]
    got = with_coded_components(with_coded_score(pairs, entities, window_h=1.0), entities, window_h=1.0)
    want = with_scores_builtin(plain, window_h=1.0)
    # the codes change nothing about which pairs exist
    assert pairs.count() == plain.count() > 500
    assert_approx_df_equality(got.select(*cols), want.select(*cols), 1e-12, ignore_row_order=True,

                              ignore_nullable=True)
    pairs.unpersist()


def test_coded_pairs_carry_codes_and_their_inputs_join_back_equal_to_the_uncoded_pairs(small_instance) -> None:
    """The pipeline's pairs carry two codes instead of the ten inputs and the load ratio; joined
    back by code (the plan figures' path) they equal the uncoded pairs' columns, also where an
    input was null in the source (a task without a posterior, a labeler without an hourly cost)."""
    from chispa import assert_approx_df_equality
    from pyspark.sql import functions as F

    from scoring.allocation.candidates import CODED_PAIR_COLUMNS, PAIR_COLUMNS, candidate_pairs
    from scoring.allocation.coded import with_entity_inputs, with_load_ratios

    syn, frames = small_instance
    nulls = {"open_tasks": frames["open_tasks"].withColumn(
                 "confidence", F.when(F.col("task_id") < "T000050", None).otherwise(F.col("confidence"))),
             "labelers": frames["labelers"].withColumn(
                 "hourly_cost", F.when(F.col("labeler_id") == F.lit(syn.labelers["labeler_id"].iloc[0]), None)
                 .otherwise(F.col("hourly_cost")))}
    frames = {**frames, **nulls}
    assert frames["open_tasks"].where("confidence is null").count() > 0
    assert frames["labelers"].where("hourly_cost is null").count() == 1
    codes, pairs = _coded_pairs(syn, frames)
    pairs = pairs.persist()
    assert tuple(pairs.columns) == CODED_PAIR_COLUMNS
    joined = with_entity_inputs(pairs, with_load_ratios(codes, pairs))
    plain = candidate_pairs(frames["open_tasks"], frames["labelers"], frames["skills"], frames["judged"],
                            syn.window_start, top_k=5)
    cols = [c for c in PAIR_COLUMNS if c not in ("language", "n_labels")]  # neither is scored
    assert plain.where("hourly_cost = 0.0").count() > 0  # the null cost's default reached the pairs
    assert_approx_df_equality(joined.select(*cols), plain.select(*cols), 1e-12, ignore_row_order=True,
                              ignore_nullable=True)
    pairs.unpersist()


def test_entity_codes_do_not_depend_on_the_input_row_order(small_instance) -> None:
    """The codes order the pairs a solver sees (ties between equal scores go by them): the same
    inputs in another row order (another shuffle, another run) must get the same codes."""
    from pyspark.sql import functions as F

    from scoring.allocation.coded import entity_codes

    syn, frames = small_instance
    runs = []
    for descending in (False, True):
        order = [F.col(c).desc() if descending else F.col(c) for c in ("labeler_id", "task_id")]
        tasks = frames["open_tasks"].orderBy(*order[1:]).coalesce(1)
        labelers = frames["labelers"].orderBy(order[0]).coalesce(1)
        codes = entity_codes(tasks, labelers, frames["skills"], syn.window_start)
        runs.append((codes.tasks.toPandas().sort_values("task_id").reset_index(drop=True),
                     codes.labeler_queues.toPandas().sort_values(["labeler_id", "queue"]).reset_index(drop=True)))
    assert len(runs[0][0]) > 200 and len(runs[0][1]) > 10
    pd.testing.assert_frame_equal(runs[0][0], runs[1][0])
    pd.testing.assert_frame_equal(runs[0][1], runs[1][1])


def test_entity_codes_leave_out_an_unscorable_task_and_refuse_duplicate_skills(small_instance, caplog) -> None:
    """A task whose queue is unknown has no queue index (null input): it gets no pairs and a
    warning names it, instead of a NaN score. Two skill rows for one labeler x queue make the
    labeler's inputs ambiguous: an error says so."""
    from pyspark.sql import functions as F

    from scoring.allocation.coded import entity_codes

    syn, frames = small_instance
    victim = frames["open_tasks"].select("task_id").orderBy("task_id").first()["task_id"]
    tasks = frames["open_tasks"].withColumn(
        "queue", F.when(F.col("task_id") == victim, F.lit("no_such_queue")).otherwise(F.col("queue")))
    with caplog.at_level("WARNING", logger="labelops.allocation"):
        codes, pairs = _coded_pairs(syn, frames, open_tasks=tasks)
    assert "1 open tasks rows left out, null ['queue_idx']" in caplog.text and victim in caplog.text
    assert pairs.where(F.col("task_id") == victim).count() == 0
    assert pairs.select("task_id").distinct().count() > 200

    one = frames["skills"].orderBy("labeler_id", "queue").limit(1)
    skills = frames["skills"].unionByName(one.withColumn("skill_mean", F.col("skill_mean") * 0.5))
    with pytest.raises(ValueError, match=r"labeler x queue skills: several rows for the same \('labeler_id', 'queue'\)"):
        entity_codes(frames["open_tasks"], frames["labelers"], skills, syn.window_start)
