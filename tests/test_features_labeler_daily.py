"""Judgment flags, leave-one-out consensus and the labeler (x queue) daily measures."""

from __future__ import annotations

from datetime import date

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F
from test_features_support import d, judgment, roster, silver_judgments, silver_roster, ts

from features import labeler_daily as ld
from features.roster import roster_by_day
from features.sketch import SketchSpec, sketch_quantile

SPEC = SketchSpec()


def test_judgment_flags_never_null(spark):
    rows = [
        judgment("j1", "t1", "a", label="spam", gold="spam"),
        judgment("j2", "t1", "b", label="not_spam", gold="spam", review="spam"),
        judgment("j3", "t1", "c", label=None),                       # submitted without a label
        judgment("j4", "t1", "d", status="skipped"),
        judgment("j5", "t2", "a", label="spam", review="spam"),
    ]
    df = silver_judgments(spark, rows)
    df = df.withColumn("is_gold", F.when(F.col("judgment_id") == "j3", F.lit(None)).otherwise(F.col("is_gold")))
    flags = ld.with_judgment_flags(df).select(
        "judgment_id", "has_label", "is_gold_scored", "is_gold_correct", "is_reviewed", "is_overturned", "is_accepted")
    expected = spark.createDataFrame([
        ("j1", True, True, True, False, False, True),
        ("j2", True, True, False, True, True, False),
        ("j3", False, False, False, False, False, False),
        ("j4", False, False, False, False, False, False),
        ("j5", True, False, False, True, False, True),
    ], flags.schema)
    assert_df_equality(flags, expected, ignore_row_order=True, ignore_nullable=True)


def test_consensus_is_leave_one_out_with_tie_credit(spark):
    rows = [
        # t1: a, b, d say spam, c says not_spam -> a and b agree with the others' majority, c does not
        judgment("j1", "t1", "a", label="spam"),
        judgment("j2", "t1", "b", label="spam"),
        judgment("j3", "t1", "c", label="not_spam"),
        judgment("j10", "t1", "d", label="spam"),
        # t2: two labels that differ: each one's only other label disagrees
        judgment("j4", "t2", "a", label="spam"),
        judgment("j5", "t2", "b", label="not_spam"),
        # t3: alone (no consensus), and a skip (no label)
        judgment("j6", "t3", "a", label="spam"),
        judgment("j7", "t3", "b", status="skipped"),
        # t4: the same labeler twice never counts as "other"
        judgment("j8", "t4", "a", label="spam"),
        judgment("j9", "t4", "a", label="spam", at=ts(0, 11)),
    ]
    flagged = ld.with_judgment_flags(silver_judgments(spark, rows))
    scored = ld.with_consensus_agreement(flagged, ld.consensus_candidates(flagged, None), min_others=1)
    out = {r["judgment_id"]: (r["has_consensus"], r["agreement_credit"])
           for r in scored.select("judgment_id", "has_consensus", "agreement_credit").collect()}
    assert out["j1"] == (True, 1.0) and out["j2"] == (True, 1.0)
    assert out["j3"] == (True, 0.0)
    assert out["j4"] == (True, 0.0) and out["j5"] == (True, 0.0)
    assert out["j6"] == (False, None) and out["j7"] == (False, None)
    assert out["j8"] == (False, None) and out["j9"] == (False, None)


def test_consensus_ties_and_earlier_labels(spark):
    rows = [
        # t1 today: a says spam; others: b spam, c not_spam (a tie among others -> credit 1/2)
        judgment("j1", "t1", "a", label="spam", at=ts(1)),
        judgment("j2", "t1", "b", label="spam", at=ts(1)),
        judgment("j3", "t1", "c", label="not_spam", at=ts(1)),
        # t2 today: only a; b labelled it yesterday (known from the task table)
        judgment("j4", "t2", "a", label="not_spam", at=ts(1)),
        # t3 today: a; c's label is from tomorrow -> not known yet
        judgment("j5", "t3", "a", label="spam", at=ts(1)),
        judgment("j6", "t3", "c", label="spam", at=ts(2)),
    ]
    flagged = ld.with_judgment_flags(silver_judgments(spark, rows))
    prior = spark.createDataFrame([("t2", "b", "not_spam", d(0))], "task_id string, labeler_id string, "
                                  "label string, known_date date")
    scored = ld.with_consensus_agreement(flagged, ld.consensus_candidates(flagged, prior), min_others=1)
    out = {r["judgment_id"]: (r["has_consensus"], r["agreement_credit"])
           for r in scored.select("judgment_id", "has_consensus", "agreement_credit").collect()}
    assert out["j1"] == (True, 0.5)
    assert out["j4"] == (True, 1.0)
    assert out["j5"] == (False, None)  # no other label by the end of its day
    assert out["j6"] == (True, 1.0)


def test_labeler_queue_daily_measures(spark):
    rows = [
        judgment("j1", "t1", "a", label="spam", gold="spam", active=10.0),
        judgment("j2", "t2", "a", label="not_spam", gold="spam", active=30.0),
        judgment("j3", "t3", "a", label="spam", review="not_spam", active=None),   # null active time
        judgment("j4", "t4", "a", status="skipped", active=2.0),
        judgment("j5", "t5", "a", status="expired", active=None),
        judgment("j6", "t1", "b", label="spam", gold="spam", active=20.0),
        judgment("j7", "t6", "c", queue="sentiment", label="positive", active=5.0),  # c: no roster
    ]
    flagged = ld.with_judgment_flags(silver_judgments(spark, rows))
    scored = ld.with_consensus_agreement(flagged, ld.consensus_candidates(flagged, None), 1)
    days = spark.createDataFrame([(d(0),)], "day date")
    snapshots = silver_roster(spark, [roster("a", d(0), hourly_cost=36.0), roster("b", d(0), hourly_cost=18.0)])
    daily = ld.labeler_queue_daily(scored, roster_by_day(snapshots, days, 7), SPEC)
    got = {(r["labeler_id"], r["queue"]): r for r in daily.collect()}
    a = got[("a", "spam")]
    assert (a["assignments"], a["judgments"], a["skipped_n"], a["expired_n"], a["abandoned_n"]) == (5, 3, 1, 1, 0)
    assert (a["gold_n"], a["gold_correct"], a["reviewed_n"], a["overturned_n"], a["accepted_n"]) == (2, 1, 1, 1, 1)
    assert (a["agreement_n"], a["agreement_credit"]) == (1, 1.0)   # j1 vs b's spam on t1
    assert a["active_seconds"] == pytest.approx(42.0)
    assert a["labor_cost"] == pytest.approx(42.0 / 3600 * 36.0)
    assert a["gold_confusion_counts"] == {"spam|spam": 1, "spam|not_spam": 1}
    assert sum(a["active_seconds_sketch"].values()) == 2  # submitted with active time: j1, j2
    assert a["feature_ts"].date() == date(2026, 1, 6)
    c = got[("c", "sentiment")]
    assert c["labor_cost"] is None and c["hourly_cost"] is None
    assert c["gold_confusion_counts"] == {}
    p50 = daily.where("labeler_id = 'b'").select(sketch_quantile(F.col("active_seconds_sketch"), 0.5, SPEC)).first()[0]
    assert p50 == pytest.approx(20.0, rel=0.01)

    labeler = ld.labeler_daily(daily)
    assert labeler.count() == 3
    c_row = labeler.where("labeler_id = 'c'").first()
    assert c_row["queues_n"] == 1 and c_row["labor_cost"] is None and c_row["judgments"] == 1


def test_roster_takes_the_newest_snapshot_not_from_the_future(spark):
    snaps = silver_roster(spark, [roster("a", d(0), hourly_cost=10.0), roster("a", d(2), hourly_cost=20.0),
                                  roster("b", d(-10), hourly_cost=5.0)])
    days = spark.createDataFrame([(d(1),), (d(2),)], "day date")
    out = roster_by_day(snaps, days, 7).select("labeler_id", "day", "hourly_cost")
    expected = spark.createDataFrame([("a", d(1), 10.0), ("a", d(2), 20.0)], out.schema)
    assert_df_equality(out, expected, ignore_row_order=True)
