"""Matching on small hand-made instances: constraints, optimality, greedy gap, weights.

Pure NumPy / OR-Tools (no Spark): these run in well under a second.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from scoring.allocation.config import QUEUE_ORDER, Weights
from scoring.allocation.formulas import combine, queue_params
from scoring.allocation.matching import (
    Instance,
    match_partition,
    relative_gap,
    solve_exact,
    solve_greedy,
)


def instance(rows: list[tuple[str, str, float]], capacity: dict[str, int], need: dict[str, int]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["labeler_id", "task_id", "score"])
    df["capacity"] = df["labeler_id"].map(capacity)
    df["labels_needed"] = df["task_id"].map(need)
    return df


def feasible(pdf: pd.DataFrame, chosen: np.ndarray) -> bool:
    picked = pdf[chosen]
    per_lab = picked.groupby("labeler_id").size()
    per_task = picked.groupby("task_id").size()
    return (bool((per_lab <= picked.groupby("labeler_id")["capacity"].first()).all())
            and bool((per_task <= picked.groupby("task_id")["labels_needed"].first()).all())
            and not picked.duplicated(["labeler_id", "task_id"]).any())


def brute_force(pdf: pd.DataFrame) -> float:
    best = 0.0
    for mask in itertools.product([False, True], repeat=len(pdf)):
        chosen = np.array(mask)
        if feasible(pdf, chosen):
            best = max(best, float(pdf.loc[chosen, "score"].sum()))
    return best


def test_capacity_and_need_are_respected_and_optimum_is_exact() -> None:
    pdf = instance(
        [("a", "t1", 3.0), ("a", "t2", 2.0), ("a", "t3", 1.5), ("b", "t1", 2.5), ("b", "t2", 0.5),
         ("c", "t3", 1.0), ("c", "t1", 2.9)],
        capacity={"a": 1, "b": 2, "c": 1}, need={"t1": 2, "t2": 1, "t3": 1})
    inst = Instance.from_frame(pdf)
    chosen = solve_exact(inst)
    assert feasible(pdf, chosen)
    assert inst.objective(chosen) == pytest.approx(brute_force(pdf), abs=1e-5)


def test_random_small_instances_match_brute_force() -> None:
    rng = np.random.default_rng(3)
    for _ in range(15):
        labs, tasks = ["a", "b", "c"], ["t1", "t2", "t3", "t4"]
        rows = [(lab, t, float(rng.normal(1, 1))) for lab in labs for t in tasks if rng.random() < 0.6]
        if not rows:
            continue
        pdf = instance(rows, {lab: int(rng.integers(0, 3)) for lab in labs},
                       {t: int(rng.integers(0, 3)) for t in tasks})
        inst = Instance.from_frame(pdf)
        exact = solve_exact(inst)
        greedy = solve_greedy(inst)
        assert feasible(pdf, exact) and feasible(pdf, greedy)
        assert inst.objective(exact) == pytest.approx(brute_force(pdf), abs=1e-5)
        assert inst.objective(greedy) <= inst.objective(exact) + 1e-9


def test_non_positive_scores_are_never_planned() -> None:
    pdf = instance([("a", "t1", -1.0), ("a", "t2", 0.0), ("b", "t1", 0.4)],
                   capacity={"a": 5, "b": 5}, need={"t1": 2, "t2": 2})
    chosen = solve_exact(Instance.from_frame(pdf))
    assert pdf.loc[chosen, "task_id"].tolist() == ["t1"] and pdf.loc[chosen, "labeler_id"].tolist() == ["b"]


def test_greedy_gap_is_reported_where_both_run() -> None:
    # Greedy takes (a, t1) = 10 first and strands t2; the optimum is (a, t2) + (b, t1) = 18.
    pdf = instance([("a", "t1", 10.0), ("a", "t2", 9.0), ("b", "t1", 9.0)],
                   capacity={"a": 1, "b": 1}, need={"t1": 1, "t2": 1})
    out = match_partition(pdf)
    assert out["solver"].unique().tolist() == ["min_cost_flow"]
    assert out["exact_objective"].iloc[0] == pytest.approx(18.0)
    assert out["greedy_objective"].iloc[0] == pytest.approx(10.0)
    assert relative_gap(18.0, 10.0) == pytest.approx(8 / 18)
    fallback = match_partition(pdf, max_exact_pairs=2)
    assert fallback["solver"].unique().tolist() == ["greedy"]
    assert fallback["exact_objective"].isna().all()


def test_empty_partition_gives_empty_plan() -> None:
    out = match_partition(instance([], {}, {}))
    assert out.empty and "solver" in out.columns


def _hand_made_pairs() -> pd.DataFrame:
    """Two tasks, three labelers: cheap-and-weak, dear-and-strong, middle."""
    labs = pd.DataFrame({"labeler_id": ["cheap", "strong", "mid"],
                         "label_value": [0.15, 0.75, 0.45],
                         "expected_accuracy": [0.65, 0.95, 0.82],
                         "expected_cost": [0.01, 0.09, 0.04]})
    tasks = pd.DataFrame({"task_id": ["t1", "t2"], "on_time_gain": [0.9, 0.0], "priority": [1, 3]})
    pdf = tasks.merge(labs, how="cross")
    pdf["load_penalty"] = 0.0
    pdf["queue_idx"] = QUEUE_ORDER.index("sentiment")
    pdf["capacity"] = 1
    pdf["labels_needed"] = 1
    return pdf


def _plan(pdf: pd.DataFrame, weights: Weights) -> pd.DataFrame:
    params = queue_params({q: weights for q in QUEUE_ORDER})
    scored = pdf.assign(score=combine(pdf, pdf["priority"].to_numpy(), pdf["queue_idx"].to_numpy(), params))
    return scored[solve_exact(Instance.from_frame(scored))]


def test_weights_move_the_plan_in_the_expected_direction() -> None:
    pdf = _hand_made_pairs()
    base = Weights(coverage=1.0, quality=1.0, cost=0.5, deadline=0.0, load=0.0)
    cheap = _plan(pdf, Weights(**{**base.as_dict(), "cost": 1.0}))
    good = _plan(pdf, Weights(**{**base.as_dict(), "quality": 10.0}))
    assert cheap["expected_cost"].sum() < good["expected_cost"].sum()
    assert good["expected_accuracy"].mean() > cheap["expected_accuracy"].mean()
    # a large enough cost weight stops planning labels at all (every score <= 0)
    assert _plan(pdf, Weights(coverage=0.1, quality=0.0, cost=50.0, deadline=0.0, load=0.0)).empty


def test_deadline_weight_serves_the_urgent_task_first() -> None:
    # One labeler slot, two tasks: t2 is more uncertain (worth more information), t1 is urgent.
    pdf = _hand_made_pairs()
    pdf = pdf[pdf["labeler_id"] == "mid"].copy()
    pdf.loc[pdf["task_id"] == "t2", "label_value"] = 0.9
    w = Weights(coverage=1.0, quality=1.0, cost=0.0, deadline=0.0, load=0.0)
    assert _plan(pdf, w)["task_id"].tolist() == ["t2"]
    assert _plan(pdf, Weights(**{**w.as_dict(), "deadline": 2.0}))["task_id"].tolist() == ["t1"]


def test_load_weight_spreads_work_away_from_oversubscribed_labelers() -> None:
    pdf = _hand_made_pairs()
    pdf["capacity"] = 2
    pdf["load_penalty"] = np.where(pdf["labeler_id"] == "strong", 0.9, 0.0)
    w = Weights(coverage=1.0, quality=1.0, cost=0.0, deadline=0.0, load=0.0)
    assert (_plan(pdf, w)["labeler_id"] == "strong").sum() == 2
    assert (_plan(pdf, Weights(**{**w.as_dict(), "load": 2.0}))["labeler_id"] == "strong").sum() == 0


def test_metrics_table_reports_greedy_gap_per_queue_and_overall() -> None:
    from scoring.allocation.metrics import SUM_FIELDS
    from scoring.allocation.pipeline import _metrics_table

    sums = {f: 1.0 for f in SUM_FIELDS}
    per_queue = pd.DataFrame([{"queue": q, "policy": p, **sums}
                              for q in ("spam", "sentiment") for p in ("policy", "random")])
    objectives = pd.DataFrame({"queue": ["spam", "sentiment"], "exact_objective": [10.0, 30.0],
                               "greedy_objective": [9.0, 27.0]})
    out = _metrics_table(per_queue, objectives, upper_bound=41.0).set_index(["queue", "policy"])
    assert out.loc[("spam", "policy"), "greedy_gap"] == pytest.approx(0.1)
    assert out.loc[("_all", "policy"), "greedy_gap"] == pytest.approx(4 / 40)
    assert out.loc[("_all", "policy"), "upper_bound"] == 41.0
    assert pd.isna(out.loc[("spam", "random"), "greedy_gap"])
    global_only = pd.DataFrame({"queue": ["_all"], "exact_objective": [40.0], "greedy_objective": [36.0]})
    out = _metrics_table(per_queue, global_only, upper_bound=40.0).set_index(["queue", "policy"])
    assert out.loc[("_all", "policy"), "greedy_gap"] == pytest.approx(0.1)
    assert pd.isna(out.loc[("spam", "policy"), "greedy_gap"])


def test_weight_overrides_apply_to_every_queue_and_reject_typos() -> None:
    from scoring.allocation.config import parse_weight_overrides, weights_for

    weights = weights_for(parse_weight_overrides(["cost=1.5", "quality=3"]))
    assert {w.cost for w in weights.values()} == {1.5} and {w.quality for w in weights.values()} == {3.0}
    assert set(weights) == set(QUEUE_ORDER)
    with pytest.raises(ValueError, match="unknown weight"):
        parse_weight_overrides(["qualty=3"])
    with pytest.raises(ValueError, match="NAME=VALUE"):
        parse_weight_overrides(["cost"])


def _tied_instance(seed: int) -> pd.DataFrame:
    """30 labelers x 40 tasks, scores drawn from three values: many optimal plans tie."""
    rng = np.random.default_rng(seed)
    rows = [(f"l{i:02d}", f"t{j:02d}", float(rng.choice([1.0, 2.0, 3.0])))
            for i in range(30) for j in range(40) if rng.random() < 0.5]
    return instance(rows, {f"l{i:02d}": int(rng.integers(1, 4)) for i in range(30)},
                    {f"t{j:02d}": int(rng.integers(1, 3)) for j in range(40)})


@pytest.mark.parametrize("max_exact_pairs", [10**6, 0], ids=["exact", "greedy"])
def test_plan_does_not_depend_on_the_order_spark_hands_the_rows_in(max_exact_pairs: int) -> None:
    # Spark gives a group's rows in shuffle-fetch order, which changes from run to run; with tied
    # scores both solvers would pick a different (equally good) plan each time, so a rerun of
    # a date would move assignments. The plan must depend on the pairs only.
    pdf = _tied_instance(5)
    plans = []
    for seed in range(4):
        shuffled = pdf.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        out = match_partition(shuffled, max_exact_pairs=max_exact_pairs)
        plans.append(sorted(zip(out["labeler_id"], out["task_id"], strict=True)))
    assert len(plans[0]) > 0
    assert all(p == plans[0] for p in plans[1:])
