"""Read the hidden truth of a generated raw root back, for tests and evaluation (never the pipeline).

    labelers = load_labelers(raw)              # archetype, speed, drift, accuracy/confusion per queue
    latent_accuracy(labelers, "lab-000042", "spam", date(2026, 1, 20))
    tasks = load_tasks(raw)                    # true label, difficulty, gold, redundancy, open at end
    dirt = load_dirt(raw)                      # every injected defect and the reason ingest must give
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.synth.dirt import MANIFEST_COLUMNS
from experiments.synth.params import CLASS_PRIOR
from experiments.synth.skill import confusion_at
from schemas.reference import QUEUES


def load_summary(out: str | Path) -> dict:
    return json.loads((Path(out) / "truth" / "summary.json").read_text())


def load_labelers(out: str | Path) -> pd.DataFrame:
    """truth/labelers.csv with ``accuracy`` ({queue: acc at drift_origin}) and ``confusion``
    ({queue: KxK rows = true label, cols = given label}) parsed from JSON."""
    df = pd.read_csv(Path(out) / "truth" / "labelers.csv", keep_default_na=False,
                     dtype={"spammer_mode": str, "labeler_id": str})
    df["accuracy"] = df["accuracy"].map(json.loads)
    df["confusion"] = df["confusion"].map(json.loads)
    df["drift_origin"] = pd.to_datetime(df["drift_origin"]).dt.date
    df["hired_at"] = pd.to_datetime(df["hired_at"]).dt.date
    return df


def load_tasks(out: str | Path, start: date | None = None, end: date | None = None) -> pd.DataFrame:
    """Truth of every task created between ``start`` and ``end`` (inclusive; default all days)."""
    frames = []
    for folder in sorted((Path(out) / "truth" / "tasks").glob("dt=*")):
        day = date.fromisoformat(folder.name[3:])
        if (start and day < start) or (end and day > end):
            continue
        frames.append(pd.read_csv(folder / "tasks.csv", keep_default_na=False, na_values={"completed_at": [""]},
                                  dtype={"task_id": str, "true_label": str, "queue": str, "language": str}))
    if not frames:
        raise FileNotFoundError(f"no truth/tasks under {out}")
    df = pd.concat(frames, ignore_index=True)
    for c in ("created_at", "completed_at"):
        df[c] = pd.to_datetime(df[c], utc=True)
    return df


def load_dirt(out: str | Path) -> pd.DataFrame:
    """Every manifest row, with ``dt`` (the export day of the file); ``expected_reason`` '' = must stay."""
    frames = []
    for folder in sorted((Path(out) / "truth" / "dirt").glob("dt=*")):
        frame = pd.read_csv(folder / "manifest.csv", keep_default_na=False, dtype=str)
        frame.insert(0, "dt", date.fromisoformat(folder.name[3:]))
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["dt", *MANIFEST_COLUMNS])
    df = pd.concat(frames, ignore_index=True)
    df["line_number"] = df["line_number"].astype(np.int64)
    return df


def _row(labelers: pd.DataFrame, labeler_id: str) -> pd.Series:
    match = labelers.loc[labelers["labeler_id"] == labeler_id]
    if match.empty:
        raise KeyError(f"unknown labeler {labeler_id!r}")
    return match.iloc[0]


def _confusion(row: pd.Series, queue: str, on: date) -> np.ndarray:
    days = (on - row["drift_origin"]).days
    return confusion_at(np.array(row["confusion"][queue], dtype=float), float(row["drift_per_30d"]), days)


def latent_confusion(labelers: pd.DataFrame, labeler_id: str, queue: str, on: date) -> np.ndarray:
    """The (K, K) confusion matrix (rows = truth) labels of ``queue`` were drawn from on day ``on``."""
    return _confusion(_row(labelers, labeler_id), queue, on)


def latent_accuracy(labelers: pd.DataFrame, labeler_id: str, queue: str, on: date) -> float:
    """P(label = truth) on ``queue`` at ``on`` for a task of zero difficulty, under the queue's class prior.

    A task of difficulty d and truth y is answered right with prob (1 - d) * C[y, y] + d / K.
    """
    return float(np.asarray(CLASS_PRIOR[queue]) @ np.diag(latent_confusion(labelers, labeler_id, queue, on)))


def latent_accuracy_table(labelers: pd.DataFrame, on: date) -> pd.DataFrame:
    """(labeler_id, queue, archetype, accuracy) for every labeler and queue at ``on``."""
    rows = [
        (row["labeler_id"], q, row["archetype"], float(np.asarray(CLASS_PRIOR[q]) @ np.diag(_confusion(row, q, on))))
        for _, row in labelers.iterrows()
        for q in QUEUES
    ]
    return pd.DataFrame(rows, columns=["labeler_id", "queue", "archetype", "accuracy"])
