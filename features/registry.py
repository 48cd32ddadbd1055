"""The feature registry, as code: every published feature set, its entity, version, owner,
time-to-live and features (name, dtype, window, description).

Types come from the table contracts in ``schemas/features.py`` (one source of truth); this
module adds what a reader needs to use them. Bump a set's ``version`` when a definition
changes meaning; the ``definition_hash`` (features + parameters) changes by itself whenever a
definition or a parameter changes, and every publication row records both.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from features.config import DEFAULT_PARAMS, FeatureParams
from schemas import features as contracts
from schemas.contract import TableContract

OWNER = "labelops-features"

WINDOW_TEXT = {"1d": "on the as-of day", "7d": "over the 7 days ending on the as-of day",
               "28d": "over the 28 days ending on the as-of day", "all": "since the labeler's first event"}

# Descriptions of windowed columns, by base name (the column is <base>_<window>).
WINDOWED = {
    "assignments": "assignment outcomes (judgment rows of any status)",
    "judgments": "submitted judgments",
    "skipped_n": "skipped assignments",
    "expired_n": "expired assignments",
    "abandoned_n": "abandoned assignments",
    "gold_n": "submitted gold judgments scored against the gold label",
    "gold_correct": "correct gold judgments",
    "reviewed_n": "submitted judgments with a QA review",
    "overturned_n": "reviewed judgments whose review label differs",
    "agreement_n": "submitted judgments with a leave-one-out consensus of other labelers",
    "agreement_credit": "sum of agreement credits (1, or 1/k when k labels tie for the majority)",
    "active_seconds": "active seconds on judgments of any status",
    "accepted_n": "submitted judgments not overturned by review and not a wrong gold answer",
    "labor_cost": "active hours x hourly cost (roster snapshot of the day), USD; null without roster",
    "gold_accuracy": "gold accuracy, Beta posterior mean; prior mean = the queue's pooled gold accuracy "
                     "in the same window, prior strength gold_prior_strength",
    "gold_accuracy_lb": "gold accuracy lower credible bound: credible_quantile of the Beta posterior "
                        "(exact, scipy beta.ppf)",
    "agreement_rate": "agreement with the leave-one-out consensus: agreement_credit / agreement_n",
    "overturn_rate": "QA review overturn rate: overturned_n / reviewed_n",
    "skip_rate": "skipped_n / assignments",
    "expiry_rate": "expired_n / assignments",
    "abandon_rate": "abandoned_n / assignments",
    "throughput_per_active_hour": "submitted judgments per active hour",
    "cost_per_accepted_label": "labor_cost / accepted_n, USD",
    "active_days": "days with at least one assignment",
    "active_seconds_p50": "median active seconds of submitted judgments (DDSketch, 1% relative error)",
    "active_seconds_p90": "90th percentile of active seconds of submitted judgments (DDSketch, 1% relative error)",
}

OTHER = {
    "gold_confusion_28d": "smoothed gold confusion matrix over 28 days: true label -> given label -> "
                          "probability (Dirichlet prior = the queue's pooled matrix, strength "
                          "confusion_prior_strength)",
    "gold_balanced_accuracy_28d": "mean per-class recall of the smoothed 28-day confusion (labeler level: "
                                  "gold-weighted over queues); low for constant-label spammers",
    "ew_gold_n": "exponentially weighted gold count (half-life ew_half_life_days)",
    "ew_gold_correct": "exponentially weighted correct gold count",
    "ew_gold_accuracy": "exponentially weighted gold accuracy, Beta posterior mean (queue prior)",
    "queues_28d": "queues with at least one assignment in 28 days",
    "tenure_days": "as-of day - hired_at from the newest roster snapshot (<= 7 days old)",
    # task
    "queue": "queue of the task", "modality": "task modality", "priority": "task priority, 1 = highest",
    "created_at": "task creation time", "deadline_at": "task deadline (SLA)",
    "retire_at": "time after which the task leaves the table (deadline + retention, capped by max age)",
    "assignments_so_far": "assignment outcomes of any status so far",
    "labels_so_far": "submitted labels so far",
    "label_counts": "label -> submitted count so far",
    "labeler_labels": "labeler -> latest submitted label so far",
    "disagreement_entropy": "Shannon entropy (bits) of the labels so far; 0 = unanimous, null before the first",
    "age_hours": "hours since creation at the as-of time (feature_ts)",
    "sla_slack_hours": "deadline minus the as-of time (feature_ts), hours; negative when late",
    "expected_handling_seconds": "median active seconds in the task's queue x modality over 28 days (DDSketch)",
    "completed_at": "when the task reached target_labels submitted labels (null while open)",
    "is_open": "not completed and not retired at the as-of time",
    "is_past_deadline": "deadline before the as-of time",
    # queue x day
    "arrivals": "tasks created that day", "completions": "tasks reaching the label target that day",
    "closed_incomplete": "tasks retired that day below the label target",
    "backlog_end": "open tasks at the end of the day",
    "labels_submitted": "submitted labels that day",
    "median_turnaround_hours": "exact median hours from creation to completion of that day's completions",
    "completed_late_share": "share of that day's completions after their deadline",
    "backlog_past_deadline_share": "share of the end-of-day backlog past its deadline",
    "handling_sketches": "modality -> DDSketch of submitted active seconds that day",
    # daily aggregates
    "hourly_cost": "hourly cost from the roster snapshot of the day",
    "active_seconds_sketch": "DDSketch (bucket -> count) of submitted active seconds",
    "gold_confusion_counts": "gold confusion counts, key 'gold_label|given_label'",
    "queues_n": "queues worked that day",
}
DAILY_MEASURE_TEXT = "that day"


@dataclass(frozen=True)
class Feature:
    name: str
    dtype: str
    window: str | None
    description: str


@dataclass(frozen=True)
class FeatureSet:
    name: str
    entity: tuple[str, ...]
    kind: str                  # "feature_view" (as of a day) or "daily_aggregate" (per event day)
    contract: TableContract
    version: str
    description: str
    ttl: timedelta
    owner: str = OWNER
    timestamp_column: str = "feature_ts"

    @property
    def table(self) -> str:
        return self.contract.qualified_name

    @property
    def date_column(self) -> str:
        return self.contract.logical_date_column or "as_of_date"

    @property
    def features(self) -> tuple[Feature, ...]:
        skip = {*self.entity, self.date_column, self.timestamp_column}
        out = []
        for f in self.contract.schema.fields:
            if f.name in skip:
                continue
            window, text = _describe(f.name)
            out.append(Feature(f.name, f.dataType.simpleString(), window, text))
        return tuple(out)

    def definition_hash(self, params: FeatureParams = DEFAULT_PARAMS) -> str:
        payload = {"name": self.name, "version": self.version, "entity": self.entity, "kind": self.kind,
                   "features": [(f.name, f.dtype, f.window, f.description) for f in self.features],
                   "params": params.as_dict()}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    def summary(self, params: FeatureParams = DEFAULT_PARAMS) -> dict:
        return {"name": self.name, "entity": list(self.entity), "kind": self.kind, "version": self.version,
                "table": self.table, "owner": self.owner, "ttl_days": self.ttl.total_seconds() / 86400,
                "timestamp_column": self.timestamp_column, "date_column": self.date_column,
                "features": len(self.features), "definition_hash": self.definition_hash(params),
                "description": self.description}


def _describe(column: str) -> tuple[str | None, str]:
    if column in OTHER:
        return None, OTHER[column]
    for suffix in contracts.WINDOW_SUFFIXES:
        base = column[: -len(suffix) - 1]
        if column.endswith(f"_{suffix}") and base in WINDOWED:
            return suffix, f"{WINDOWED[base]}, {WINDOW_TEXT[suffix]}"
    if column in WINDOWED:  # a daily table's own measure
        return "1d", f"{WINDOWED[column]}, {DAILY_MEASURE_TEXT}"
    raise KeyError(f"feature column {column!r} has no description in features/registry.py")


FEATURE_SETS: dict[str, FeatureSet] = {
    s.name: s
    for s in (
        FeatureSet("labeler_features", ("labeler_id",), "feature_view", contracts.LABELER_FEATURES, "1.0.0",
                   "Labeler quality, speed, cost and activity over 1/7/28 days and all time.", timedelta(days=7)),
        FeatureSet("labeler_queue_features", ("labeler_id", "queue"), "feature_view",
                   contracts.LABELER_QUEUE_FEATURES, "1.0.0",
                   "Skill per queue (read by confidence and allocation): gold accuracy with a Beta prior, "
                   "agreement, speed, volume, cost and a smoothed gold confusion matrix.", timedelta(days=7)),
        FeatureSet("task_features", ("task_id",), "feature_view", contracts.TASK_FEATURES, "1.0.0",
                   "Open and recently completed tasks: labels so far, disagreement, age, SLA slack, "
                   "expected handling time, priority.", timedelta(days=2)),
        FeatureSet("queue_daily", ("queue",), "feature_view", contracts.QUEUE_DAILY, "1.0.0",
                   "Queue flow per day: arrivals, completions, backlog, turnaround, deadline shares.",
                   timedelta(days=7)),
        FeatureSet("labeler_queue_daily", ("labeler_id", "queue"), "daily_aggregate",
                   contracts.LABELER_QUEUE_DAILY, "1.0.0",
                   "Daily additive measures per labeler x queue: the base of the labeler windows.",
                   timedelta(days=1)),
        FeatureSet("labeler_daily", ("labeler_id",), "daily_aggregate", contracts.LABELER_DAILY, "1.0.0",
                   "Daily additive measures per labeler (summed over queues).", timedelta(days=1)),
    )
}

BY_TABLE: dict[str, FeatureSet] = {s.table: s for s in FEATURE_SETS.values()}


def get(name: str) -> FeatureSet:
    """A feature set by name (or by table name, 'features.<table>')."""
    if name in FEATURE_SETS:
        return FEATURE_SETS[name]
    if name in BY_TABLE:
        return BY_TABLE[name]
    raise KeyError(f"unknown feature set {name!r}; known: {', '.join(FEATURE_SETS)}")


def find_feature(name: str) -> list[tuple[FeatureSet, Feature]]:
    """Every (set, feature) with that feature name."""
    return [(s, f) for s in FEATURE_SETS.values() for f in s.features if f.name == name]


def set_for_entity_columns(columns: list[str]) -> FeatureSet:
    """The feature view whose entity keys are exactly the entity columns of an entity frame."""
    keys = set(columns) - {"ts"}
    views = [s for s in FEATURE_SETS.values() if s.kind == "feature_view" and set(s.entity) == keys]
    if not views:
        known = "; ".join(f"{s.name}: ({', '.join(s.entity)}, ts)" for s in FEATURE_SETS.values()
                          if s.kind == "feature_view")
        raise KeyError(f"no feature view has entity columns {sorted(keys)}. Entity files look like: {known}")
    return views[0]
