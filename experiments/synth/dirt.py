"""The usual dirt of a platform export, injected on purpose and written down in a manifest.

Each dirty row carries exactly one row-level kind, so the quarantine reason ingest
must give is certain (``expected_reason``; empty when the row must stay). File-level
schema drift (an extra column, a missing optional column) never quarantines and is
recorded once per file with ``line_number`` 0. A file that loses a *required* column
gets no other dirt: every data row of it is ``missing_column``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace

import numpy as np
import pandas as pd

from experiments.synth import params as P
from schemas.bronze import Reason
from schemas.raw import EVENTS, JUDGMENTS, LABELERS, TASKS, RawSource
from schemas.reference import ALL_LABELS, QUEUES


@dataclass(frozen=True)
class DirtConfig:
    """Rates of each kind of dirt. Row kinds: share of eligible rows; file kinds: chance per source and day."""

    malformed: float = 0.002          # truncated JSON line / CSV row with the wrong number of fields
    wrong_type: float = 0.002         # a present value that does not parse ('12.5s', 'yes', 'high', 'yesterday')
    null_key: float = 0.001           # an id field null or empty
    missing_required: float = 0.001   # another required field null or empty
    unknown_queue: float = 0.0005     # a queue outside the platform's list
    unknown_label: float = 0.002      # label / gold_label / review_label outside the queue's label set
    invalid_value: float = 0.001      # a code outside its list (status, event_type, modality, priority, ...)
    future_timestamp: float = 0.001   # clock error: timestamps well after the end of the export day
    duplicate: float = 0.002          # an exact copy of a line later in the same file (judgments, events)
    late: float = 0.01                # judgments written into the export of day +1 or +2
    extra_column: float = 0.1         # one file of the source and day gains an unknown column
    missing_optional_column: float = 0.1  # one file of the source and day lacks an optional column
    missing_required_column: float = 0.0  # one file of the source and day lacks a required column

    ROW_KINDS = ("malformed", "wrong_type", "null_key", "missing_required", "unknown_queue", "unknown_label",
                 "invalid_value", "future_timestamp", "duplicate")

    @classmethod
    def none(cls) -> DirtConfig:
        """Clean exports: no dirt, no late rows, no drift."""
        return cls(**{f.name: 0.0 for f in fields(cls)})

    def with_row_rate(self, rate: float) -> DirtConfig:
        """The same config with every row-level kind (not late, not drift) at ``rate``."""
        return replace(self, **{k: rate for k in self.ROW_KINDS})

    @property
    def is_clean(self) -> bool:
        return not any(asdict(self).values())


# Manifest kinds and the reason ingest must give them ("" = must not be quarantined).
KIND_REASON: dict[str, str] = {
    "truncated_json": Reason.MALFORMED,
    "wrong_field_count": Reason.MALFORMED,
    "wrong_type": Reason.WRONG_TYPE,
    "null_key": Reason.NULL_KEY,
    "missing_required": Reason.MISSING_REQUIRED,
    "unknown_queue": Reason.UNKNOWN_QUEUE,
    "unknown_label": Reason.UNKNOWN_LABEL,
    "invalid_value": Reason.INVALID_VALUE,
    "future_timestamp": Reason.FUTURE_TIMESTAMP,
    "duplicate": Reason.DUPLICATE,
    "missing_column": Reason.MISSING_COLUMN,
    "late": "",
    "extra_column": "",
    "missing_optional_column": "",
}
MANIFEST_COLUMNS = ["source", "file", "line_number", "kind", "expected_reason", "key"]

# Values that no strict parser accepts for the kind (nor Spark's lenient casts, for most).
WRONG_TYPE_VALUES: dict[str, tuple[str, ...]] = {
    "double": ("12.5s", "approx 30", "--", "1.2.3", "twelve"),
    "int": ("high", "urgent", "p1", "low"),
    "bool": ("yes", "maybe", "unknown", "gold?"),
    "timestamp": ("yesterday", "not a timestamp", "soon", "--"),
    "date": ("last year", "soon", "--", "unknown"),
}
UNKNOWN_QUEUES = ("ad_review", "spam_v2", "misc", "video")
EXTRA_LABELS = ("other", "idk")


@dataclass(frozen=True)
class SourceDirt:
    """Where each kind of dirt can go in one source."""

    source: RawSource
    wrong_type: tuple[str, ...]
    null_key: tuple[str, ...]
    missing_required: tuple[str, ...]
    invalid_values: dict[str, tuple[str, ...]]
    unknown_queue: bool
    label_fields: tuple[str, ...]
    has_future: bool
    duplicates: bool
    extra_column: tuple[str, tuple[str, ...]]
    optional_drop: str
    required_drop: str

    @property
    def key(self) -> str:
        return self.source.key[0]


SPECS: dict[str, SourceDirt] = {
    "judgments": SourceDirt(
        JUDGMENTS,
        wrong_type=("active_seconds", "is_gold", "assigned_at", "started_at", "submitted_at"),
        null_key=("judgment_id", "task_id", "labeler_id"),
        missing_required=("status", "assigned_at"),
        invalid_values={"status": ("done", "pending", "submited", "in_progress")},
        unknown_queue=True,
        label_fields=("label", "gold_label", "review_label"),
        has_future=True,
        duplicates=True,
        extra_column=("device_type", ("desktop", "mobile", "tablet")),
        optional_drop="client_version",
        required_drop="assigned_at",
    ),
    "tasks": SourceDirt(
        TASKS,
        wrong_type=("priority", "reward", "created_at", "deadline_at"),
        null_key=("task_id",),
        missing_required=("language", "modality", "deadline_at"),
        invalid_values={"modality": ("audio_video", "3d", "html"), "priority": ("0", "4", "9")},
        unknown_queue=True,
        label_fields=(),
        has_future=True,
        duplicates=False,
        extra_column=("source_system", ("ads-api", "trust-safety", "partner-upload")),
        optional_drop="reward",
        required_drop="priority",
    ),
    "labelers": SourceDirt(
        LABELERS,
        wrong_type=("hourly_cost", "shift_hours", "hired_at"),
        null_key=("labeler_id",),
        missing_required=("hourly_cost", "shift_hours", "hired_at"),
        invalid_values={"status": ("on_leave", "terminated", "probation")},
        unknown_queue=False,
        label_fields=(),
        has_future=True,
        duplicates=False,
        extra_column=("team", ("alpha", "bravo", "charlie")),
        optional_drop="site",
        required_drop="hourly_cost",
    ),
    "events": SourceDirt(
        EVENTS,
        wrong_type=("ts",),
        null_key=("event_id", "labeler_id"),
        missing_required=("event_type", "ts"),
        invalid_values={"event_type": ("assignment_rejected", "heartbeat", "page_view")},
        unknown_queue=False,
        label_fields=(),
        has_future=True,
        duplicates=True,
        extra_column=("device_type", ("desktop", "mobile", "tablet")),
        optional_drop="session_id",
        required_drop="ts",
    ),
}
SOURCE_INDEX = {name: i for i, name in enumerate(SPECS)}

# Moves the given rows' timestamps past the export day's cutoff, in place.
FutureFn = Callable[[pd.DataFrame, np.ndarray, np.random.Generator], None]


@dataclass(frozen=True)
class FileDrift:
    """Which part files of a source-day get schema drift."""

    extra_column: int | None
    missing_optional: int | None
    missing_required: int | None


def plan_file_drift(rng: np.random.Generator, cfg: DirtConfig, n_parts: int) -> FileDrift:
    """At most one file per drift kind; a file losing a required column gets no other drift."""
    draws = rng.random(3)
    parts = rng.integers(0, n_parts, 3)
    missing_required = int(parts[2]) if draws[2] < cfg.missing_required_column else None
    extra = int(parts[0]) if draws[0] < cfg.extra_column and parts[0] != missing_required else None
    optional = int(parts[1]) if draws[1] < cfg.missing_optional_column and parts[1] != missing_required else None
    return FileDrift(extra, optional, missing_required)


def plan_row_kinds(rng: np.random.Generator, cfg: DirtConfig, spec: SourceDirt, text: pd.DataFrame,
                   late: np.ndarray) -> np.ndarray:
    """One kind (or '') per row, drawn kind by kind among rows still clean and not late."""
    n = len(text)
    kinds = np.full(n, "", dtype=object)
    present = {c: (text[c].notna() & (text[c] != "")).to_numpy(dtype=bool)
               for c in (*spec.label_fields, "queue") if c in text}
    applicable = {
        "malformed": True,
        "wrong_type": bool(spec.wrong_type),
        "null_key": bool(spec.null_key),
        "missing_required": bool(spec.missing_required),
        "unknown_queue": spec.unknown_queue,
        "unknown_label": bool(spec.label_fields),
        "invalid_value": bool(spec.invalid_values),
        "future_timestamp": spec.has_future,
    }
    for kind, ok in applicable.items():
        rate = getattr(cfg, kind)
        if not ok or rate <= 0:
            continue
        eligible = (kinds == "") & ~late
        if kind == "unknown_label":
            eligible &= np.logical_or.reduce([present[c] for c in spec.label_fields])
        if kind == "unknown_queue":
            eligible &= present["queue"]
        idx = np.flatnonzero(eligible)
        chosen = rng.choice(idx, int(rng.binomial(len(idx), rate)), replace=False) if len(idx) else idx
        name = kind if kind != "malformed" else ("truncated_json" if spec.source.file_format == "jsonl"
                                                 else "wrong_field_count")
        kinds[np.sort(chosen)] = name
    return kinds


def _is_present(v: object) -> bool:
    return v is not None and not (isinstance(v, float) and np.isnan(v)) and v != ""


def apply_value_dirt(rng: np.random.Generator, spec: SourceDirt, text: pd.DataFrame, kinds: np.ndarray,
                     absent: set[str], push_future: FutureFn) -> None:
    """Mutate the rows of each value-level kind in place (text frame of export values)."""
    for kind in ("wrong_type", "null_key", "missing_required", "unknown_queue", "unknown_label",
                 "invalid_value", "future_timestamp"):
        rows = np.flatnonzero(kinds == kind)
        if len(rows) == 0:
            continue
        if kind == "future_timestamp":
            push_future(text, rows, rng)
            continue
        for r in rows:
            col, value = _dirty_value(rng, spec, kind, text, int(r), absent)
            text.iat[int(r), text.columns.get_loc(col)] = value


def _dirty_value(rng: np.random.Generator, spec: SourceDirt, kind: str, text: pd.DataFrame, r: int,
                 absent: set[str]) -> tuple[str, object]:
    pick = lambda options: options[int(rng.integers(0, len(options)))]  # noqa: E731
    if kind == "wrong_type":
        col = pick([c for c in spec.wrong_type if c not in absent])
        return col, pick(WRONG_TYPE_VALUES[spec.source.field(col).kind])
    if kind in ("null_key", "missing_required"):
        col = pick(spec.null_key if kind == "null_key" else spec.missing_required)
        return col, pick([None, ""]) if spec.source.file_format == "jsonl" else ""
    if kind == "unknown_queue":
        return "queue", pick(UNKNOWN_QUEUES)
    if kind == "unknown_label":
        col = pick([c for c in spec.label_fields if _is_present(text.iat[r, text.columns.get_loc(c)])])
        queue = text.iat[r, text.columns.get_loc("queue")]
        return col, pick([lab for lab in (*ALL_LABELS, *EXTRA_LABELS) if lab not in QUEUES[queue].labels])
    if kind == "invalid_value":
        col = pick(sorted(spec.invalid_values))
        return col, pick(spec.invalid_values[col])
    raise ValueError(kind)


def truncate_json(rng: np.random.Generator, line: str) -> str:
    """A strict prefix of a JSON object (it never closes, so no parser accepts it)."""
    return line[: int(rng.integers(max(1, len(line) // 4), len(line) - 1))]


def change_field_count(rng: np.random.Generator, line: str) -> str:
    """A CSV row with fields missing at the end, or with extra fields (no field contains a comma)."""
    cells = line.split(",")
    if rng.random() < 0.5:
        return ",".join(cells[: int(rng.integers(1, len(cells)))])
    return line + "," + ",".join(["x"] * int(rng.integers(1, 3)))


def insert_duplicates(rng: np.random.Generator, lines: list[str], kinds: np.ndarray, late: np.ndarray,
                      rate: float, room: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Copy some clean lines to a later position of the same file.

    Returns the new lines, their kinds ('duplicate' for copies) and, per new line, the
    index of the line it came from (for its key).
    """
    n = len(lines)
    eligible = np.flatnonzero((kinds == "") & ~late)
    count = min(int(rng.binomial(len(eligible), rate)) if len(eligible) else 0, max(room, 0))
    origin = np.arange(n)
    if count == 0:
        return lines, kinds, origin
    src = np.sort(rng.choice(eligible, count, replace=False))
    # Copy of line s goes right before original line p (p in s+1..n), i.e. somewhere after s.
    pos = src + 1 + (rng.random(count) * (n - src)).astype(np.int64)
    sort_key = np.concatenate([np.arange(n, dtype=float), pos - 0.5])
    order = np.argsort(sort_key, kind="stable")
    all_origin = np.concatenate([origin, src])[order]
    all_kinds = np.concatenate([kinds, np.full(count, "duplicate", dtype=object)])[order]
    return [lines[i] for i in all_origin], all_kinds, all_origin


def empty_manifest() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object if c != "line_number" else np.int64) for c in MANIFEST_COLUMNS})


def uniform_ms(rng: np.random.Generator, n: int, lo_hours: float, hi_hours: float) -> np.ndarray:
    return (rng.uniform(lo_hours, hi_hours, n) * P.HOUR_MS).astype(np.int64)
