"""Point-in-time retrieval (Feast semantics) and the rebuild plan (which as-of days a run redoes)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from test_features_support import d, ts

from features.plan import plan_rebuild, published_days
from features.point_in_time import EntityFrameError, as_of_join


def feature_rows(spark):
    # labeler "a" has rows as of days 0, 1, 3; feature_ts = as-of + 1 day
    rows = [("a", d(0), ts(1, 0), 0.50), ("a", d(1), ts(2, 0), 0.60), ("a", d(3), ts(4, 0), 0.80),
            ("b", d(0), ts(1, 0), 0.10)]
    return spark.createDataFrame(rows, "labeler_id string, as_of_date date, feature_ts timestamp, acc double")


def test_latest_row_strictly_before_ts_within_ttl(spark):
    entities = spark.createDataFrame([
        ("a", ts(1, 0), "boundary: the day-0 row is stamped exactly ts, so not yet known"),
        ("a", ts(1, 0) + timedelta(microseconds=1), "just after: day-0 row"),
        ("a", ts(2, 12), "day-1 row (latest before)"),
        ("a", ts(3, 12), "day-1 row, 1.5 days old"),
        ("a", ts(9, 0), "outside the 2-day TTL"),
        ("a", ts(2, 12), "duplicate entity rows are all kept"),
        ("c", ts(2, 0), "unknown entity"),
        ("a", None, "null ts"),
    ], "labeler_id string, ts timestamp, note string")
    out = as_of_join(entities, feature_rows(spark), ["labeler_id"], ttl=timedelta(days=2))
    got = sorted((r["note"], r["acc"], r["as_of_date"]) for r in out.collect())
    assert got == sorted([
        ("boundary: the day-0 row is stamped exactly ts, so not yet known", None, None),
        ("just after: day-0 row", 0.5, d(0)),
        ("day-1 row (latest before)", 0.6, d(1)),
        ("day-1 row, 1.5 days old", 0.6, d(1)),
        ("outside the 2-day TTL", None, None),
        ("duplicate entity rows are all kept", 0.6, d(1)),
        ("unknown entity", None, None),
        ("null ts", None, None),
    ], key=repr)
    assert out.columns == ["labeler_id", "ts", "note", "feature_ts", "as_of_date", "acc"]


def test_without_ttl_any_older_row_counts(spark):
    entities = spark.createDataFrame([("b", ts(30, 0))], "labeler_id string, ts timestamp")
    out = as_of_join(entities, feature_rows(spark), ["labeler_id"], ttl=None, features=["acc"]).collect()
    assert out[0]["acc"] == 0.1 and out[0]["feature_ts"] == ts(1, 0)


def test_entity_frame_errors_are_explicit(spark):
    with pytest.raises(EntityFrameError, match="lacks"):
        as_of_join(spark.createDataFrame([("a",)], "labeler_id string"), feature_rows(spark), ["labeler_id"],
                   ttl=None)
    clash = spark.createDataFrame([("a", ts(2, 0), 1.0)], "labeler_id string, ts timestamp, acc double")
    with pytest.raises(EntityFrameError, match="already has"):
        as_of_join(clash, feature_rows(spark), ["labeler_id"], ttl=None)


def test_entities_derived_from_the_feature_table_still_join_on_keys(spark):
    features = feature_rows(spark)
    entities = features.select("labeler_id", (features["feature_ts"] + timedelta(hours=1)).alias("ts"))
    out = as_of_join(entities, features, ["labeler_id"], ttl=timedelta(days=7), features=["acc"])
    assert out.count() == 4 and out.where("acc IS NULL").count() == 0


# --- the rebuild plan ------------------------------------------------------------------------


def test_plan_daily_run_carries_from_yesterday():
    plan = plan_rebuild(d(5), [d(5)], published={d(i) for i in range(5)}, earliest_event_day=None)
    assert (plan.first, plan.last, plan.anchor) == (d(5), d(5), d(4))


def test_plan_late_data_rebuilds_from_the_oldest_changed_day():
    plan = plan_rebuild(d(5), [d(5), d(3), d(4)], published={d(i) for i in range(5)}, earliest_event_day=None)
    assert (plan.first, plan.last, plan.anchor, plan.reason) == (d(3), d(5), d(2), "late data")


def test_plan_backfill_of_an_old_day_runs_to_the_newest_published_day():
    plan = plan_rebuild(d(2), [d(2)], published={d(i) for i in range(8)}, earliest_event_day=d(0))
    assert (plan.first, plan.last, plan.anchor) == (d(2), d(7), d(1))
    explicit = plan_rebuild(d(7), [d(7)], published={d(i) for i in range(7)}, earliest_event_day=d(0),
                            rebuild_from=d(3))
    assert (explicit.first, explicit.last, explicit.anchor) == (d(3), d(7), d(2))


def test_plan_fills_gaps_and_builds_from_scratch_without_an_anchor():
    gap = plan_rebuild(d(9), [d(9)], published={d(0), d(1), d(2)}, earliest_event_day=d(0))
    assert (gap.first, gap.anchor) == (d(3), d(2)) and "unpublished" in gap.reason
    first = plan_rebuild(d(9), [d(9)], published=set(), earliest_event_day=d(0))
    assert (first.first, first.last, first.anchor) == (d(0), d(9), None)
    assert len(first.days) == 10


def test_published_days_need_every_table():
    ranges = [("x", d(0), d(3)), ("y", d(0), d(1)), ("y", d(3), d(3)), ("z", d(9), d(9))]
    assert published_days(ranges, ["x", "y"]) == {d(0), d(1), d(3)}
    assert published_days(ranges, ["x", "missing"]) == set()


def test_feature_ts_is_the_end_of_the_as_of_day():
    from features.config import feature_ts_of

    assert feature_ts_of(d(0)) == datetime(2026, 1, 6, 0, 0)
