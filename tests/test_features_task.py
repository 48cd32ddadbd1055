"""Task features (labels so far, entropy, completion, SLA slack, retirement) and queue x day flow."""

from __future__ import annotations

import math

import pytest
from pyspark.sql import functions as F
from test_features_support import d, judgment, records, silver_judgments, silver_tasks, task, ts

from features import labeler_daily as ld
from features import queue_daily as qd
from features import task as tk
from features.build import day_range
from features.config import FeatureParams
from features.sketch import SketchSpec

PARAMS = FeatureParams(target_labels=3, task_retention_hours=48.0)
SPEC = SketchSpec()

TASKS = [
    task("t1", created=ts(0, 8), sla_hours=24),   # 3rd label on day 1 (after its deadline)
    task("t2", created=ts(0, 9), sla_hours=4),    # one label, retires incomplete on day 2
    task("t3", created=ts(1, 8), sla_hours=24),   # never labelled
]
JUDGMENTS = [
    judgment("j1", "t1", "a", label="spam", at=ts(0, 10), active=10.0),
    judgment("j2", "t1", "b", label="spam", at=ts(0, 11), active=10.0),
    judgment("j3", "t1", "d", status="skipped", at=ts(0, 12), active=1.0),
    judgment("j4", "t1", "c", label="not_spam", at=ts(1, 10), active=None),
    judgment("j5", "t2", "a", label="spam", at=ts(0, 10), active=10.0),
    judgment("j6", "t9", "a", label="spam", at=ts(0, 10), active=10.0),   # unknown task
]


def build(spark, tasks, judgments, first, last, anchor=None):
    flagged = ld.with_judgment_flags(silver_judgments(spark, judgments))
    universe = tk.task_universe(silver_tasks(spark, tasks), anchor, PARAMS)
    tj = tk.task_judgments(flagged, universe)
    completions = tk.completion_times(tj, universe, PARAMS)
    handling = qd.handling_sketches(flagged, universe, SPEC)
    expected = qd.expected_handling(handling, day_range(spark, d(first), d(last), "as_of_date"), SPEC)
    features = tk.task_features(universe, tj, completions, expected, d(first), d(last))
    queue = qd.queue_daily(day_range(spark, d(first), d(last), "day"), silver_tasks(spark, tasks), flagged,
                           universe, completions, features, handling, d(first), d(last))
    return features, queue


def test_task_features_follow_a_task_through_its_life(spark):
    features, _ = build(spark, TASKS, JUDGMENTS, 0, 2)
    rows = {(r["task_id"], r["as_of_date"]): r for r in features.collect()}
    t1_0, t1_1 = rows[("t1", d(0))], rows[("t1", d(1))]
    assert (t1_0["labels_so_far"], t1_0["assignments_so_far"], t1_0["label_counts"]) == (2, 3, {"spam": 2})
    assert t1_0["disagreement_entropy"] == 0.0 and t1_0["is_open"] and t1_0["completed_at"] is None
    assert t1_0["age_hours"] == pytest.approx(16.0) and t1_0["sla_slack_hours"] == pytest.approx(8.0)
    assert t1_0["labeler_labels"] == {"a": "spam", "b": "spam"}
    assert t1_1["labels_so_far"] == 3 and t1_1["completed_at"] == ts(1, 10) and not t1_1["is_open"]
    assert t1_1["disagreement_entropy"] == pytest.approx(-(2 / 3) * math.log2(2 / 3) - (1 / 3) * math.log2(1 / 3))
    assert t1_0["expected_handling_seconds"] == pytest.approx(10.0, rel=0.01)
    assert ("t1", d(2)) in rows  # completed tasks stay until they retire (deadline + 48 h)
    t2_0, t2_2 = rows[("t2", d(0))], rows[("t2", d(2))]
    assert t2_0["is_past_deadline"] and t2_0["sla_slack_hours"] == pytest.approx(-11.0) and t2_0["is_open"]
    assert not t2_2["is_open"] and t2_2["completed_at"] is None  # retired at 13:00 on day 2
    t3_1 = rows[("t3", d(1))]
    assert t3_1["labels_so_far"] == 0 and t3_1["disagreement_entropy"] is None and t3_1["label_counts"] == {}
    assert ("t3", d(0)) not in rows and not any(k[0] == "t9" for k in rows)


def test_queue_daily_flow(spark):
    _, queue = build(spark, TASKS, JUDGMENTS, 0, 2)
    assert queue.count() == 6 * 3  # every reference queue, every day
    spam = {r["event_date"]: r for r in queue.where("queue = 'spam'").collect()}
    assert [spam[d(i)]["arrivals"] for i in range(3)] == [2, 1, 0]
    assert [spam[d(i)]["completions"] for i in range(3)] == [0, 1, 0]
    assert [spam[d(i)]["closed_incomplete"] for i in range(3)] == [0, 0, 1]
    assert [spam[d(i)]["backlog_end"] for i in range(3)] == [2, 2, 1]
    assert [spam[d(i)]["backlog_past_deadline_share"] for i in range(3)] == [0.5, 0.5, 1.0]
    assert spam[d(1)]["median_turnaround_hours"] == pytest.approx(26.0)
    assert spam[d(1)]["completed_late_share"] == 1.0 and spam[d(0)]["completed_late_share"] is None
    assert (spam[d(0)]["assignments"], spam[d(0)]["labels_submitted"]) == (5, 4)  # the unknown task counts here
    other = queue.where("queue = 'sentiment'").agg(F.sum("arrivals"), F.sum("backlog_end")).first()
    assert tuple(other) == (0, 0)


def test_carrying_the_task_state_equals_building_from_scratch(spark):
    """From the anchor's rows, the carry's two map paths (a labeler new to the task appends, a
    returning one replaces its label) and the entropy carried for a task without new labels give
    what a build from scratch gives."""
    again = [*JUDGMENTS, judgment("j7", "t1", "a", label="not_spam", at=ts(1, 12), active=5.0),
             judgment("j8", "t2", "e", status="skipped", at=ts(1, 9), active=None)]  # null label and seconds
    full, _ = build(spark, TASKS, again, 0, 2)
    full = full.localCheckpoint()
    anchor = full.where(F.col("as_of_date") == d(0))
    later_tasks = [t for t in TASKS if t["created_date"] >= d(1)]
    later_judgments = [j for j in again if j["event_date"] >= d(1)]
    incremental, _ = build(spark, later_tasks, later_judgments, 1, 2, anchor=anchor)
    incremental = incremental.drop("expected_handling_seconds").localCheckpoint()
    rows = {(r["task_id"], r["as_of_date"]): r for r in incremental.collect()}
    t1, t2 = rows[("t1", d(1))], rows[("t2", d(1))]
    assert t1["labeler_labels"] == {"a": "not_spam", "b": "spam", "c": "not_spam"}
    assert t2["disagreement_entropy"] == 0.0 and t2["label_counts"] == {"spam": 1} and t2["assignments_so_far"] == 2
    expected = full.where(F.col("as_of_date") >= d(1))
    # (expected handling time reads 28 days of sketches; here the incremental run has no earlier ones)
    assert records(incremental) == records(expected.drop("expected_handling_seconds"))


def test_labels_known_at_the_anchor_feed_consensus(spark):
    full, _ = build(spark, TASKS, JUDGMENTS, 0, 0)
    known = tk.labels_known_at(full, d(0)).orderBy("task_id", "labeler_id").collect()
    assert [(r["task_id"], r["labeler_id"], r["label"], r["known_date"]) for r in known] == [
        ("t1", "a", "spam", d(0)), ("t1", "b", "spam", d(0)), ("t2", "a", "spam", d(0))]
