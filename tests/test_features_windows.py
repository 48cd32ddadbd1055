"""Window features from daily aggregates: 1/7/28-day sums, all-time and EW carry, priors, rates,
confusion smoothing and the labeler roll-up."""

from __future__ import annotations

import math
import random

import pytest
from pyspark.sql import functions as F
from test_features_support import d, roster, silver_roster

from features import windows as win
from features.config import FeatureParams
from features.confusion import LABEL_SETS, balanced_accuracy, smoothed_confusion
from features.labeler_daily import labeler_daily
from features.roster import roster_by_day
from schemas import features as fx

PARAMS = FeatureParams()


def lq_row(labeler: str, day: int, queue: str = "spam", **measures) -> dict:
    from features.config import feature_ts_of

    row = {"labeler_id": labeler, "queue": queue, "event_date": d(day), "feature_ts": feature_ts_of(d(day)),
           "hourly_cost": 12.0, "active_seconds_sketch": {}, "gold_confusion_counts": {}}
    for name, dtype in fx.SUM_MEASURES:
        row[name] = measures.get(name, 0.0 if dtype.typeName() == "double" else 0)
    row["labor_cost"] = None
    row.update(measures)
    return row


def lq_frame(spark, rows):
    schema = fx.LABELER_QUEUE_DAILY.schema
    return spark.createDataFrame([tuple(r[c] for c in schema.names) for r in rows], schema)


def as_of(spark, *days):
    return spark.createDataFrame([(d(x),) for x in days], "as_of_date date")


def carried(spark, rows, days, anchor_day, anchor_df=None, keys=("labeler_id", "queue")):
    daily = lq_frame(spark, rows)
    if keys == ("labeler_id",):
        daily = labeler_daily(daily)
    sums = win.window_sums(daily, as_of(spark, *days), list(keys), d(anchor_day), PARAMS,
                           with_confusion=keys != ("labeler_id",))
    return win.with_carry(sums, anchor_df, list(keys), as_of(spark, *days), d(anchor_day), PARAMS)


def test_windows_cover_the_right_days(spark):
    rows = [lq_row("a", day, judgments=n, assignments=n) for day, n in ((0, 1), (5, 10), (20, 100), (30, 1000))]
    out = carried(spark, rows, [30], anchor_day=-1).first()
    assert (out["judgments_1d"], out["judgments_7d"], out["judgments_28d"], out["judgments_all"]) == (
        1000, 1000, 1110, 1111)
    assert (out["active_days_1d"], out["active_days_7d"], out["active_days_28d"], out["active_days_all"]) == (
        1, 1, 3, 4)


def test_all_time_and_ew_are_carried_from_the_anchor(spark):
    cols = ["labeler_id", "queue", *win.CARRY_COLUMNS]
    types = {c: ("double" if c.startswith("ew_") or c in ("agreement_credit_all", "active_seconds_all",
                                                          "labor_cost_all") else "bigint") for c in win.CARRY_COLUMNS}
    anchor_row = {c: (0.0 if types[c] == "double" else 0) for c in win.CARRY_COLUMNS}
    anchor_row.update({"judgments_all": 100, "gold_n_all": 20, "active_days_all": 10, "ew_gold_n": 8.0,
                       "ew_gold_correct": 6.0, "labor_cost_all": None})
    schema = ", ".join(["labeler_id string", "queue string"] + [f"{c} {types[c]}" for c in win.CARRY_COLUMNS])
    anchor = spark.createDataFrame([
        tuple({"labeler_id": "a", "queue": "spam", **anchor_row}[c] for c in cols),
        tuple({"labeler_id": "idle", "queue": "spam", **anchor_row}[c] for c in cols),
    ], schema)
    rows = [lq_row("a", 31, judgments=5, gold_n=4, gold_correct=4, labor_cost=2.5),
            lq_row("new", 32, judgments=7)]
    out = {(r["labeler_id"], r["as_of_date"]): r for r in carried(spark, rows, [31, 32], 30, anchor).collect()}
    a31, a32 = out[("a", d(31))], out[("a", d(32))]
    assert a31["judgments_all"] == 105 and a32["judgments_all"] == 105
    assert a31["active_days_all"] == 11 and a32["active_days_all"] == 11
    assert a31["judgments_1d"] == 5 and a32["judgments_1d"] == 0 and a32["judgments_7d"] == 5
    half = 0.5 ** (1 / 14)
    assert a31["ew_gold_n"] == pytest.approx(8.0 * half + 4)
    assert a32["ew_gold_n"] == pytest.approx(8.0 * half**2 + 4 * half)
    assert a31["labor_cost_all"] == pytest.approx(2.5) and a31["labor_cost_1d"] == pytest.approx(2.5)
    idle = out[("idle", d(32))]
    assert idle["judgments_all"] == 100 and idle["judgments_28d"] == 0 and idle["labor_cost_all"] is None
    assert ("new", d(31)) not in out and out[("new", d(32))]["judgments_all"] == 7


def test_gold_posterior_uses_the_queue_prior_and_rates_are_null_without_denominators(spark):
    sketch = {100: 3}
    rows = [
        lq_row("good", 0, judgments=10, assignments=12, skipped_n=2, gold_n=10, gold_correct=9,
               active_seconds=360.0, accepted_n=9, labor_cost=1.8, active_seconds_sketch=sketch,
               gold_confusion_counts={"spam|spam": 5, "not_spam|not_spam": 4, "not_spam|spam": 1}),
        lq_row("bad", 0, judgments=10, assignments=10, gold_n=10, gold_correct=1,
               gold_confusion_counts={"spam|spam": 1, "not_spam|spam": 9}),
    ]
    lq = carried(spark, rows, [0], -1)
    priors = win.queue_gold_priors(lq)
    out = {r["labeler_id"]: r for r in win.labeler_queue_features(lq, priors, PARAMS).collect()}
    prior = (10 + 1) / (20 + 2)
    assert out["good"]["gold_accuracy_28d"] == pytest.approx((9 + 10 * prior) / 20)
    assert out["bad"]["gold_accuracy_28d"] == pytest.approx((1 + 10 * prior) / 20)
    assert out["bad"]["gold_accuracy_lb_28d"] < out["bad"]["gold_accuracy_28d"]
    assert out["good"]["skip_rate_7d"] == pytest.approx(2 / 12)
    assert out["good"]["throughput_per_active_hour_1d"] == pytest.approx(100.0)
    assert out["good"]["cost_per_accepted_label_28d"] == pytest.approx(0.2)
    gamma = (1 + PARAMS.sketch_relative_accuracy) / (1 - PARAMS.sketch_relative_accuracy)
    assert out["good"]["active_seconds_p50_28d"] == pytest.approx(2 * gamma**100 / (gamma + 1))
    # no reviews, no consensus, no active time -> null rates (not 0)
    assert out["good"]["overturn_rate_28d"] is None and out["good"]["agreement_rate_28d"] is None
    assert out["bad"]["throughput_per_active_hour_28d"] is None and out["bad"]["active_seconds_p50_28d"] is None
    assert out["bad"]["cost_per_accepted_label_28d"] is None
    for r in out.values():
        for row in r["gold_confusion_28d"].values():
            assert sum(row.values()) == pytest.approx(1.0)
    assert out["good"]["gold_balanced_accuracy_28d"] > 0.7 > out["bad"]["gold_balanced_accuracy_28d"]


def test_smoothed_confusion_and_balanced_accuracy_expose_a_constant_spammer(spark):
    # A labeler answering "not_spam" always: plain accuracy = share of not_spam golds (72% here).
    df = spark.createDataFrame(
        [("spam", {"not_spam|not_spam": 18, "spam|not_spam": 7}, {"not_spam|not_spam": 150, "spam|spam": 60,
                                                                  "spam|not_spam": 10, "not_spam|spam": 20}),
         ("spam", {}, {}), ("spam", None, None), (None, {"spam|spam": 3}, {"spam|spam": 3}),
         ("no_such_queue", {"spam|spam": 3}, {"spam|spam": 3})],
        "q string, c map<string,bigint>, p map<string,bigint>")
    out = df.select(smoothed_confusion(F.col("c"), F.col("p"), F.col("q"), 2.0).alias("m"), "q").select(
        "m", balanced_accuracy(F.col("m"), F.col("q")).alias("b"), F.map_keys("m").alias("keys")).collect()
    spammer = out[0]
    assert spammer["keys"] == ["spam", "not_spam"]  # the queue's reference label order
    assert spammer["m"]["spam"]["spam"] == pytest.approx((0 + 2 * (60 + 1) / (70 + 2)) / (7 + 2))
    assert spammer["b"] < 0.65
    empty = out[1]  # no gold of its own: the queue's pooled (add-one) rows
    assert empty["m"]["spam"]["spam"] == pytest.approx(1 / 2)
    assert out[2]["m"]["spam"]["spam"] == pytest.approx(0.5) and out[2]["b"] == pytest.approx(0.5)
    assert out[3]["m"] is None and out[3]["b"] is None  # null queue
    assert out[4]["m"] is None and out[4]["b"] is None  # a queue without a label set


def _reference_confusion(counts, pooled, labels, strength):
    """The smoothed matrix and its balanced accuracy in plain Python (the definition)."""
    c = lambda m, t, g: float((m or {}).get(f"{t}|{g}") or 0)  # noqa: E731
    k = len(labels)
    matrix = {}
    for t in labels:
        n_t, pooled_t = sum(c(counts, t, g) for g in labels), sum(c(pooled, t, g) for g in labels)
        matrix[t] = {g: (c(counts, t, g) + strength * (c(pooled, t, g) + 1) / (pooled_t + k)) / (n_t + strength)
                     for g in labels}
    return matrix, sum(matrix[t][t] for t in labels) / k


def test_smoothed_confusion_matches_its_definition_in_every_reference_queue(spark):
    rng = random.Random(11)
    rows = []
    for queue, labels in LABEL_SETS.items():
        for _ in range(3):
            cells = [(t, g) for t in labels for g in labels]
            counts = {f"{t}|{g}": rng.randint(0, 9) for t, g in rng.sample(cells, rng.randint(0, len(cells)))}
            pooled = {f"{t}|{g}": rng.randint(0, 99) for t, g in cells if rng.random() < 0.8}
            counts[f"{labels[0]}|not_a_label"] = 5  # a key outside the label set is ignored
            rows.append((queue, counts, pooled))
        rows.append((queue, None, None))
    df = spark.createDataFrame(rows, "q string, c map<string,bigint>, p map<string,bigint>")
    out = df.select("q", "c", "p", smoothed_confusion(F.col("c"), F.col("p"), F.col("q"), 3.0).alias("m")).select(
        "*", balanced_accuracy(F.col("m"), F.col("q")).alias("b"), F.map_keys("m").alias("keys"),
        F.transform(F.map_values("m"), F.map_keys).alias("row_keys")).collect()
    assert len(out) == len(rows)
    for r in out:
        matrix, bal = _reference_confusion(r["c"], r["p"], LABEL_SETS[r["q"]], 3.0)
        assert r["keys"] == list(LABEL_SETS[r["q"]]) and r["row_keys"] == [r["keys"]] * len(r["keys"])
        for t, row in matrix.items():
            assert r["m"][t] == pytest.approx(row, rel=1e-12)
            assert sum(r["m"][t].values()) == pytest.approx(1.0)
        assert r["b"] == pytest.approx(bal, rel=1e-12)


def test_labeler_rollup_mixes_queue_priors_by_gold(spark):
    rows = [
        lq_row("a", 0, queue="spam", judgments=4, assignments=4, gold_n=4, gold_correct=4),
        lq_row("a", 0, queue="sentiment", judgments=6, assignments=6, gold_n=0, gold_correct=0),
        lq_row("b", 0, queue="sentiment", judgments=2, assignments=2, gold_n=10, gold_correct=2),
    ]
    lq = carried(spark, rows, [0], -1)
    priors = win.queue_gold_priors(lq)
    lq_features = win.labeler_queue_features(lq, priors, PARAMS)
    lab = carried(spark, rows, [0], -1, keys=("labeler_id",))
    snaps = silver_roster(spark, [roster("a", d(0), hired=d(-100))])
    roster_days = roster_by_day(snaps, spark.createDataFrame([(d(0),)], "day date"), 7)
    out = {r["labeler_id"]: r for r in win.labeler_features(lab, lq_features, priors, roster_days, PARAMS).collect()}
    spam_prior = (4 + 1) / (4 + 2)
    assert out["a"]["gold_accuracy_28d"] == pytest.approx((4 + 10 * spam_prior) / (4 + 10))
    assert out["a"]["judgments_28d"] == 10 and out["a"]["queues_28d"] == 2 and out["a"]["active_days_28d"] == 1
    assert out["a"]["tenure_days"] == 100 and out["b"]["tenure_days"] is None
    assert not math.isnan(out["b"]["gold_accuracy_lb_all"])
    assert list(out["a"].asDict()) == fx.LABELER_FEATURES.columns


def test_as_of_blocks_chunk_the_sorted_days():
    days = [d(x) for x in (5, 0, 1, 2, 3, 4, 6, 7, 9, 9)]
    assert win.as_of_blocks(days, size=3) == [(d(0), d(2)), (d(3), d(5)), (d(6), d(9))]
    assert win.as_of_blocks([d(4)]) == [(d(4), d(4))]
    assert win.as_of_blocks([]) == []


def _window_merge(rows: list[dict], labeler: str, as_of_day: int, n: int, column: str) -> dict:
    """Reference: key-wise sum of ``column`` over the labeler's daily rows in (as_of - n, as_of]."""
    out: dict = {}
    for r in rows:
        if r["labeler_id"] == labeler and as_of_day - n < (r["event_date"] - d(0)).days <= as_of_day:
            for k, v in (r[column] or {}).items():
                out[k] = out.get(k, 0) + v
    return out


def test_blocks_start_at_four_as_of_days():
    assert [win.merges_in_blocks(n) for n in (1, 2, 3)] == [False] * 3
    assert all(win.merges_in_blocks(n) for n in (win.MIN_BLOCK_AS_OF_DAYS, 10, 30))


@pytest.mark.parametrize("n_days", [10, 3], ids=["blocks", "one-merge-per-day"])
def test_window_maps_merged_in_blocks_equal_a_merge_per_as_of_day(spark, n_days):
    """Ten as-of days (two blocks of 7 and 3) or a daily run's three (no blocks) over 40 days of
    daily rows: every 1/7/28-day sketch and 28-day confusion equals the plain key-wise sum over
    that window's days, for a labeler with a row every day, one with gaps, and one whose rows
    carry null maps."""
    assert win.merges_in_blocks(n_days) == (n_days == 10)
    rows = []
    for day in range(-30, 10):
        rows.append(lq_row("every", day, judgments=1, active_seconds_sketch={day % 5: 1, 7: day + 40},
                           gold_confusion_counts={f"spam|{'ham' if day % 2 else 'spam'}": 1}))
        if day % 3 == 0:
            rows.append(lq_row("gaps", day, judgments=2, active_seconds_sketch={day % 4: 2},
                               gold_confusion_counts={"ham|ham": day + 31}))
        if day % 4 == 0:
            rows.append(lq_row("empty", day, judgments=3))
    days = list(range(10 - n_days, 10))
    daily = lq_frame(spark, rows)
    sums = win.window_sums(daily, as_of(spark, *days), ["labeler_id", "queue"], d(-1), PARAMS,
                           with_confusion=True, as_of_days=[d(x) for x in days])
    columns = ["labeler_id", "as_of_date", "active_seconds_sketch_1d", "active_seconds_sketch_7d",
               "active_seconds_sketch_28d", "gold_confusion_counts_28d", "judgments_28d", "labor_cost_28d"]
    got = sums.select(*columns)
    expected = []
    for who in ("every", "gaps", "empty"):
        for a in days:
            if not any(r["labeler_id"] == who and a - 28 < (r["event_date"] - d(0)).days <= a for r in rows):
                continue
            one = _window_merge(rows, who, a, 1, "active_seconds_sketch")
            has_today = any(r["labeler_id"] == who and r["event_date"] == d(a) for r in rows)
            expected.append((who, d(a), one if has_today else None,
                             _window_merge(rows, who, a, 7, "active_seconds_sketch"),
                             _window_merge(rows, who, a, 28, "active_seconds_sketch"),
                             _window_merge(rows, who, a, 28, "gold_confusion_counts"),
                             sum(r["judgments"] for r in rows if r["labeler_id"] == who
                                 and a - 28 < (r["event_date"] - d(0)).days <= a), None))
    # (maps cannot be sorted or hashed in Spark: compare the collected rows by key)
    by_key = {(r["labeler_id"], r["as_of_date"]): tuple(r) for r in got.collect()}
    assert by_key == {(e[0], e[1]): e for e in expected}


def test_confusion_kernel_on_a_sliced_batch_with_null_and_unknown_queues():
    """The Arrow kernel alone, on a slice (offsets into the whole child, as Spark may hand over)."""
    import pyarrow as pa

    from features.confusion import smoothed_confusion_matrices

    rng = random.Random(5)
    queues, counts, pooled = [], [], []
    for queue, labels in [*LABEL_SETS.items()] * 2:
        queues.append(queue)
        counts.append([(f"{t}|{g}", rng.choice([None, 0, 1, 4])) for t in labels for g in labels if rng.random() < 0.6])
        pooled.append([(f"{t}|{g}", rng.randint(0, 50)) for t in labels for g in labels] if rng.random() < 0.9 else None)
    queues += [None, "no_such_queue", "spam"]
    counts += [[("spam|spam", 2)], [("spam|spam", 2)], None]
    pooled += [None, None, [("spam|spam", 1)]]
    map_type = pa.map_(pa.string(), pa.int64())
    q_arr, c_arr, p_arr = pa.array(queues), pa.array(counts, map_type), pa.array(pooled, map_type)
    out = smoothed_confusion_matrices(q_arr.slice(3), c_arr.slice(3), p_arr.slice(3), 2.0).to_pylist()
    assert len(out) == len(queues) - 3
    for got, queue, c, p in zip(out, queues[3:], counts[3:], pooled[3:], strict=True):
        if queue not in LABEL_SETS:
            assert got is None
            continue
        matrix, _ = _reference_confusion(dict(c or []), dict(p or []), LABEL_SETS[queue], 2.0)
        assert [t for t, _ in got] == list(LABEL_SETS[queue])
        for t, row in got:
            assert [g for g, _ in row] == list(LABEL_SETS[queue])
            assert dict(row) == pytest.approx(matrix[t], rel=1e-12)
