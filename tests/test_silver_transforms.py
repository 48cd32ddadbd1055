"""Unit tests of the silver transformations."""

from __future__ import annotations

from datetime import date, datetime

from chispa import assert_df_equality

from transforms.silver import (
    changed_and_not_older,
    conform_judgments,
    roster_snapshot,
)

D5, D6 = date(2026, 1, 5), date(2026, 1, 6)


def _bronze_judgments(spark, rows):
    schema = ("judgment_id string, assigned_at timestamp, submitted_at timestamp, is_gold boolean, "
              "ingest_date date, source_file string, source_line long")
    return spark.createDataFrame(rows, schema)


def test_conform_judgments_event_date_late_flag_and_gold_default(spark):
    rows = [
        ("j1", datetime(2026, 1, 5, 9), datetime(2026, 1, 5, 10), True, D5, "f", 1),
        ("j2", datetime(2026, 1, 4, 23), None, None, D6, "f", 2),          # not submitted: assigned time
        ("j3", datetime(2026, 1, 4, 9), datetime(2026, 1, 4, 10), False, D6, "f", 3),  # late
        (None, None, None, None, D6, "f", 4),                                          # all null
    ]
    out = conform_judgments(_bronze_judgments(spark, rows)).select(
        "judgment_id", "event_date", "is_late", "is_gold", "ingest_date").orderBy("judgment_id")
    expected = spark.createDataFrame(
        [(None, None, None, False, D6), ("j1", D5, False, True, D5), ("j2", date(2026, 1, 4), True, False, D6),
         ("j3", date(2026, 1, 4), True, False, D6)],
        "judgment_id string, event_date date, is_late boolean, is_gold boolean, ingest_date date",
    )
    assert_df_equality(out, expected, ignore_nullable=True)


def test_roster_snapshot_is_dated_by_export_day(spark):
    df = spark.createDataFrame([("l1", D5, "f", 1), ("l2", D6, "f", 3), (None, D5, "f", 4)],
                               "labeler_id string, ingest_date date, source_file string, source_line long")
    out = roster_snapshot(df).select("labeler_id", "snapshot_date", "source_line").orderBy("labeler_id")
    expected = spark.createDataFrame([(None, D5, 4), ("l1", D5, 1), ("l2", D6, 3)],
                                     "labeler_id string, snapshot_date date, source_line long")
    assert_df_equality(out, expected, ignore_nullable=True)


def test_merge_condition_skips_reruns_and_older_copies(spark):
    cond = changed_and_not_older(["k", "label", "ingest_date", "is_late"])
    rows = [
        # (target label, target ingest, source label, source ingest) -> should update?
        ("same", D5, "same", D5, False),   # rerun, unchanged
        ("old", D5, "new", D5, True),      # rerun with corrected content
        ("same", D5, "same", D6, False),   # re-sent copy on a later day
        ("old", D5, "new", D6, True),      # correction on a later day
        ("new", D6, "old", D5, False),     # backfill of an older day must not undo a newer row
        (None, D5, "x", D5, True),         # null-safe comparison
    ]
    df = spark.createDataFrame(
        [(lt, it, ls, is_, exp) for lt, it, ls, is_, exp in rows],
        "t_label string, t_ingest date, s_label string, s_ingest date, expected boolean",
    )
    sql = (cond.replace("t.`label`", "t_label").replace("s.`label`", "s_label")
               .replace("t.`ingest_date`", "t_ingest").replace("s.`ingest_date`", "s_ingest")
               .replace("t.`k`", "'k'").replace("s.`k`", "'k'"))
    got = [(r.expected, r.got) for r in df.selectExpr("expected", f"coalesce({sql}, false) AS got").collect()]
    assert all(e == g for e, g in got), got
