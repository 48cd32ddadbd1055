"""The synthetic platform: deterministic, shaped like schemas/raw.py, dirty exactly as its manifests say,
and statistically faithful to its own truth. Pure Python (no Spark)."""

from __future__ import annotations

import csv
import filecmp
import json
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.synth import DirtConfig, generate
from experiments.synth import truth as T
from experiments.synth.dirt import KIND_REASON
from jobs.commands import generate as generate_command
from schemas.bronze import Reason
from schemas.raw import FUTURE_TOLERANCE_HOURS, LIST_SEPARATOR, SOURCES, RawField, RawSource
from schemas.reference import EVENT_TYPES, JUDGMENT_STATUSES, LABELER_STATUSES, QUEUES

START = date(2026, 1, 5)  # a Monday
CLEAN_DAYS = 14
DIRTY_DAYS = 8
MAX_LINES = 2500

# --- a reference reader: the quarantine rules of schemas/raw.py + schemas/bronze.py, in plain Python ---

_TS = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DOUBLE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_INT = re.compile(r"^[+-]?\d+$")


def _parse(text: str, f: RawField):
    """The typed value, or None when the text does not parse strictly."""
    try:
        if f.kind == "timestamp":
            return datetime.fromisoformat(text.replace(" ", "T")).astimezone(UTC) if _TS.match(text) else None
        if f.kind == "date":
            return date.fromisoformat(text) if _DATE.match(text) else None
        if f.kind == "double":
            return float(text) if _DOUBLE.match(text) else None
        if f.kind == "int":
            return int(text) if _INT.match(text) else None
        if f.kind == "bool":
            return {"true": True, "false": False}.get(text.lower())
        if f.kind == "list":
            return [x.strip() for x in text.split(LIST_SEPARATOR) if x.strip()]
        return text
    except ValueError:
        return None


def _as_text(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    text = str(v).strip()
    return text or None


def row_reason(source: RawSource, values: dict | None, columns: set[str], day: date) -> str | None:
    """First quarantine reason (in Reason.ALL order) of one parsed record, or None."""
    if values is None:
        return Reason.MALFORMED
    found: set[str] = set()
    cutoff = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC) + timedelta(hours=FUTURE_TOLERANCE_HOURS)
    queue = _as_text(values.get("queue"))
    for f in source.fields:
        text = _as_text(values.get(f.name))
        if f.required and f.name not in columns:
            found.add(Reason.MISSING_COLUMN)
        elif f.required and text is None:
            found.add(Reason.NULL_KEY if f.name in source.id_fields else Reason.MISSING_REQUIRED)
        if text is None:
            continue
        value = _parse(text, f)
        if value is None:
            found.add(Reason.WRONG_TYPE)
            continue
        if f.allowed is not None:
            bad = any(x not in f.allowed for x in value) if f.kind == "list" else text not in f.allowed
            if bad:
                found.add(Reason.UNKNOWN_QUEUE if f.name == "queue" else Reason.INVALID_VALUE)
        if f.is_label and queue in QUEUES and text not in QUEUES[queue].labels:
            found.add(Reason.UNKNOWN_LABEL)
        if f.occurred and (value > day if f.kind == "date" else value > cutoff):
            found.add(Reason.FUTURE_TIMESTAMP)
    return next((r for r in Reason.ALL if r in found), None)


def read_file(path: Path, source: RawSource) -> tuple[list[str], list[str], list[dict | None]]:
    """(columns of the file, raw data lines, parsed records or None when malformed)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "", f"{path} must end with a newline"
    lines = lines[:-1]
    if source.file_format == "jsonl":
        records, columns = [], set()
        for line in lines:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                obj = None
            records.append(obj if isinstance(obj, dict) else None)
            columns |= set(obj) if isinstance(obj, dict) else set()
        return sorted(columns), lines, records
    header, *data = lines
    names = next(csv.reader([header]))
    records = []
    for line in data:
        cells = next(csv.reader([line]))
        records.append(dict(zip(names, [c or None for c in cells], strict=True)) if len(cells) == len(names) else None)
    return names, data, records


def reference_reasons(root: Path, day: date) -> dict[tuple[str, int], str]:
    """{(file, line_number): reason} for every line the reference reader quarantines on ``day``."""
    out: dict[tuple[str, int], str] = {}
    for source in SOURCES.values():
        seen: set[str] = set()
        for path in sorted((root / source.name / f"dt={day.isoformat()}").iterdir()):
            rel = path.relative_to(root).as_posix()
            names, lines, records = read_file(path, source)
            first = 1 if source.file_format == "jsonl" else 2
            for i, rec in enumerate(records):
                columns = set(rec) if (rec is not None and source.file_format == "jsonl") else set(names)
                reason = row_reason(source, rec, columns, day)
                if reason is None:
                    key = rec[source.key[0]]
                    reason = Reason.DUPLICATE if key in seen else None
                    seen.add(key)
                if reason:
                    out[(rel, i + first)] = reason
    return out


def days_of(n: int) -> list[date]:
    return [START + timedelta(days=i) for i in range(n)]


def judgments_frame(root: Path, n_days: int) -> pd.DataFrame:
    """Every parseable judgment line, with the export day and file it came from."""
    frames = []
    for day in days_of(n_days):
        for path in sorted((root / "judgments" / f"dt={day.isoformat()}").glob("*.jsonl")):
            records = read_file(path, SOURCES["judgments"])[2]
            df = pd.DataFrame([r for r in records if r is not None])
            frames.append(df.assign(file_day=day, file=path.name))
    return pd.concat(frames, ignore_index=True)


def events_frame(root: Path, n_days: int) -> pd.DataFrame:
    frames = [pd.read_json(p, lines=True, dtype=False, convert_dates=False)
              for d in days_of(n_days) for p in sorted((root / "events" / f"dt={d.isoformat()}").glob("*.jsonl"))]
    return pd.concat(frames, ignore_index=True)


# --- fixtures -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("clean")
    generate(root, START, CLEAN_DAYS, seed=11, judgments_per_day=3000, dirt=DirtConfig.none())
    return root


@pytest.fixture(scope="module")
def dirty(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dirty")
    cfg = DirtConfig(late=0.03, extra_column=0.5, missing_optional_column=0.5,
                     missing_required_column=0.2).with_row_rate(0.01)
    generate(root, START, DIRTY_DAYS, seed=5, judgments_per_day=3000, dirt=cfg, max_lines_per_part=MAX_LINES)
    return root


# --- determinism and layout -----------------------------------------------------------------------------


def test_same_arguments_give_identical_bytes(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for root, seed in ((a, 3), (b, 3), (c, 4)):
        generate(root, START, 3, seed=seed, judgments_per_day=1500)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b and len(files_a) >= 4 * 3 + 3 * 2 + 2
    match, mismatch, errors = filecmp.cmpfiles(a, b, [str(p) for p in files_a], shallow=False)
    assert mismatch == [] and errors == []
    assert (a / "judgments/dt=2026-01-06/part-00000.jsonl").read_bytes() != (
        c / "judgments/dt=2026-01-06/part-00000.jsonl").read_bytes()


def test_rerun_into_the_same_folder_rewrites_it(tmp_path):
    (tmp_path / "notes.txt").write_text("not the generator's")
    generate(tmp_path, START, 3, seed=1, judgments_per_day=1000, max_lines_per_part=400)
    assert len(list((tmp_path / "judgments/dt=2026-01-06").glob("*.jsonl"))) > 1
    generate(tmp_path, START, 2, seed=1, judgments_per_day=1000)
    assert [p.name for p in (tmp_path / "judgments/dt=2026-01-06").glob("*.jsonl")] == ["part-00000.jsonl"]
    assert not (tmp_path / "judgments/dt=2026-01-07").exists()
    assert sorted(p.name for p in (tmp_path / "truth/tasks").iterdir()) == ["dt=2026-01-05", "dt=2026-01-06"]
    assert (tmp_path / "notes.txt").read_text() == "not the generator's"


def test_files_follow_the_raw_contract(clean):
    for day in days_of(CLEAN_DAYS):
        dt = f"dt={day.isoformat()}"
        for name, source in SOURCES.items():
            files = sorted((clean / name / dt).iterdir())
            expected = ["roster.csv"] if name == "labelers" else [f"part-00000.{source.file_format}"]
            assert [f.name for f in files] == expected
            if source.file_format == "csv":
                header = files[0].read_text().split("\n", 1)[0]
                assert header.split(",") == source.field_names
            else:
                for line in files[0].read_text().splitlines()[:200]:
                    assert list(json.loads(line)) == source.field_names


def test_judgment_values_look_like_the_platform(clean):
    j = judgments_frame(clean, CLEAN_DAYS)
    ts = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
    assert j["assigned_at"].map(lambda v: bool(ts.match(v))).all()
    sub = j["status"] == "submitted"
    assert set(j["status"]) == set(JUDGMENT_STATUSES)
    assert 0.85 < sub.mean() < 0.91
    assert j.loc[sub, "label"].notna().all() and j.loc[~sub, "label"].isna().all()
    assert j.loc[sub, "submitted_at"].map(lambda v: bool(ts.match(v))).all()
    assert j.loc[~sub, "submitted_at"].isna().all()
    assert all(pd.isna(lab) or lab in QUEUES[q].labels for lab, q in zip(j["label"], j["queue"], strict=True))
    assert j["active_seconds"].dropna().map(lambda v: isinstance(v, float | int) and v > 0).all()
    assert j["is_gold"].map(lambda v: isinstance(v, bool)).all()
    assert (j["gold_label"].notna() == j["is_gold"]).all()
    assert j["client_version"].str.fullmatch(r"(web|desktop)-\d+\.\d+\.\d+").all()
    reviewed = j.loc[sub, "review_label"].notna().mean()
    assert 0.02 < reviewed < 0.04
    assert j["judgment_id"].is_unique


# --- dirt -----------------------------------------------------------------------------------------------


def test_manifest_points_at_exactly_the_lines_ingest_must_quarantine(dirty):
    dirt = T.load_dirt(dirty)
    for day in days_of(DIRTY_DAYS):
        expected = {(r.file, r.line_number): r.expected_reason
                    for r in dirt[(dirt["dt"] == day) & (dirt["expected_reason"] != "")].itertuples()}
        assert reference_reasons(dirty, day) == expected, f"manifest of {day} does not match the files"


def test_every_kind_of_dirt_occurs_with_its_reason(dirty):
    dirt = T.load_dirt(dirty)
    assert set(dirt["kind"]) == set(KIND_REASON)
    for kind, reason in KIND_REASON.items():
        assert (dirt.loc[dirt["kind"] == kind, "expected_reason"] == reason).all()
    rows = dirt[dirt["line_number"] > 0]
    assert not rows.duplicated(["file", "line_number"]).any(), "a row carries at most one kind"
    file_level = dirt["kind"].isin(["extra_column", "missing_optional_column"])
    assert (dirt.loc[file_level, "line_number"] == 0).all() and (dirt.loc[~file_level, "line_number"] > 0).all()


def test_dirty_lines_really_have_their_dirt(dirty):
    dirt = T.load_dirt(dirty)
    texts: dict[str, list[str]] = {}
    for r in dirt[dirt["line_number"] > 0].itertuples():
        if r.file not in texts:
            texts[r.file] = (dirty / r.file).read_text().split("\n")
        lines = texts[r.file]
        line = lines[r.line_number - 1]
        if r.kind == "duplicate":
            assert line in lines[: r.line_number - 1], "a duplicate is an exact copy of an earlier line"
            assert json.loads(line)[SOURCES[r.source].key[0]] == r.key
        elif r.kind == "null_key":
            rec = json.loads(line) if r.file.endswith(".jsonl") else None
            assert rec is None or any(rec[k] in (None, "") for k in SOURCES[r.source].id_fields)
        elif r.kind in ("wrong_type", "unknown_label", "invalid_value", "future_timestamp", "late", "unknown_queue"):
            if r.file.endswith(".jsonl"):
                assert json.loads(line)[SOURCES[r.source].key[0]] == r.key
            else:
                assert line.split(",")[0] == r.key


def test_schema_drift_is_visible_in_the_files(dirty):
    dirt = T.load_dirt(dirty)
    drift = dirt[dirt["kind"].isin(["extra_column", "missing_optional_column", "missing_column"])]
    for r in drift.drop_duplicates(["file", "kind"]).itertuples():
        source = SOURCES[r.source]
        columns, _, records = read_file(dirty / r.file, source)
        if r.kind == "extra_column":
            assert set(columns) - set(source.field_names)
        elif r.kind == "missing_optional_column":
            absent = set(source.field_names) - set(columns)
            assert absent and all(not source.field(c).required for c in absent)
        else:
            absent = set(source.field_names) - set(columns)
            assert any(source.field(c).required for c in absent)
    missing_column_files = set(dirt.loc[dirt["kind"] == "missing_column", "file"])
    for file in missing_column_files:
        kinds = set(dirt.loc[(dirt["file"] == file) & (dirt["line_number"] > 0), "kind"])
        assert kinds == {"missing_column"}, "a file without a required column carries no other dirt"
        n_lines = len(read_file(dirty / file, SOURCES[file.split("/")[0]])[1])
        assert (dirt["file"] == file).sum() == n_lines


def test_late_judgments_land_in_a_later_file_with_their_own_timestamps(dirty):
    dirt = T.load_dirt(dirty)
    late = dirt[dirt["kind"] == "late"]
    assert len(late) > 0
    j = judgments_frame(dirty, DIRTY_DAYS)
    ok = j[j["judgment_id"].isin(set(late["key"]))]
    assert len(ok) >= len(late)
    event_day = pd.to_datetime(ok["submitted_at"].fillna(ok["assigned_at"]), utc=True).dt.date
    lag = (ok["file_day"] - event_day).map(lambda d: d.days)
    assert lag.isin([1, 2]).all()
    # Every other row without dirt sits in the file of its own event day.
    clean_rows = j[~j["judgment_id"].isin(set(dirt["key"]))]
    event_day = pd.to_datetime(clean_rows["submitted_at"].fillna(clean_rows["assigned_at"]), utc=True).dt.date
    assert (event_day == clean_rows["file_day"]).all()


def test_parts_respect_the_line_limit(dirty):
    counts = [len(p.read_text().splitlines()) for p in dirty.glob("*/dt=*/part-*.jsonl")]
    assert max(counts) <= MAX_LINES
    assert len(list((dirty / "events" / "dt=2026-01-07").glob("part-*.jsonl"))) > 1


def test_clean_config_gives_zero_dirt(clean):
    assert T.load_dirt(clean).empty
    assert T.load_summary(clean)["dirt"] == {}
    for day in days_of(CLEAN_DAYS)[:3]:
        assert reference_reasons(clean, day) == {}
    j = judgments_frame(clean, CLEAN_DAYS)
    event_day = pd.to_datetime(j["submitted_at"].fillna(j["assigned_at"]), utc=True).dt.date
    assert (event_day == j["file_day"]).all(), "no late rows in clean output"


# --- the world ------------------------------------------------------------------------------------------


def test_gold_tasks_are_about_five_percent_and_carry_the_truth(clean):
    tasks = T.load_tasks(clean)
    assert 0.04 < tasks["is_gold"].mean() < 0.06
    j = judgments_frame(clean, CLEAN_DAYS).merge(tasks[["task_id", "is_gold", "true_label"]], on="task_id",
                                                  suffixes=("", "_truth"))
    assert (j["is_gold"] == j["is_gold_truth"]).all()
    gold = j[j["is_gold"]]
    assert (gold["gold_label"] == gold["true_label"]).all()


def test_redundancy_is_one_to_five_distinct_labelers(clean):
    j = judgments_frame(clean, CLEAN_DAYS)
    tasks = T.load_tasks(clean).set_index("task_id")
    assert not j.duplicated(["task_id", "labeler_id"]).any(), "a labeler sees a task at most once"
    sub = j[j["status"] == "submitted"].groupby("task_id")["labeler_id"].nunique()
    assert sub.between(1, 5).all() and set(sub) == {1, 2, 3, 4, 5}
    assert (sub <= tasks.loc[sub.index, "redundancy"]).all()
    # Truth and files agree: a task closed before the end has all its planned labels written.
    closed = tasks[~tasks["open_at_end"]]
    assert (sub.reindex(closed.index, fill_value=0) == closed["planned_labels"]).all()


def test_backlog_is_open_at_the_end(clean):
    tasks = T.load_tasks(clean)
    last = tasks[tasks["created_at"].dt.date == START + timedelta(days=CLEAN_DAYS - 1)]
    assert last["open_at_end"].mean() > 0.8
    assert tasks["open_at_end"].sum() == T.load_summary(clean)["open_tasks_at_end"]
    first_week = tasks[tasks["created_at"].dt.date < START + timedelta(days=7)]
    assert first_week["open_at_end"].mean() < 0.01
    j = judgments_frame(clean, CLEAN_DAYS)
    written = j[j["status"] == "submitted"].groupby("task_id").size()
    open_tasks = tasks[tasks["open_at_end"]].set_index("task_id")
    assert (written.reindex(open_tasks.index, fill_value=0) < open_tasks["planned_labels"]).all()


def test_weekly_seasonality_is_visible(clean):
    tasks = T.load_tasks(clean)
    per_day = tasks.groupby(tasks["created_at"].dt.date).size()
    weekend = per_day[[d.weekday() >= 5 for d in per_day.index]]
    weekday = per_day[[d.weekday() < 5 for d in per_day.index]]
    assert weekend.mean() < 0.88 * weekday.mean()
    lines = judgments_frame(clean, CLEAN_DAYS).groupby("file_day").size()
    steady = lines[lines.index >= START + timedelta(days=2)]
    assert steady[[d.weekday() >= 5 for d in steady.index]].max() < steady[[d.weekday() < 5 for d in steady.index]].min()
    assert 0.6 * 3000 < steady.mean() < 1.3 * 3000, "judgments_per_day is the approximate daily volume"


def test_labels_follow_the_latent_confusion(clean):
    labelers = T.load_labelers(clean)
    tasks = T.load_tasks(clean)[["task_id", "true_label", "difficulty", "queue"]]
    j = judgments_frame(clean, CLEAN_DAYS)
    sub = j[j["status"] == "submitted"].merge(tasks, on=["task_id", "queue"])
    sub = sub.merge(labelers[["labeler_id", "archetype"]], on="labeler_id")
    sub["day"] = pd.to_datetime(sub["submitted_at"], utc=True).dt.date
    sub["correct"] = sub["label"] == sub["true_label"]

    experts = sub[sub["archetype"] == "expert"].copy()
    cache: dict = {}

    def p_correct(r) -> float:
        key = (r.labeler_id, r.queue, r.day)
        if key not in cache:
            cache[key] = T.latent_confusion(labelers, *key)
        y = QUEUES[r.queue].labels.index(r.true_label)
        k = len(QUEUES[r.queue].labels)
        return (1 - r.difficulty) * cache[key][y, y] + r.difficulty / k

    experts["p"] = [p_correct(r) for r in experts.itertuples()]
    busiest = experts["labeler_id"].value_counts().index[0]
    one = experts[experts["labeler_id"] == busiest]
    assert len(one) >= 300
    for sample in (one, experts):
        z = (sample["correct"].sum() - sample["p"].sum()) / np.sqrt((sample["p"] * (1 - sample["p"])).sum())
        assert abs(z) < 4, f"observed accuracy strays from the latent one (z={z:.1f})"
    by_archetype = sub.groupby("archetype")["correct"].mean()
    assert by_archetype["expert"] > by_archetype["normal"] > by_archetype["spammer"] + 0.15
    assert by_archetype["expert"] > 0.8


def test_spammers_are_fast_and_experts_are_not(clean):
    labelers = T.load_labelers(clean)
    j = judgments_frame(clean, CLEAN_DAYS)
    j = j[j["status"] == "submitted"].merge(labelers[["labeler_id", "archetype"]], on="labeler_id")
    median = j.groupby(["archetype", "queue"])["active_seconds"].median().unstack()
    assert (median.loc["spammer"] < 0.7 * median.loc["normal"]).all()


def test_latent_accuracy_drifts_as_documented(clean):
    labelers = T.load_labelers(clean)
    movers = labelers[(labelers["drift_per_30d"].abs() > 0.01) & (labelers["archetype"] == "normal")]
    lid, drift = movers.iloc[0]["labeler_id"], movers.iloc[0]["drift_per_30d"]
    conf = np.array(movers.iloc[0]["confusion"]["spam"])
    assert np.allclose(conf.sum(axis=1), 1.0, atol=1e-5)
    before = T.latent_accuracy(labelers, lid, "spam", START)
    after = T.latent_accuracy(labelers, lid, "spam", START + timedelta(days=30))
    assert before == pytest.approx(movers.iloc[0]["accuracy"]["spam"], abs=1e-6)
    assert after - before == pytest.approx(drift, abs=1e-6)
    table = T.latent_accuracy_table(labelers, START)
    assert len(table) == len(labelers) * len(QUEUES)
    means = table.groupby("archetype")["accuracy"].mean()
    assert means["expert"] > 0.88 and means["spammer"] < 0.55


def test_roster_is_a_daily_snapshot_that_evolves(clean):
    frames = [pd.read_csv(clean / f"labelers/dt={d.isoformat()}/roster.csv", keep_default_na=False).assign(day=d)
              for d in days_of(CLEAN_DAYS)]
    roster = pd.concat(frames, ignore_index=True)
    assert set(roster["status"]) <= set(LABELER_STATUSES) and "active" in set(roster["status"])
    assert (pd.to_datetime(roster["hired_at"]).dt.date <= roster["day"]).all()
    assert roster.groupby("day")["labeler_id"].apply(lambda s: s.is_unique).all()
    changes = roster.pivot(index="labeler_id", columns="day", values="status").nunique(axis=1)
    assert (changes > 1).any(), "some labelers change status over two weeks"
    j = judgments_frame(clean, CLEAN_DAYS)
    j["day"] = pd.to_datetime(j["assigned_at"], utc=True).dt.date
    status = roster.set_index(["labeler_id", "day"])["status"]
    worked = status.reindex(pd.MultiIndex.from_frame(j[["labeler_id", "day"]]))
    assert (worked == "active").all(), "only active labelers get work"
    certified = roster.set_index(["labeler_id", "day"])["certified_queues"].reindex(
        pd.MultiIndex.from_frame(j[["labeler_id", "day"]]))
    assert all(q in c.split("|") for q, c in zip(j["queue"], certified, strict=True))


def test_events_log_every_assignment_and_session(clean):
    j = judgments_frame(clean, CLEAN_DAYS)
    e = events_frame(clean, CLEAN_DAYS)
    assert e["event_id"].is_unique and set(e["event_type"]) == set(EVENT_TYPES)
    offered = e[e["event_type"] == "assignment_offered"]
    pairs = set(zip(offered["task_id"], offered["labeler_id"], offered["ts"], strict=True))
    assert all(p in pairs for p in zip(j["task_id"], j["labeler_id"], j["assigned_at"], strict=True))
    expired_events = e[e["event_type"] == "assignment_expired"]
    expired = j[j["status"] == "expired"]
    assert set(zip(expired["task_id"], expired["labeler_id"], strict=True)) <= set(
        zip(expired_events["task_id"], expired_events["labeler_id"], strict=True))
    sessions = e[e["event_type"] == "session_start"]
    assert sessions["task_id"].isna().all() and sessions["session_id"].is_unique
    assert set(offered["session_id"]) <= set(sessions["session_id"])


def test_cli_generate_writes_and_summarises(tmp_path, capsys):
    out = tmp_path / "raw"
    code = generate_command.main(["--start", "2026-01-05", "--days", "2", "--out", str(out),
                                  "--judgments-per-day", "800", "--labelers", "60", "--no-dirt"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "judgments" in printed and "truth:" in printed and "dirt: none" in printed
    assert T.load_summary(out)["labelers"] >= 60
    assert T.load_dirt(out).empty
    assert generate_command.main(["--start", "2026-01-05", "--days", "0", "--out", str(out)]) == 2
