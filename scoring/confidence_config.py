"""Knobs of the confidence stage: per-queue publish thresholds and label caps, model defaults.

A task is *published* when its confidence (max posterior) reaches its queue's threshold;
otherwise it asks for one more labeler until it has ``max_labels`` judgments. Thresholds
trade labels for accuracy (see the sweep in docs/confidence.md); a queue whose mistakes
cost more gets a higher bar and a higher cap. Every value can be overridden from the job's
command line (``--threshold queue=0.97``, ``--max-labels queue=9``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class QueuePolicy:
    threshold: float  # publish when confidence >= threshold
    max_labels: int   # never ask for more than this many judgments on one task

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")
        if self.max_labels < 1:
            raise ValueError(f"max_labels must be >= 1, got {self.max_labels}")


DEFAULT_POLICY = QueuePolicy(threshold=0.90, max_labels=5)

QUEUE_POLICIES: dict[str, QueuePolicy] = {
    # Policy and compliance decisions are expensive to get wrong: higher bar, more labels.
    "ad_compliance": QueuePolicy(threshold=0.95, max_labels=7),
    "video_policy": QueuePolicy(threshold=0.95, max_labels=7),
    "transcript_qa": QueuePolicy(threshold=0.90, max_labels=5),
    "spam": QueuePolicy(threshold=0.90, max_labels=5),
    "sentiment": QueuePolicy(threshold=0.85, max_labels=5),
    "image_quality": QueuePolicy(threshold=0.85, max_labels=4),
}

# Model defaults for the pipeline job.
METHODS: tuple[str, ...] = ("ds",)
MAX_ITER = 100
TOL = 1e-5                 # change of the mean log-likelihood per judgment (crowd-kit's default too)
SMOOTHING = 0.01           # Dirichlet pseudo-count per confusion cell
SHRINKAGE = 0.0            # ds: pseudo-judgments toward each labeler's one-coin fit (see docs)
USE_GOLD = False           # keep gold tasks as an honest calibration set unless told otherwise
WINDOW_DAYS = 28           # judgments of the trailing 28 days (0 = all history)


def policy_for(queue: str, policies: Mapping[str, QueuePolicy] | None = None) -> QueuePolicy:
    return (policies or QUEUE_POLICIES).get(queue, DEFAULT_POLICY)


def parse_overrides(values: Iterable[str], kind: Callable[[str], T]) -> tuple[T | None, dict[str, T]]:
    """``["0.9", "spam=0.8"]`` -> (0.9 for every queue, {"spam": 0.8}); the last value wins."""
    everywhere, per_queue = None, {}
    for value in values:
        if "=" in value:
            queue, _, v = value.partition("=")
            per_queue[queue.strip()] = kind(v)
        else:
            everywhere = kind(value)
    return everywhere, per_queue


def resolve_policies(queues: Iterable[str], threshold_args: Iterable[str] = (),
                     max_label_args: Iterable[str] = (),
                     base: Mapping[str, QueuePolicy] | None = None) -> dict[str, QueuePolicy]:
    """Per-queue policies after command-line overrides (a bare value applies to every queue)."""
    t_all, t_queue = parse_overrides(threshold_args, float)
    m_all, m_queue = parse_overrides(max_label_args, int)
    out = {}
    for q in queues:
        p = policy_for(q, base)
        if t_all is not None:
            p = replace(p, threshold=t_all)
        if m_all is not None:
            p = replace(p, max_labels=m_all)
        if q in t_queue:
            p = replace(p, threshold=t_queue[q])
        if q in m_queue:
            p = replace(p, max_labels=m_queue[q])
        out[q] = p
    return out
