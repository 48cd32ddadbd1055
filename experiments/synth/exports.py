"""Numeric frames -> the platform's export files (JSONL / CSV parts), with their dirt.

Text is made per part file, so a day of a million judgments never exists as Python
strings all at once. Columns come out exactly in the order of ``schemas.raw``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.synth import params as P
from experiments.synth.clock import NO_TIME, Calendar, iso_ms
from experiments.synth.dirt import (
    KIND_REASON,
    SOURCE_INDEX,
    SPECS,
    DirtConfig,
    FutureFn,
    apply_value_dirt,
    change_field_count,
    insert_duplicates,
    plan_file_drift,
    plan_row_kinds,
    truncate_json,
    uniform_ms,
)
from experiments.synth.events import EVENT_TYPES
from experiments.synth.labelers import Workforce
from schemas.raw import EVENTS, FUTURE_TOLERANCE_HOURS, JUDGMENTS, TASKS
from schemas.reference import JUDGMENT_STATUSES, LANGUAGES, QUEUES

QUEUE_TEXT = np.array(P.QUEUE_NAMES, dtype=object)
LABEL_TEXT = np.array([[*QUEUES[q].labels, *([None] * (P.K_MAX - len(QUEUES[q].labels)))] for q in P.QUEUE_NAMES],
                      dtype=object)
LABEL_SET_TEXT = np.array([QUEUES[q].label_set for q in P.QUEUE_NAMES], dtype=object)
MODALITY_TEXT = np.array(P.QUEUE_MODALITY, dtype=object)

ManifestRow = tuple[str, str, int, str, str, str]
SLICE_ROWS = 50_000  # rows turned into text at a time


def _ids(prefix: str, compact: np.ndarray, seq: np.ndarray, width: int) -> np.ndarray:
    if len(compact) == 0:
        return np.array([], dtype=object)
    head = np.strings.add(np.strings.add(prefix, compact), "-")
    return np.strings.add(head, np.strings.zfill(np.asarray(seq).astype(np.str_), width)).astype(object)


def task_ids(cal: Calendar, task_day: np.ndarray, task_seq: np.ndarray) -> np.ndarray:
    return _ids("t-", cal.compact(task_day), task_seq, 7)


def _labels(queue: np.ndarray, label: np.ndarray) -> np.ndarray:
    out = LABEL_TEXT[queue.astype(np.int64), np.maximum(label, 0).astype(np.int64)]
    out[label < 0] = None
    return out


def _nullable_float(x: np.ndarray) -> np.ndarray:
    out = np.asarray(x, dtype=float).astype(object)
    out[np.isnan(np.asarray(x, dtype=float))] = None
    return out


def _empty(names: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in names})


def judgments_text(j: pd.DataFrame, w: Workforce, cal: Calendar) -> pd.DataFrame:
    """Export values of judgments (object columns, schema order) plus private ``_*`` helpers."""
    if j.empty:
        return _empty(JUDGMENTS.field_names)
    q = j["queue"].to_numpy()
    compact = cal.compact(j["task_day"].to_numpy())
    lab = j["labeler"].to_numpy()
    is_gold = j["is_gold"].to_numpy()
    true_label = j["true_label"].to_numpy()
    out = pd.DataFrame({
        "judgment_id": _ids("j-", compact, j["jseq"].to_numpy(), 8),
        "task_id": _ids("t-", compact, j["task_seq"].to_numpy(), 7),
        "labeler_id": w.ids[lab].astype(object),
        "queue": QUEUE_TEXT[q],
        "status": np.array(JUDGMENT_STATUSES, dtype=object)[j["status"].to_numpy()],
        "label": _labels(q, j["label"].to_numpy()),
        "assigned_at": iso_ms(j["assigned_ms"].to_numpy()),
        "started_at": iso_ms(j["started_ms"].to_numpy()),
        "submitted_at": iso_ms(j["submitted_ms"].to_numpy()),
        "active_seconds": _nullable_float(j["active_s"].to_numpy()),
        "is_gold": is_gold.astype(object),
        "gold_label": _labels(q, np.where(is_gold, true_label, -1)),
        "review_label": _labels(q, j["review"].to_numpy()),
        "client_version": w.client_version(lab, j["assigned_day"].to_numpy()).astype(object),
    }, dtype=object)
    assert list(out.columns) == JUDGMENTS.field_names
    for c in ("assigned_ms", "started_ms", "submitted_ms"):
        out["_" + c] = j[c].to_numpy()
    return out


def events_text(e: pd.DataFrame, w: Workforce, cal: Calendar) -> pd.DataFrame:
    if e.empty:
        return _empty(EVENTS.field_names)
    compact = cal.compact(e["ev_day"].to_numpy())
    has_task = e["task_day"].to_numpy() >= 0
    labeler_id = w.ids[e["labeler"].to_numpy()]
    task_id = np.full(len(e), None, dtype=object)
    if has_task.any():
        task_id[has_task] = task_ids(cal, e["task_day"].to_numpy()[has_task], e["task_seq"].to_numpy()[has_task])
    queue = QUEUE_TEXT[np.maximum(e["queue"].to_numpy(), 0)]
    queue[~has_task] = None
    out = pd.DataFrame({
        "event_id": _ids("ev-", compact, e["ev_seq"].to_numpy(), 8),
        "event_type": np.array(EVENT_TYPES, dtype=object)[e["event_type"].to_numpy()],
        "ts": iso_ms(e["ts_ms"].to_numpy()),
        "labeler_id": labeler_id.astype(object),
        "task_id": task_id,
        "session_id": np.strings.add(np.strings.add(np.strings.add("s-", labeler_id), "-"), compact).astype(object),
        "queue": queue,
    }, dtype=object)
    assert list(out.columns) == EVENTS.field_names
    out["_ts_ms"] = e["ts_ms"].to_numpy()
    return out


def tasks_text(t: pd.DataFrame, cal: Calendar) -> pd.DataFrame:
    if t.empty:
        return _empty(TASKS.field_names)
    q = t["queue"].to_numpy()
    out = pd.DataFrame({
        "task_id": task_ids(cal, t["task_day"].to_numpy(), t["task_seq"].to_numpy()),
        "queue": QUEUE_TEXT[q],
        "modality": MODALITY_TEXT[q],
        "language": np.array(LANGUAGES, dtype=object)[t["language"].to_numpy()],
        "created_at": iso_ms(t["created_ms"].to_numpy()),
        "deadline_at": iso_ms(t["deadline_ms"].to_numpy()),
        "priority": t["priority"].to_numpy().astype(np.str_).astype(object),
        "label_set": LABEL_SET_TEXT[q],
        "reward": np.array([repr(float(x)) for x in t["reward"].to_numpy()], dtype=object),
    }, dtype=object)
    assert list(out.columns) == TASKS.field_names
    out["_created_ms"] = t["created_ms"].to_numpy()
    out["_deadline_ms"] = t["deadline_ms"].to_numpy()
    return out


def truth_tasks_frame(t: pd.DataFrame, cal: Calendar) -> pd.DataFrame:
    """truth/tasks: the latent side of each task, and whether it is still open at the end."""
    q = t["queue"].to_numpy()
    completed = t["completed_ms"].to_numpy()
    return pd.DataFrame({
        "task_id": task_ids(cal, t["task_day"].to_numpy(), t["task_seq"].to_numpy()),
        "queue": QUEUE_TEXT[q],
        "true_label": LABEL_TEXT[q, t["true_label"].to_numpy()],
        "difficulty": t["difficulty"].to_numpy(),
        "is_gold": t["is_gold"].to_numpy(),
        "language": np.array(LANGUAGES, dtype=object)[t["language"].to_numpy()],
        "priority": t["priority"].to_numpy(),
        "redundancy": t["redundancy"].to_numpy(),
        "planned_labels": t["planned_labels"].to_numpy(),
        "created_at": iso_ms(t["created_ms"].to_numpy()),
        "completed_at": iso_ms(np.where(completed == NO_TIME, NO_TIME, completed)),
        "open_at_end": t["open_at_end"].to_numpy(),
    })


# --- clock errors: every timestamp of the row moves together, past the cutoff -----------------


def future_pusher(source: str, cal: Calendar, day: int) -> FutureFn:
    """Rows of ``source`` in the export of ``day`` -> timestamps 3-48 h after its cutoff."""
    cutoff = cal.day_start_ms(day + 1) + FUTURE_TOLERANCE_HOURS * P.HOUR_MS

    def shift(text: pd.DataFrame, rows: np.ndarray, rng: np.random.Generator, anchor: str,
              cols: tuple[str, ...]) -> None:
        base = text["_" + anchor].to_numpy()[rows].astype(np.int64)
        new_base = cutoff + uniform_ms(rng, len(rows), 3, 48)
        for c in cols:
            old = text["_" + c].to_numpy()[rows].astype(np.int64)
            moved = np.where(old == NO_TIME, NO_TIME, new_base + (old - base))
            name = c.removesuffix("_ms") + "_at" if c != "ts_ms" else "ts"
            text.loc[text.index[rows], name] = iso_ms(moved)

    def push(text: pd.DataFrame, rows: np.ndarray, rng: np.random.Generator) -> None:
        if source == "judgments":
            shift(text, rows, rng, "assigned_ms", ("assigned_ms", "started_ms", "submitted_ms"))
        elif source == "events":
            shift(text, rows, rng, "ts_ms", ("ts_ms",))
        elif source == "tasks":
            shift(text, rows, rng, "created_ms", ("created_ms", "deadline_ms"))
        else:  # labelers: hired in the future
            later = rng.integers(2, 91, len(rows))
            text.loc[text.index[rows], "hired_at"] = [(cal.date(day) + timedelta(days=int(x))).isoformat()
                                                      for x in later]

    return push


# --- writing one source for one day ------------------------------------------------------------


@dataclass
class SourceDay:
    """What was written for one source and day."""

    files: list[str] = field(default_factory=list)
    lines: int = 0
    manifest: list[ManifestRow] = field(default_factory=list)


def part_names(source: str, n_parts: int) -> list[str]:
    if source == "labelers":
        return ["roster.csv"]
    ext = "jsonl" if SPECS[source].source.file_format == "jsonl" else "csv"
    return [f"part-{i:05d}.{ext}" for i in range(n_parts)]


def write_source_day(out_dir: Path, source: str, cal: Calendar, day: int, frame: pd.DataFrame,
                     to_text: Callable[[pd.DataFrame], pd.DataFrame], late: np.ndarray,
                     cfg: DirtConfig, seed: int, max_lines: int) -> SourceDay:
    """Split ``frame`` (already in export order) into part files, dirty them, write them."""
    spec = SPECS[source]
    n = len(frame)
    n_parts = 1 if source == "labelers" else max(1, math.ceil(n * (1 + 2 * cfg.duplicate) / max_lines))
    names = part_names(source, n_parts)
    folder = out_dir / source / f"dt={cal.date(day).isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    src_i = SOURCE_INDEX[source]
    drift = plan_file_drift(np.random.default_rng([seed, 4, src_i, day]), cfg, n_parts)
    push_future = future_pusher(source, cal, day)
    result = SourceDay()
    bounds = np.linspace(0, n, n_parts + 1).round().astype(np.int64)
    for p, name in enumerate(names):
        rng = np.random.default_rng([seed, 4, src_i, day, p + 1])
        rel = f"{source}/dt={cal.date(day).isoformat()}/{name}"
        public = list(spec.source.field_names)
        if p == drift.missing_required:
            public.remove(spec.required_drop)
        if p == drift.missing_optional:
            public.remove(spec.optional_drop)
            result.manifest.append((source, rel, 0, "missing_optional_column", "", ""))
        if p == drift.extra_column:
            public.append(spec.extra_column[0])
            result.manifest.append((source, rel, 0, "extra_column", "", ""))
        header, lines, kinds, keys = None, [], [], []
        # Text is made a slice at a time: the part's lines are all that is held at once.
        for lo in range(bounds[p], max(bounds[p + 1], bounds[p] + 1), SLICE_ROWS):
            hi = min(lo + SLICE_ROWS, bounds[p + 1])
            text = to_text(frame.iloc[lo:hi])
            keys.append(text[spec.key].to_numpy(copy=True))
            if p == drift.missing_required:
                kinds.append(np.full(len(text), "missing_column", dtype=object))
            else:
                slice_kinds = plan_row_kinds(rng, cfg, spec, text, late[lo:hi])
                absent = {spec.optional_drop} if p == drift.missing_optional else set()
                apply_value_dirt(rng, spec, text, slice_kinds, absent, push_future)
                slice_kinds[(slice_kinds == "") & late[lo:hi]] = "late"
                kinds.append(slice_kinds)
            if p == drift.extra_column:
                name_x, values = spec.extra_column
                text[name_x] = np.array(values, dtype=object)[rng.integers(0, len(values), len(text))]
            payload = [text[public]]
            del text  # the export text is the bulk of the memory: let it go as soon as it is encoded
            header, slice_lines = _serialize(payload, spec.source.file_format)
            lines += slice_lines
        kinds, keys = np.concatenate(kinds), np.concatenate(keys)
        for i in np.flatnonzero((kinds == "truncated_json") | (kinds == "wrong_field_count")):
            lines[i] = truncate_json(rng, lines[i]) if kinds[i] == "truncated_json" else change_field_count(rng, lines[i])
        origin = np.arange(len(lines))
        if spec.duplicates and p != drift.missing_required:
            lines, kinds, origin = insert_duplicates(rng, lines, kinds, kinds == "late", cfg.duplicate,
                                                     max_lines - len(lines))
        first_line = 1 if header is None else 2
        for i in np.flatnonzero(kinds != ""):
            kind = str(kinds[i])
            key = "" if kind == "null_key" else _key_text(keys[origin[i]])
            result.manifest.append((source, rel, int(i) + first_line, kind, KIND_REASON[kind], key))
        with open(folder / name, "w", encoding="utf-8", newline="\n") as fh:
            if header is not None:
                fh.write(header + "\n")
            if lines:
                fh.write("\n".join(lines) + "\n")
        result.files.append(rel)
        result.lines += len(lines)
    return result


def _key_text(v: object) -> str:
    return "" if v is None else str(v)


def _serialize(holder: list[pd.DataFrame], file_format: str) -> tuple[str | None, list[str]]:
    """Encode the frame in ``holder`` (emptied, so the frame is freed once encoded) -> (header, lines)."""
    text = holder.pop()
    if file_format == "jsonl":
        if not len(text):
            return None, []
        # One JSON array, cut between objects: pandas' own lines=True conversion is slower than
        # the encoding. Safe because no exported value contains "},{".
        body = text.to_json(orient="records")
        del text
        objects = body[2:-2].split("},{")
        del body
        return None, ["{" + obj + "}" for obj in objects]
    body = text.to_csv(index=False, lineterminator="\n")
    del text
    header, *lines = body.rstrip("\n").split("\n")
    return header, lines
