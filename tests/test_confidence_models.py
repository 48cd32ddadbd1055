"""Confidence models on the local engine (no Spark): EM behaviour, edge cases, real datasets."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from experiments.crowd_sim import Crowd, make_crowd, simulate
from scoring.arrow_encoding import encode_table
from scoring.blocks import NO_GOLD, from_bytes, split_block, to_bytes
from scoring.calibration import bins_from_arrays
from scoring.class_space import ClassSpace, LabelSpaceError
from scoring.confidence_config import QUEUE_POLICIES, QueuePolicy, resolve_policies
from scoring.crowd_files import aggregate_local, encode_file, read_gold, read_labels
from scoring.em import EmConfig, EmptyInputError
from scoring.em_kernels import confusion_matrices
from scoring.local_engine import LocalEngine

CROWD = Path("/work/shared/datasets/crowd")
# Published Dawid-Skene accuracy (the best published figure per dataset, crowd README).
PUBLISHED_DS = {
    "zheng_d_product": 0.940,
    "zheng_d_possent": 0.960,
    "snow2008_rte": 0.9275,
    "snow2008_temp": 0.9416,
    "bluebirds": 0.8889,
}


def frame(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


def sim_frame(crowd: Crowd, n_tasks: int, per_task: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    j = simulate(crowd, n_tasks, labels_per_task=per_task, seed=seed)
    df = pd.DataFrame({"task": j.task.astype(str), "worker": j.worker.astype(str), "label": j.label.astype(str)})
    return df, j.truth


def fitted_engine(df: pd.DataFrame, config: EmConfig, gold: pd.DataFrame | None = None):
    encoded = encode_file(df, gold)
    return encoded, encoded.engine.fit(config)


# --- EM recovers what generated the data ---------------------------------------------------------


def test_ds_recovers_known_confusion_matrices():
    crowd = make_crowd(n_workers=30, k=3, seed=3, activity_skew=5.0)  # nearly uniform activity
    df, truth = sim_frame(crowd, n_tasks=4000, per_task=5, seed=4)
    encoded, fitted = fitted_engine(df, EmConfig(method="ds"))
    assert fitted.converged
    est = confusion_matrices(fitted.params, fitted.shape)  # [w, true, answered]
    order = [int(labeler) for labeler in encoded.engine.workers.labeler_ids]
    true = crowd.confusion[order]
    # Every entry within 4 standard errors of a proportion estimated from the judgments the
    # labeler gave on tasks of that true class (~650 judgments per labeler in all).
    n_row = fitted.worker_judgments[:, None, None] * crowd.prior[None, :, None]
    standard_error = np.sqrt(true * (1 - true) / n_row)
    assert (np.abs(est - true) <= 4 * standard_error + 0.01).all()
    assert np.abs(est - true).mean() < 0.02
    post = encoded.engine.block_posteriors(fitted)[0]
    block = encoded.engine.blocks[0]
    task_ids = block.keys().to_numpy(zero_copy_only=False).astype(int)
    assert (post.argmax(axis=1) == truth[task_ids]).mean() > 0.97


def test_one_coin_recovers_symmetric_accuracies():
    k, n_workers = 4, 20
    acc = np.linspace(0.55, 0.95, n_workers)
    conf = np.repeat(((1 - acc) / (k - 1))[:, None, None], k, axis=1).repeat(k, axis=2)
    conf[:, np.arange(k), np.arange(k)] = acc[:, None]
    crowd = Crowd(confusion=conf, activity=np.full(n_workers, 1 / n_workers), prior=np.full(k, 1 / k))
    df, truth = sim_frame(crowd, n_tasks=3000, per_task=5, seed=9)
    encoded, fitted = fitted_engine(df, EmConfig(method="ocds"))
    est = np.diagonal(confusion_matrices(fitted.params, fitted.shape), axis1=1, axis2=2)
    # against each labeler's realised accuracy on this sample (~750 judgments each)
    realised = (df["label"].astype(int) == truth[df["task"].astype(int)]).groupby(df["worker"]).mean()
    order = encoded.engine.workers.labeler_ids
    assert np.abs(est - realised[order].to_numpy()[:, None]).max() < 0.02
    assert np.abs(realised[order].to_numpy() - acc[np.array(order, dtype=int)]).max() > 0.02  # noise is real


def test_em_log_likelihood_never_decreases():
    crowd = make_crowd(n_workers=25, k=3, seed=5)
    df, _ = sim_frame(crowd, n_tasks=800, per_task=4, seed=6)
    for method in ("ds", "ocds"):
        _, fitted = fitted_engine(df, EmConfig(method=method, tol=0.0, max_iter=25))
        ll = np.array(fitted.log_likelihood)
        assert fitted.iterations == 25 and not fitted.converged
        assert len(ll) == 25
        assert np.diff(ll).min() >= -1e-9 * abs(ll[-1])


def test_gold_clamping_fixes_an_adversarial_majority():
    """Most labelers systematically swap two classes: unsupervised EM follows the majority;
    clamping 20% gold tasks teaches it the swap."""
    k, n_workers = 2, 12
    conf = np.zeros((n_workers, k, k))
    conf[:8] = [[0.1, 0.9], [0.9, 0.1]]    # swappers, the majority
    conf[8:] = [[0.85, 0.15], [0.15, 0.85]]
    crowd = Crowd(confusion=conf, activity=np.full(n_workers, 1 / n_workers), prior=np.array([0.5, 0.5]))
    df, truth = sim_frame(crowd, n_tasks=1500, per_task=6, seed=11)
    gold = pd.DataFrame({"task": np.arange(300).astype(str), "label": truth[:300].astype(str)})
    free, _ = aggregate_local(df, gold, EmConfig(method="ds"))
    clamped, post = aggregate_local(df, gold, EmConfig(method="ds", use_gold=True))
    held_out = post[post["task"].astype(int) >= 300]
    held_out_acc = (held_out["label"].astype(int).to_numpy() == truth[held_out["task"].astype(int)]).mean()
    assert free.accuracy < 0.2
    assert clamped.use_gold and held_out_acc > 0.95


# --- posteriors and edge cases -------------------------------------------------------------------


@pytest.mark.parametrize("method", ["mv", "ds", "ocds"])
def test_posteriors_sum_to_one_and_confidence_is_at_least_one_over_k(method):
    crowd = make_crowd(n_workers=15, k=4, seed=1)
    df, _ = sim_frame(crowd, n_tasks=300, per_task=3, seed=2)
    _, post = aggregate_local(df, None, EmConfig(method=method))
    p = post[[c for c in post.columns if c.startswith("p_")]].to_numpy()
    assert np.allclose(p.sum(axis=1), 1.0, atol=1e-9)
    assert (p >= 0).all() and (p <= 1).all()
    assert (post["confidence"] >= 1 / 4 - 1e-12).all()
    assert (post["entropy"] >= -1e-12).all() and (post["entropy"] <= np.log(4) + 1e-9).all()


def test_majority_vote_tie_keeps_the_tie_and_picks_the_first_class():
    df = frame([("t1", "a", "yes"), ("t1", "b", "no"),                       # 1-1 tie
                ("t2", "a", "yes"), ("t2", "b", "yes"), ("t2", "c", "no"),  # majority yes
                ("t3", "c", "maybe"), ("t3", "a", "yes")])                   # tie of maybe/yes
    summary, post = aggregate_local(df, None, EmConfig(method="mv"))
    post = post.set_index("task")
    # classes are sorted: maybe, no, yes
    assert post.loc["t1", ["p_maybe", "p_no", "p_yes"]].tolist() == [0.0, 0.5, 0.5]
    assert post.loc["t1", "label"] == "no" and post.loc["t1", "confidence"] == 0.5
    assert post.loc["t2", "label"] == "yes" and post.loc["t2", "confidence"] == pytest.approx(2 / 3)
    assert post.loc["t3", "label"] == "maybe"
    assert summary.n_tasks == 3 and summary.n_workers == 3


def test_single_label_tasks_get_a_posterior():
    df = frame([("t1", "a", "x"), ("t2", "a", "y"), ("t2", "b", "y"), ("t3", "b", "x"),
                ("t4", "c", "y")])
    for method in ("mv", "ds", "ocds"):
        _, post = aggregate_local(df, None, EmConfig(method=method))
        post = post.set_index("task")
        assert post.loc["t1", "n_labels"] == 1
        assert post.loc["t1", "label"] == "x"
        assert post.loc["t1", "p_x"] + post.loc["t1", "p_y"] == pytest.approx(1.0)


def test_one_class_only_gives_certainty():
    df = frame([("t1", "a", "spam"), ("t1", "b", "spam"), ("t2", "a", "spam")])
    for method in ("mv", "ds", "ocds"):
        summary, post = aggregate_local(df, None, EmConfig(method=method))
        assert summary.n_classes == 1
        assert post["label"].tolist() == ["spam", "spam"]
        assert post["confidence"].tolist() == [1.0, 1.0]
        assert post["entropy"].tolist() == [0.0, 0.0]


def test_unknown_gold_label_is_a_clear_error():
    df = frame([("t1", "a", "yes"), ("t2", "a", "no")])
    gold = pd.DataFrame({"task": ["t1"], "label": ["Yes"]})
    with pytest.raises(LabelSpaceError, match=r"gold labels \['Yes'\] are not among the judgments' labels"):
        aggregate_local(df, gold, EmConfig(method="ds"))


def test_empty_input_is_a_clear_error(tmp_path):
    header_only = tmp_path / "labels.csv"
    header_only.write_text("task,worker,label\n")
    with pytest.raises(EmptyInputError, match="no judgments"):
        aggregate_local(read_labels(header_only), None, EmConfig(method="ds"))
    nothing = tmp_path / "nothing.csv"
    nothing.write_text("")
    with pytest.raises(EmptyInputError, match="empty"):
        read_labels(nothing)
    space = ClassSpace.single(["a"])
    engine = LocalEngine([encode_table(pa.table({"task_id": pa.array([], pa.string()),
                                                 "labeler_id": pa.array([], pa.string()),
                                                 "label": pa.array([], pa.string())}), space).block], space)
    with pytest.raises(EmptyInputError):
        engine.fit(EmConfig(method="ds"))


def test_gold_only_scores_tasks_with_judgments():
    df = frame([("t1", "a", "yes"), ("t1", "b", "yes"), ("t2", "a", "no")])
    gold = pd.DataFrame({"task": ["t1", "t2", "t9"], "label": ["yes", "yes", "no"]})
    summary, _ = aggregate_local(df, gold, EmConfig(method="mv"))
    assert summary.n_gold == 2 and summary.accuracy == 0.5


def test_missing_columns_are_named(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("task,annotator,answer\n1,a,x\n")
    with pytest.raises(ValueError, match=r"lacks columns \['worker', 'label'\]"):
        read_labels(bad)


# --- encoding and blocks -------------------------------------------------------------------------


def test_arrow_encoding_counts_unknown_labels_and_spreads_gold_per_task():
    space = ClassSpace(("q1", "q2"), (("a", "b"), ("x", "y", "z")))
    table = pa.table({
        "task_id": ["t1", "t1", "t2", "t3", "t3", "t4"],
        "labeler_id": ["u", "v", "u", "u", "w", None],
        "queue": ["q1", "q1", "q2", "q2", "nope", "q1"],
        "label": ["a", "b", "z", "a", "x", "a"],        # "a" is not a class of q2; queue "nope" unknown
        "gold_label": [None, "b", None, "y", None, None],
    })
    enc = encode_table(table, space)
    assert enc.n_unknown == 3  # wrong class, unknown queue, no labeler
    block = enc.block
    assert block.n_judgments == 3 and block.n_tasks == 2
    keys = block.keys().to_pylist()
    gold = dict(zip(keys, block.task_gold.tolist(), strict=True))
    assert gold == {"t1": 1, "t2": NO_GOLD}
    assert sorted(block.worker_pairs()) == [("u", 0), ("u", 1), ("v", 0)]


def test_blocks_split_at_task_boundaries_and_round_trip():
    crowd = make_crowd(n_workers=10, k=3, seed=0)
    df, _ = sim_frame(crowd, n_tasks=200, per_task=3, seed=1)
    block = encode_file(df, None).engine.blocks[0]
    pieces = split_block(block, 100)
    assert sum(p.n_judgments for p in pieces) == block.n_judgments
    assert sum(p.n_tasks for p in pieces) == block.n_tasks
    assert all(p.n_judgments <= 102 for p in pieces)  # a task (3 judgments) is never split
    back = from_bytes(to_bytes(pieces[1].with_own_keys()))
    assert back.keys().to_pylist() == pieces[1].keys().to_pylist()
    assert np.array_equal(back.rows, pieces[1].rows)


# --- calibration and redundancy policy -----------------------------------------------------------


def test_ece_on_a_hand_computed_case():
    # bin 9: confidences 0.9, 0.9, one right -> |1 - 1.8| = 0.8
    # bin 6: confidences 0.6, 0.6, both right -> |2 - 1.2| = 0.8 ; ECE = 1.6 / 4
    bins = bins_from_arrays(np.array([0.9, 0.9, 0.6, 0.6]), np.array([True, False, True, True]))
    assert bins.ece() == pytest.approx(0.4)
    assert bins.accuracy() == pytest.approx(0.75)
    assert bins_from_arrays(np.array([1.0]), np.array([True])).ece() == 0.0  # c = 1 -> last bin
    assert bins_from_arrays(np.array([]), np.array([], dtype=bool)).ece() is None


def test_policy_overrides():
    queues = ["spam", "video_policy", "new_queue"]
    policies = resolve_policies(queues, ["0.8", "spam=0.99"], ["video_policy=9"])
    assert policies["spam"] == QueuePolicy(0.99, QUEUE_POLICIES["spam"].max_labels)
    assert policies["video_policy"] == QueuePolicy(0.8, 9)
    assert policies["new_queue"].threshold == 0.8
    with pytest.raises(ValueError):
        QueuePolicy(1.5, 3)


# --- the five real datasets ----------------------------------------------------------------------


@pytest.mark.parametrize("dataset", sorted(PUBLISHED_DS))
def test_dawid_skene_reaches_published_accuracy(dataset):
    labels = read_labels(CROWD / dataset / "labels.csv")
    gold = read_gold(CROWD / dataset / "gold.csv")
    summary, _ = aggregate_local(labels, gold, EmConfig(method="ds"))
    assert summary.converged
    assert summary.accuracy >= PUBLISHED_DS[dataset] - 0.003, (dataset, summary.accuracy)


def test_shrinkage_pulls_dawid_skene_toward_one_coin():
    crowd = make_crowd(n_workers=40, k=3, seed=21)
    df, _ = sim_frame(crowd, n_tasks=300, per_task=2, seed=22)  # sparse: ~15 judgments per labeler
    encoded = encode_file(df, None)
    engine = encoded.engine
    config = EmConfig(max_iter=30, tol=0.0)
    one_coin = engine.block_posteriors(engine.fit(replace(config, method="ocds")))[0]
    plain = engine.block_posteriors(engine.fit(replace(config, method="ds")))[0]
    strong = engine.block_posteriors(engine.fit(replace(config, method="ds", shrinkage=1e6)))[0]
    assert np.abs(strong - one_coin).max() < 1e-3
    assert np.abs(plain - one_coin).max() > 0.1
    with pytest.raises(ValueError):
        EmConfig(shrinkage=-1)
