"""Allocation policy configuration: the ONE place for formula constants, defaults and weights.

The pandas UDF, the Spark built-in expressions and the row-at-a-time UDF all read
their constants from here, so the three scorers cannot drift apart. Bump
``POLICY_VERSION`` whenever a constant or a formula changes: it is written on
every plan row, so a plan can always be traced to the policy that produced it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace

from schemas.reference import QUEUES

POLICY_VERSION = "alloc-v1"

# Queues in a fixed order: a pair carries ``queue_idx`` (its position here) so that
# per-queue parameters are array look-ups in every scorer instead of string joins.
QUEUE_ORDER: tuple[str, ...] = tuple(sorted(QUEUES))
QUEUE_INDEX: dict[str, int] = {q: i for i, q in enumerate(QUEUE_ORDER)}


@dataclass(frozen=True)
class ScoringConstants:
    """Numbers inside the scoring formulas (see docs/allocation.md, "Scoring")."""

    # Accuracy used for a pair = mean - risk_aversion * (mean - lower credible bound):
    # an uncertain labeler counts for less than a proven one with the same mean.
    risk_aversion: float = 0.5
    # Numerical guard for probabilities fed to log().
    eps: float = 1e-6
    # Width (hours) of the logistic that turns "slack minus expected completion" into
    # an on-time probability: ~2 h of slack moves it from 0.5 to 0.73.
    deadline_scale_h: float = 2.0
    # Where in the window an assignment is done on average (0.5 = mid-window).
    window_midpoint_share: float = 0.5
    # The logistic's argument is clipped to +-this, so exp() never overflows.
    logit_clip: float = 30.0


CONSTANTS = ScoringConstants()

# Expected cost of one label that counts as "1.0" in the cost term, per queue (USD):
# roughly the median labeler's cost for one label there. Keeps cost weights comparable
# across queues whose handling times differ by 10x.
COST_REFERENCE_USD: dict[str, float] = {
    "ad_compliance": 0.04,
    "image_quality": 0.04,
    "sentiment": 0.05,
    "spam": 0.05,
    "transcript_qa": 0.30,
    "video_policy": 0.20,
}


@dataclass(frozen=True)
class Weights:
    """How much each objective counts in a pair's score (see docs/allocation.md).

    score = coverage + quality * label_value + deadline * on_time_gain / priority
            - cost * expected_cost / cost_reference - load * load_penalty
    """

    coverage: float = 1.0  # value of filling one needed label at all (drives throughput)
    quality: float = 2.0  # per unit of normalised information gain of the label
    cost: float = 0.5  # per "reference label" of expected cost
    deadline: float = 2.0  # per unit of on-time probability gained by assigning now
    load: float = 0.3  # per unit of the labeler's over-subscription

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


DEFAULT_WEIGHTS = Weights()

# Per-queue overrides of the defaults: fast, cheap text queues can afford to chase
# quality; video and audio labels are expensive, so cost counts more there.
QUEUE_WEIGHTS: dict[str, Weights] = {
    "ad_compliance": DEFAULT_WEIGHTS,
    "image_quality": DEFAULT_WEIGHTS,
    "sentiment": DEFAULT_WEIGHTS,
    "spam": DEFAULT_WEIGHTS,
    "transcript_qa": replace(DEFAULT_WEIGHTS, cost=0.8),
    "video_policy": replace(DEFAULT_WEIGHTS, cost=0.8),
}


def weights_for(overrides: Mapping[str, float] | None = None,
                per_queue: Mapping[str, Weights] | None = None) -> dict[str, Weights]:
    """Per-queue weights with ``overrides`` (e.g. from ``--weight cost=1.5``) applied to all."""
    base = dict(per_queue or QUEUE_WEIGHTS)
    for q in QUEUE_ORDER:
        base.setdefault(q, DEFAULT_WEIGHTS)
    if overrides:
        unknown = set(overrides) - set(Weights.names())
        if unknown:
            raise ValueError(f"unknown weight(s) {sorted(unknown)}; known: {Weights.names()}")
        base = {q: replace(w, **{k: float(v) for k, v in overrides.items()}) for q, w in base.items()}
    return base


def parse_weight_overrides(items: list[str] | None) -> dict[str, float]:
    """``["cost=1.5", "quality=3"]`` -> {"cost": 1.5, "quality": 3.0}, failing loudly on typos."""
    out: dict[str, float] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"weight override {item!r} is not NAME=VALUE")
        out[name.strip()] = float(value)
    weights_for(out)  # validates the names
    return out


# --- candidate generation ----------------------------------------------------------------

# Each task is paired with at most TOP_K labelers of its (queue, language) group. 40, not 20,
# since 2026-12-07: on the demo's day 7 the plan gains 1.6 points of expected accuracy at 10 %
# less cost per label for ~20 s more job time (docs/allocation.md, "Choosing --top-k").
TOP_K = 40

# --- inputs: defaults where upstream tables say nothing ------------------------------------

# Labels a task needs in total when no confidence model says otherwise.
DEFAULT_TARGET_LABELS: dict[str, int] = {q: 3 for q in QUEUE_ORDER}
# Never plan more labels than this for one task, whatever confidence says.
MAX_LABELS_PER_TASK = 7
# Tasks created more than this many days before the logical date are not planned: the
# platform expires them, and planning them would make every run scan all history.
OPEN_TASK_HORIZON_DAYS = 14
# History used to estimate skills and handling times when no feature table exists.
SKILL_LOOKBACK_DAYS = 28
# Beta prior on a labeler's accuracy in a queue (mean 0.75, worth 4 gold judgments).
SKILL_PRIOR_MEAN = 0.75
SKILL_PRIOR_STRENGTH = 4.0
# z for the one-sided 90% lower credible bound (normal approximation of the Beta).
LOWER_BOUND_Z = 1.2816
# Median handling seconds per label by modality, when a labeler has no history.
DEFAULT_HANDLING_S: dict[str, float] = {"text": 20.0, "image": 15.0, "video": 75.0, "audio": 110.0}
# Share of a shift spent labeling (breaks, training, meetings take the rest).
PRODUCTIVE_SHARE = 0.8
# Planning window: the day after the logical date, by default.
DEFAULT_WINDOW_HOURS = 24.0

# --- matching ------------------------------------------------------------------------------

# Scores become integer arc costs for the min-cost flow: score * SCALE, rounded.
COST_SCALE = 1_000_000
# The most candidate pairs one exact solve (one min-cost flow in one Python worker) takes: a
# partition with more is matched greedily, and strategy ``auto`` solves all queues at once up to
# this many (else per queue, priced). Measured 2026-12-07 on demo day 7's 3.6 M pairs: one solve
# with the greedy comparison 14.6-18.9 s warm, the largest Python worker's peak RSS 4.2 GB (~1.2 KB per pair:
# the ids as Python strings, the batches and their concatenation, the flow's arcs). The bound
# keeps that worker under ~5 GB; lower it (``--max-exact-pairs``) where executors have less.
MAX_EXACT_PAIRS = 4_000_000
# Shared capacity across queues (``shared_capacity.py``): Lagrangian rounds and step size
# (price change, in score units, for a labeler asked for twice its capacity).
PRICE_ROUNDS = 3
PRICE_STEP = 0.3

# Rows per Arrow batch sent to the scoring pandas UDF (Spark's default is 10,000): larger
# batches amortise the per-batch cost of the UDF's ~30 NumPy passes. Set by the job/bench.
ARROW_BATCH_ROWS = 100_000
