"""``generate``: a seeded, deterministic labeling platform, day by day, into raw exports + truth.

Days are generated in order with a carry-over buffer: a task created today brings
all of its future judgments now, and each waits for the export of its own day
(or a later one, when late). Only the buffer and one day's output are ever in
memory, and every day draws from its own seeded streams, so the same arguments give
byte-identical files.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.synth import params as P
from experiments.synth.arrivals import day_arrivals
from experiments.synth.clock import NO_TIME, Calendar
from experiments.synth.dirt import MANIFEST_COLUMNS, DirtConfig
from experiments.synth.events import events_for_day
from experiments.synth.exports import (
    SourceDay,
    events_text,
    judgments_text,
    tasks_text,
    truth_tasks_frame,
    write_source_day,
)
from experiments.synth.labelers import build_workforce, roster_frame, roster_text, truth_frame

SOURCES = ("judgments", "tasks", "labelers", "events")
GENERATOR_VERSION = 1


@dataclass
class GenerationSummary:
    """What a run wrote: counts per source and dirt kind (``seconds`` is the only non-deterministic field)."""

    out_dir: Path
    start: date
    days: int
    seed: int
    judgments_per_day: int
    labelers: int
    tasks: int
    open_tasks_at_end: int
    lines: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    dirt: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def truth_dir(self) -> Path:
        return self.out_dir / "truth"

    @property
    def seconds_per_day(self) -> float:
        return self.seconds / max(self.days, 1)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(out_dir=str(self.out_dir), start=self.start.isoformat())
        return d


def generate(out_dir: str | Path, start: date, days: int, seed: int = 7, judgments_per_day: int = 100_000,
             dirt: DirtConfig | None = None, *, n_labelers: int | None = None, max_lines_per_part: int = 250_000,
             gold_rate: float = P.GOLD_RATE, review_rate: float = P.REVIEW_RATE) -> GenerationSummary:
    """Write ``days`` days of platform exports starting at ``start`` under ``out_dir``, plus truth/.

    The generator owns ``out_dir/{judgments,tasks,labelers,events,truth}``: a rerun replaces them
    (nothing else under ``out_dir`` is touched).
    """
    t0 = time.perf_counter()
    if days < 1:
        raise ValueError("days must be >= 1")
    out = Path(out_dir)
    cfg = DirtConfig() if dirt is None else dirt
    cal = Calendar(start, days)
    n_initial = n_labelers if n_labelers is not None else max(50, judgments_per_day // 40)
    workforce = build_workforce(np.random.default_rng([seed, 0]), start, days, n_initial)
    roster = roster_text(workforce)
    _reset(out)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    truth_frame(workforce).to_csv(out / "truth" / "labelers.csv", index=False, lineterminator="\n")

    summary = GenerationSummary(out, start, days, seed, judgments_per_day, len(workforce), 0, 0,
                                lines=dict.fromkeys(SOURCES, 0), files=dict.fromkeys(SOURCES, 0))
    pending_j: pd.DataFrame | None = None
    pending_e: pd.DataFrame | None = None
    for day in range(days):
        arrivals = day_arrivals(workforce, cal, day, seed, judgments_per_day, cfg.late, gold_rate, review_rate)
        tasks = arrivals.tasks
        summary.tasks += len(tasks)
        summary.open_tasks_at_end += int(tasks["open_at_end"].sum())
        pending_j = _append(pending_j, arrivals.judgments)

        assigned_today = pending_j[pending_j["assigned_day"] == day]
        new_events = events_for_day(np.random.default_rng([seed, 3, day]), cal, day, assigned_today)
        pending_e = _append(pending_e, new_events)
        events_today = pending_e[pending_e["file_day"] == day].sort_values(
            ["ts_ms", "ev_day", "ev_seq"], kind="stable")
        pending_e = pending_e[(pending_e["file_day"] > day) & (pending_e["file_day"] < days)]

        due = pending_j["file_day"] == day
        judgments_today = _export_order(pending_j[due])
        keep = (pending_j["assigned_day"] > day) | ((pending_j["file_day"] > day) & (pending_j["file_day"] < days))
        pending_j = pending_j[keep].reset_index(drop=True)

        roster_today = roster_frame(workforce, roster, day)
        written: dict[str, SourceDay] = {
            "judgments": write_source_day(
                out, "judgments", cal, day, judgments_today, lambda f: judgments_text(f, workforce, cal),
                (judgments_today["file_day"] > judgments_today["event_day"]).to_numpy(), cfg, seed,
                max_lines_per_part),
            "tasks": write_source_day(
                out, "tasks", cal, day, tasks, lambda f: tasks_text(f, cal), np.zeros(len(tasks), bool), cfg,
                seed, max_lines_per_part),
            "labelers": write_source_day(
                out, "labelers", cal, day, roster_today, lambda f: f.reset_index(drop=True),
                np.zeros(len(roster_today), bool), cfg, seed, max_lines_per_part),
            "events": write_source_day(
                out, "events", cal, day, events_today, lambda f: events_text(f, workforce, cal),
                np.zeros(len(events_today), bool), cfg, seed, max_lines_per_part),
        }
        _write_truth_tasks(out, cal, day, tasks)
        manifest = [row for s in SOURCES for row in written[s].manifest]
        _write_manifest(out, cal, day, manifest)
        for s in SOURCES:
            summary.lines[s] += written[s].lines
            summary.files[s] += len(written[s].files)
        for row in manifest:
            summary.dirt[row[3]] = summary.dirt.get(row[3], 0) + 1

    summary.dirt = dict(sorted(summary.dirt.items()))
    _write_summary(out, summary, cfg)
    summary.seconds = time.perf_counter() - t0
    return summary


def _append(buffer: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    return new if buffer is None or buffer.empty else pd.concat([buffer, new], ignore_index=True)


def _export_order(j: pd.DataFrame) -> pd.DataFrame:
    """On-time rows by event time, then the late arrivals (as a platform appends a re-sent batch)."""
    event_ms = np.where(j["submitted_ms"].to_numpy() != NO_TIME, j["submitted_ms"].to_numpy(), j["assigned_ms"].to_numpy())
    late = (j["file_day"] > j["event_day"]).to_numpy()
    order = np.lexsort((j["jseq"].to_numpy(), j["task_day"].to_numpy(), event_ms, late))
    return j.iloc[order].reset_index(drop=True)


def _reset(out: Path) -> None:
    """Remove what a previous run wrote (only the generator's own folders), so no stale day or
    part file survives: a raw root holds exactly one generated world."""
    for name in (*SOURCES, "truth"):
        if (out / name).is_dir():
            shutil.rmtree(out / name)


def _write_truth_tasks(out: Path, cal: Calendar, day: int, tasks: pd.DataFrame) -> None:
    folder = out / "truth" / "tasks" / f"dt={cal.date(day).isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    truth_tasks_frame(tasks, cal).to_csv(folder / "tasks.csv", index=False, lineterminator="\n")


def _write_manifest(out: Path, cal: Calendar, day: int, rows: list) -> None:
    folder = out / "truth" / "dirt" / f"dt={cal.date(day).isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows, columns=MANIFEST_COLUMNS).sort_values(["source", "file", "line_number"], kind="stable")
    frame.to_csv(folder / "manifest.csv", index=False, lineterminator="\n")


def _write_summary(out: Path, summary: GenerationSummary, cfg: DirtConfig) -> None:
    doc = {
        "generator": "experiments.synth",
        "version": GENERATOR_VERSION,
        "start": summary.start.isoformat(),
        "days": summary.days,
        "end": (summary.start + timedelta(days=summary.days - 1)).isoformat(),
        "seed": summary.seed,
        "judgments_per_day": summary.judgments_per_day,
        "labelers": summary.labelers,
        "tasks": summary.tasks,
        "open_tasks_at_end": summary.open_tasks_at_end,
        "lines": summary.lines,
        "files": summary.files,
        "dirt": summary.dirt,
        "dirt_config": asdict(cfg),
        "drift_origin": summary.start.isoformat(),
        "class_prior": P.CLASS_PRIOR,
    }
    (out / "truth" / "summary.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
