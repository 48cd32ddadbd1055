"""Synthetic allocation inputs at the interface level (open tasks, labelers, skills, judged).

For the bench and the tests: it skips raw exports and silver and draws the four input
frames of ``candidate_pairs`` directly, with a hidden true accuracy per (labeler, queue)
so plans can also be judged against the truth. Magnitudes follow experiments/synth
(handling seconds by modality, SLA by priority, site costs, labeler archetypes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession

from schemas.reference import LANGUAGES, QUEUES
from scoring.allocation.config import (
    LOWER_BOUND_Z,
    PRODUCTIVE_SHARE,
    QUEUE_ORDER,
    SKILL_PRIOR_MEAN,
    SKILL_PRIOR_STRENGTH,
)

_QUEUE_MIX = {"ad_compliance": 0.24, "video_policy": 0.10, "sentiment": 0.20, "spam": 0.24,
              "image_quality": 0.14, "transcript_qa": 0.08}
_TASK_LANG = np.array([0.60, 0.12, 0.07, 0.08, 0.08, 0.05])
_LABELER_LANG = np.array([0.85, 0.22, 0.10, 0.10, 0.12, 0.07])
_HANDLING = {"text": 20.0, "image": 12.0, "video": 75.0, "audio": 110.0}
_SLA_H = np.array([4.0, 24.0, 72.0])
_PRIORITY_P = np.array([0.15, 0.55, 0.30])


@dataclass
class SyntheticInputs:
    open_tasks: pd.DataFrame
    labelers: pd.DataFrame
    skills: pd.DataFrame  # includes the hidden ``true_accuracy``
    judged: pd.DataFrame
    window_start: datetime
    window_h: float

    def to_spark(self, spark: SparkSession) -> dict[str, DataFrame]:
        return {
            "open_tasks": spark.createDataFrame(self.open_tasks),
            "labelers": spark.createDataFrame(self.labelers),
            "skills": spark.createDataFrame(self.skills),
            "judged": spark.createDataFrame(self.judged),
        }


def beta_skill(correct: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and lower credible bound of accuracy under the configured Beta prior
    (the same estimate as ``adapters.skills_from_gold`` computes in Spark)."""
    a = SKILL_PRIOR_MEAN * SKILL_PRIOR_STRENGTH + correct
    total = SKILL_PRIOR_STRENGTH + n
    mean = a / total
    return mean, mean - LOWER_BOUND_Z * np.sqrt(mean * (1 - mean) / (total + 1))


def generate(n_labelers: int = 2000, n_tasks: int = 50_000, seed: int = 11,
             window_start: datetime = datetime(2026, 1, 6), window_h: float = 1.0) -> SyntheticInputs:
    rng = np.random.default_rng(seed)
    queues = list(QUEUE_ORDER)
    modality = [QUEUES[q].modality for q in queues]

    # --- labelers ---------------------------------------------------------------------
    lab_ids = np.array([f"L{i:05d}" for i in range(n_labelers)])
    speaks = rng.random((n_labelers, len(LANGUAGES))) < _LABELER_LANG
    speaks[~speaks.any(axis=1), 0] = True
    n_cert = rng.choice([2, 3, 4], size=n_labelers, p=[0.4, 0.4, 0.2])
    certified = [sorted(rng.choice(len(queues), size=k, replace=False).tolist()) for k in n_cert]
    level = np.select(
        [rng.random(n_labelers) < 0.15, rng.random(n_labelers) < 0.8],
        [rng.uniform(0.90, 0.98, n_labelers), rng.uniform(0.70, 0.90, n_labelers)],
        rng.uniform(0.55, 0.75, n_labelers))
    speed = rng.lognormal(0.0, 0.3, n_labelers)
    hourly = np.round(rng.uniform(5.0, 24.0, n_labelers), 2)
    shift = rng.choice([4.0, 6.0, 8.0], size=n_labelers, p=[0.15, 0.25, 0.6])

    skill_rows = []
    for i, qs in enumerate(certified):
        for qi in qs:
            true_acc = float(np.clip(level[i] + rng.normal(0, 0.04), 0.4, 0.995))
            n_gold = int(rng.poisson(15))
            correct = int(rng.binomial(n_gold, true_acc))
            handling = _HANDLING[modality[qi]] * speed[i] * float(rng.lognormal(0, 0.2))
            skill_rows.append((lab_ids[i], queues[qi], correct, n_gold, handling, true_acc))
    skills = pd.DataFrame(skill_rows, columns=["labeler_id", "queue", "correct", "skill_n",
                                               "handling_s", "true_accuracy"])
    mean, lower = beta_skill(skills["correct"].to_numpy(float), skills["skill_n"].to_numpy(float))
    skills["skill_mean"], skills["skill_lower"] = mean, lower
    skills["skill_n"] = skills["skill_n"].astype(float)
    skills = skills[["labeler_id", "queue", "skill_mean", "skill_lower", "skill_n", "handling_s",
                     "true_accuracy"]]
    typical = skills.groupby("labeler_id")["handling_s"].median().reindex(lab_ids).to_numpy()
    capacity = np.floor(np.minimum(shift, window_h) * 3600 * PRODUCTIVE_SHARE / typical).astype(np.int32)
    labelers = pd.DataFrame({
        "labeler_id": lab_ids,
        "languages": [[LANGUAGES[j] for j in np.flatnonzero(row)] for row in speaks],
        "certified_queues": [[queues[q] for q in qs] for qs in certified],
        "hourly_cost": hourly,
        "capacity": capacity,
        "handling_s": typical,
    })

    # --- open tasks -----------------------------------------------------------------------
    mix = np.array([_QUEUE_MIX[q] for q in queues])
    t_queue = rng.choice(len(queues), size=n_tasks, p=mix / mix.sum())
    t_lang = rng.choice(len(LANGUAGES), size=n_tasks, p=_TASK_LANG)
    priority = rng.choice([1, 2, 3], size=n_tasks, p=_PRIORITY_P)
    created = [window_start - timedelta(hours=float(h)) for h in rng.uniform(0, 48, n_tasks)]
    deadline = [c + timedelta(hours=float(_SLA_H[p - 1])) for c, p in zip(created, priority, strict=True)]
    n_classes = np.array([len(QUEUES[queues[q]].labels) for q in t_queue])
    n_labels = rng.choice([0, 1, 2, 3], size=n_tasks, p=[0.5, 0.2, 0.2, 0.1])
    labels_needed = np.where(n_labels >= 3, 1, 3 - n_labels)
    conf = 1.0 / n_classes + (1 - 1.0 / n_classes) * rng.beta(2.0, 1.2, n_tasks)
    task_ids = np.array([f"T{i:06d}" for i in range(n_tasks)])
    open_tasks = pd.DataFrame({
        "task_id": task_ids,
        "queue": [queues[q] for q in t_queue],
        "language": [LANGUAGES[j] for j in t_lang],
        "priority": priority.astype(np.int32),
        "created_at": pd.to_datetime(created),
        "deadline_at": pd.to_datetime(deadline),
        "n_classes": n_classes.astype(np.int32),
        "labels_needed": labels_needed.astype(np.int32),
        "n_labels": n_labels.astype(np.int32),
        "confidence": np.where(n_labels > 0, conf, np.nan),
    })

    # --- who already judged what: drawn from the task's eligible pool ---------------------
    pool: dict[tuple[int, int], np.ndarray] = {}
    for i, qs in enumerate(certified):
        for qi in qs:
            for j in np.flatnonzero(speaks[i]):
                pool.setdefault((qi, int(j)), []).append(i)  # type: ignore[arg-type]
    judged_rows = []
    for t in np.flatnonzero(n_labels > 0):
        members = pool.get((int(t_queue[t]), int(t_lang[t])))
        if not members:
            continue
        for i in rng.choice(members, size=min(int(n_labels[t]), len(members)), replace=False):
            judged_rows.append((task_ids[t], lab_ids[i]))
    judged = pd.DataFrame(judged_rows, columns=["task_id", "labeler_id"])
    return SyntheticInputs(open_tasks, labelers, skills, judged, window_start, window_h)
