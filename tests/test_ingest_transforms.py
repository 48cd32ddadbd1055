"""Unit tests of the ingest transformations: parsing, typing, checks, duplicates, line numbers."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from schemas.bronze import Reason
from schemas.raw import JUDGMENTS, LABELERS, TASKS
from transforms.ingest import (
    parse_csv,
    parse_jsonl,
    parse_value,
    relative_path,
    split_bronze_quarantine,
    with_checks,
    with_duplicates_flagged,
    with_line_numbers,
)

DAY = date(2026, 1, 5)


def judgment(**overrides) -> str:
    row = {
        "judgment_id": "j1", "task_id": "t1", "labeler_id": "l1", "queue": "spam", "status": "submitted",
        "label": "spam", "assigned_at": "2026-01-05T10:00:00.000Z", "started_at": "2026-01-05T10:00:05.000Z",
        "submitted_at": "2026-01-05T10:00:35.000Z", "active_seconds": 30.0, "is_gold": False,
        "gold_label": None, "review_label": None, "client_version": "web-4.1",
    }
    row.update(overrides)
    return json.dumps({k: v for k, v in row.items() if v is not ...})


def lines_df(spark, lines: list[str], file: str = "judgments/dt=2026-01-05/part-00000.jsonl"):
    return spark.createDataFrame([(file, i + 1, v) for i, v in enumerate(lines)],
                                 "source_file string, line_number long, value string")


def checked(spark, lines, source=JUDGMENTS):
    return (with_checks(parse_jsonl(lines_df(spark, lines), source), source, DAY)
            .transform(with_duplicates_flagged, source))


def reasons(df) -> dict[int, str | None]:
    return {r.line_number: r.reason for r in df.select("line_number", "reason").collect()}


def test_line_numbers_follow_split_offsets_and_position(spark):
    # One task reading three splits in an order that is not the file order (as Spark's
    # bin-packing does): f1's second split (offset 100) before its first (offset 0).
    df = spark.createDataFrame(
        [("a", "f1", 100), ("d", "f1", 100), ("b", "f1", 0), ("c", "f2", 0), (None, "f2", 0)],
        "value string, source_file string, block_start long",
    ).coalesce(1)
    out = with_line_numbers(df).orderBy("source_file", "line_number")
    got = [(r.source_file, r.line_number, r.value) for r in out.collect()]
    assert got == [("f1", 1, "b"), ("f1", 2, "a"), ("f1", 3, "d"), ("f2", 1, "c"), ("f2", 2, None)]


def test_line_numbers_of_a_real_multi_split_file(spark, tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("".join(f"line {i}\n" for i in range(1, 5001)))
    spark.conf.set("spark.sql.files.maxPartitionBytes", "4096")  # ~10 splits
    try:
        raw = spark.read.text(str(path)).select(
            "value", F.col("_metadata.file_path").alias("source_file"),
            F.col("_metadata.file_block_start").alias("block_start"))
        assert raw.rdd.getNumPartitions() > 5
        rows = with_line_numbers(raw).collect()
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert len(rows) == 5000
    assert all(r.value == f"line {r.line_number}" for r in rows)


def test_relative_path_strips_root_with_or_without_scheme(spark):
    df = spark.createDataFrame([("file:/data/raw/judgments/dt=2026-01-05/p.jsonl",),
                                ("/data/raw/tasks/dt=2026-01-05/p.csv",), (None,)], "p string")
    out = df.select(relative_path(F.col("p"), "/data/raw").alias("p"))
    expected = spark.createDataFrame([("judgments/dt=2026-01-05/p.jsonl",), ("tasks/dt=2026-01-05/p.csv",), (None,)],
                                     "p string")
    assert_df_equality(out, expected)


@pytest.mark.parametrize(
    "kind,text,expected",
    [
        ("timestamp", "2026-01-05T13:45:12.123Z", datetime(2026, 1, 5, 13, 45, 12, 123000)),
        ("timestamp", "yesterday", None),  # Spark's cast would accept it; a platform export never means it
        ("double", "12.5", 12.5),
        ("double", "12.5s", None),
        ("double", "NaN", None),
        ("int", "2", 2),
        ("int", "high", None),
        ("bool", "true", True),
        ("bool", "yes", None),
        ("date", "2025-01-01", date(2025, 1, 1)),
        ("date", "01/01/2025", None),
        ("list", "en| es |", ["en", "es"]),
        ("string", None, None),
    ],
)
def test_parse_value_is_strict(spark, kind, text, expected):
    from schemas.raw import RawField

    df = spark.createDataFrame([(text,)], "t string")
    got = df.select(parse_value(F.col("t"), RawField("x", kind)).alias("v")).first().v
    assert got == expected


def test_good_line_is_typed_and_not_quarantined(spark):
    out = checked(spark, [judgment()]).first()
    assert out.reason is None and out.detail == ""
    assert out.active_seconds == 30.0 and out.is_gold is False
    assert out.submitted_at == datetime(2026, 1, 5, 10, 0, 35)


def test_each_kind_of_dirt_gets_its_reason(spark):
    lines = [
        judgment(),                                                    # 1 good
        judgment(judgment_id="j2", label="maybe"),                     # 2 unknown label
        judgment(judgment_id="j3")[:60],                               # 3 truncated JSON
        judgment(judgment_id=None),                                    # 4 null key
        judgment(judgment_id="j5", active_seconds="12.5s"),            # 5 wrong type
        judgment(judgment_id="j6", submitted_at="2026-01-09T00:00:00Z"),  # 6 future
        judgment(),                                                    # 7 duplicate of line 1
        judgment(judgment_id="j8", queue="cooking"),                   # 8 unknown queue
        judgment(judgment_id="j9", status="paused"),                   # 9 invalid status
        judgment(judgment_id="j10", assigned_at=...),                  # 10 required key absent
        judgment(judgment_id="j11", status=None),                      # 11 required value null
        judgment(judgment_id="j12", is_gold="yes"),                    # 12 wrong type (bool)
        judgment(judgment_id="j13", client_version=..., device="x"),   # 13 optional absent + extra: good
        "",                                                            # 14 blank line
    ]
    got = reasons(checked(spark, lines))
    assert got == {
        1: None, 2: Reason.UNKNOWN_LABEL, 3: Reason.MALFORMED, 4: Reason.NULL_KEY, 5: Reason.WRONG_TYPE,
        6: Reason.FUTURE_TIMESTAMP, 7: Reason.DUPLICATE, 8: Reason.UNKNOWN_QUEUE, 9: Reason.INVALID_VALUE,
        10: Reason.MISSING_COLUMN, 11: Reason.MISSING_REQUIRED, 12: Reason.WRONG_TYPE, 13: None,
        14: Reason.MALFORMED,
    }


def test_detail_names_every_problem_and_the_first_occurrence(spark):
    lines = [judgment(), judgment(active_seconds="x", label="maybe", judgment_id="j2"), judgment()]
    rows = {r.line_number: r.detail for r in checked(spark, lines).collect()}
    assert "active_seconds=x is not a valid double" in rows[2]
    assert "label=maybe is not in the label set of queue spam" in rows[2]
    assert rows[3] == "duplicate judgment_id=j1, first seen at judgments/dt=2026-01-05/part-00000.jsonl:1"


def test_extra_and_missing_fields_are_reported(spark):
    rec = parse_jsonl(lines_df(spark, [judgment(client_version=..., device="x")]), JUDGMENTS).first()
    assert rec.missing_fields == ["client_version"]
    assert rec.extra_fields == ["device"]


def test_split_reconciles_and_keeps_raw_text(spark):
    lines = [judgment(), judgment(judgment_id="j2", label="maybe"), judgment()]
    good, bad = split_bronze_quarantine(checked(spark, lines), JUDGMENTS, DAY)
    assert good.count() + bad.count() == len(lines)
    assert good.columns == JUDGMENTS.field_names + ["ingest_date", "source_file", "source_line"]
    q = bad.orderBy("line_number").collect()
    assert [r.raw_text for r in q] == [lines[1], lines[2]]
    assert {r.ingest_date for r in q} == {DAY}


def test_csv_with_drifted_headers_and_bad_rows(spark):
    header_a = TASKS.field_names
    header_b = [c for c in TASKS.field_names if c != "reward"] + ["campaign"]  # missing optional + extra
    ok = "t1,spam,text,en,2026-01-05T09:00:00Z,2026-01-06T09:00:00Z,1,spam|not_spam,0.05"
    rows = [
        ("tasks/a.csv", 1, ",".join(header_a)), ("tasks/a.csv", 2, ok),
        ("tasks/a.csv", 3, "t2,spam,text"),  # too few fields
        ("tasks/a.csv", 4, ok.replace("t1,", "t3,").replace(",1,", ",high,")),
        ("tasks/b.csv", 1, ",".join(header_b)),
        ("tasks/b.csv", 2, "t4,spam,text,en,2026-01-05T09:00:00Z,2026-01-06T09:00:00Z,2,spam|not_spam,c9"),
    ]
    lines = spark.createDataFrame(rows, "source_file string, line_number long, value string")
    headers = {"tasks/a.csv": header_a, "tasks/b.csv": header_b}
    out = with_checks(parse_csv(lines, TASKS, headers), TASKS, DAY)
    got = {(r.source_file, r.line_number): (r.reason, r.task_id, r.reward) for r in out.collect()}
    assert got == {
        ("tasks/a.csv", 2): (None, "t1", 0.05),
        ("tasks/a.csv", 3): (Reason.MALFORMED, None, None),
        ("tasks/a.csv", 4): (Reason.WRONG_TYPE, "t3", 0.05),
        ("tasks/b.csv", 2): (None, "t4", None),
    }


def test_csv_missing_required_column_quarantines_every_row(spark):
    header = [c for c in LABELERS.field_names if c != "hourly_cost"]
    rows = [("l.csv", 1, ",".join(header)), ("l.csv", 2, "l1,manila,en,spam,8,2025-01-01,active"),
            ("l.csv", 3, "l2,manila,en,spam,8,2025-01-01,active")]
    lines = spark.createDataFrame(rows, "source_file string, line_number long, value string")
    out = with_checks(parse_csv(lines, LABELERS, {"l.csv": header}), LABELERS, DAY)
    assert [r.reason for r in out.collect()] == [Reason.MISSING_COLUMN] * 2


def test_list_codes_are_validated(spark):
    header = LABELERS.field_names
    rows = [("l.csv", 1, ",".join(header)),
            ("l.csv", 2, "l1,manila,en|es,spam|sentiment,12.5,8,2025-01-01,active"),
            ("l.csv", 3, "l2,manila,en,spam|cooking,12.5,8,2025-01-01,active"),
            ("l.csv", 4, "l3,,en,spam,12.5,8,2027-01-01,active")]
    lines = spark.createDataFrame(rows, "source_file string, line_number long, value string")
    out = with_checks(parse_csv(lines, LABELERS, {"l.csv": header}), LABELERS, DAY)
    got = {r.line_number: (r.reason, r.site, r.languages) for r in out.collect()}
    assert got[2] == (None, "manila", ["en", "es"])
    assert got[3][0] == Reason.INVALID_VALUE
    assert got[4][0] == Reason.FUTURE_TIMESTAMP and got[4][1] is None  # empty optional -> null
