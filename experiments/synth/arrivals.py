"""One day of new tasks and every judgment they will ever get (some of them days later).

A task is born with a latent truth, difficulty and redundancy target; its slots go to
distinct eligible labelers, happen when those labelers are on shift, and carry labels
drawn from each labeler's (drifted) confusion matrix. Frames here are numeric; text is
made only when a file is written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from experiments.synth import params as P
from experiments.synth.clock import NO_TIME, Calendar, next_in_shift
from experiments.synth.labelers import Workforce
from experiments.synth.skill import answer_distribution, draw_labels, drift_rows
from schemas.reference import LANGUAGES

SUBMITTED, SKIPPED, EXPIRED, ABANDONED = (P.STATUS_CODE[s] for s in ("submitted", "skipped", "expired", "abandoned"))
MODALITY_OF_QUEUE = np.array(P.QUEUE_MODALITY)
HANDLING_OF_QUEUE = np.array([P.HANDLING_SECONDS[m] for m in P.QUEUE_MODALITY])
REWARD_OF_QUEUE = np.array([P.REWARD_USD[m] for m in P.QUEUE_MODALITY])
DELAY_OF_QUEUE = np.array([P.MEDIAN_DELAY_HOURS[q] for q in P.QUEUE_NAMES])
DIFF_A = np.array([P.DIFFICULTY_BETA[q][0] for q in P.QUEUE_NAMES])
DIFF_B = np.array([P.DIFFICULTY_BETA[q][1] for q in P.QUEUE_NAMES])


@dataclass
class DayArrivals:
    tasks: pd.DataFrame       # one row per task created that day (numeric, with truth)
    judgments: pd.DataFrame   # every slot of those tasks that happens inside the generated range


def tasks_for_day(rng: np.random.Generator, cal: Calendar, day: int, judgments_per_day: int,
                  gold_rate: float) -> pd.DataFrame:
    """New tasks of one day: weekly seasonality in volume, a diurnal profile in creation time."""
    base = judgments_per_day / P.expected_judgments_per_task()
    n = int(rng.poisson(base * P.WEEKDAY_FACTOR[cal.weekday(day)] * np.exp(rng.normal(0.0, 0.04))))
    queue = rng.choice(len(P.QUEUE_NAMES), n, p=np.array(list(P.QUEUE_MIX.values())))
    hour = rng.choice(24, n, p=P.HOURLY_ARRIVALS / P.HOURLY_ARRIVALS.sum())
    created = cal.day_start_ms(day) + hour * P.HOUR_MS + rng.integers(0, P.HOUR_MS, n)
    order = np.argsort(created, kind="stable")
    queue, created = queue[order], created[order]
    language = rng.choice(len(LANGUAGES), n, p=np.array(list(P.TASK_LANGUAGE_MIX.values())))
    priority = rng.choice(3, n, p=P.PRIORITY_P) + 1
    difficulty = np.round(rng.beta(DIFF_A[queue], DIFF_B[queue]), 4)
    prior_cum = np.cumsum(P.class_prior_matrix(), axis=1)[queue]
    true_label = np.minimum((rng.random(n)[:, None] >= prior_cum).sum(axis=1), P.QUEUE_K[queue] - 1)
    is_gold = rng.random(n) < gold_rate
    redundancy_cum = np.cumsum(P.REDUNDANCY_P, axis=1)[priority - 1]
    redundancy = (rng.random(n)[:, None] >= redundancy_cum).sum(axis=1) + 1
    extra = rng.binomial(redundancy, 1.0 / P.SUBMITTED_SHARE - 1.0)
    reward = np.round(REWARD_OF_QUEUE[queue] * P.PRIORITY_REWARD_FACTOR[priority - 1] * rng.uniform(0.9, 1.1, n), 3)
    return pd.DataFrame({
        "task_day": np.full(n, day, dtype=np.int32),
        "task_seq": np.arange(n, dtype=np.int32),
        "queue": queue.astype(np.int8),
        "language": language.astype(np.int8),
        "priority": priority.astype(np.int8),
        "created_ms": created.astype(np.int64),
        "deadline_ms": (created + (P.SLA_HOURS[priority - 1] * P.HOUR_MS).astype(np.int64)).astype(np.int64),
        "reward": reward,
        "difficulty": difficulty,
        "true_label": true_label.astype(np.int8),
        "is_gold": is_gold,
        "redundancy": redundancy.astype(np.int8),
        "slots": (redundancy + extra).astype(np.int8),
    })


def assign_labelers(rng: np.random.Generator, w: Workforce, eligible: np.ndarray, queue: np.ndarray,
                    language: np.ndarray, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(task, slot, labeler) with distinct labelers per task, drawn by capacity among the eligible.

    Candidates are drawn with replacement, repeats dropped, the first ``slots`` kept: a
    task whose pool is too small simply gets fewer slots.
    """
    tasks_out, slots_out, labelers_out = [], [], []
    for qi in range(len(P.QUEUE_NAMES)):
        for li in range(len(LANGUAGES)):
            tidx = np.flatnonzero((queue == qi) & (language == li) & (slots > 0))
            pool = np.flatnonzero(eligible & w.certified[:, qi] & w.speaks[:, li])
            if len(tidx) == 0 or len(pool) == 0:
                continue
            cum = np.cumsum(w.weight[pool])
            want = slots[tidx].astype(np.int64)
            width = int(want.max()) + 4
            picks = np.searchsorted(cum, rng.random((len(tidx), width)) * cum[-1], side="right")
            cand = pool[np.minimum(picks, len(pool) - 1)]
            repeat = np.zeros(cand.shape, dtype=bool)
            for j in range(1, width):
                repeat[:, j] = (cand[:, :j] == cand[:, j : j + 1]).any(axis=1)
            rank = np.cumsum(~repeat, axis=1) - 1
            rows, cols = np.nonzero(~repeat & (rank < want[:, None]))
            tasks_out.append(tidx[rows])
            slots_out.append(rank[rows, cols])
            labelers_out.append(cand[rows, cols])
    if not tasks_out:
        empty = np.array([], dtype=np.int64)
        return empty, empty, empty
    task, slot, labeler = (np.concatenate(a) for a in (tasks_out, slots_out, labelers_out))
    order = np.lexsort((slot, task))
    return task[order], slot[order], labeler[order]


def judgments_for_tasks(rng: np.random.Generator, w: Workforce, cal: Calendar, day: int,
                        tasks: pd.DataFrame, review_rate: float) -> pd.DataFrame:
    """Every slot of the day's tasks: who, when, what status, which label."""
    queue_t = tasks["queue"].to_numpy()
    eligible = w.eligible_through(day)
    t, slot, lab = assign_labelers(rng, w, eligible, queue_t, tasks["language"].to_numpy(), tasks["slots"].to_numpy())
    n = len(t)
    q = queue_t[t].astype(np.int64)
    redundancy = tasks["redundancy"].to_numpy()[t]
    status = np.where(slot < redundancy, SUBMITTED,
                      rng.choice([SKIPPED, EXPIRED, ABANDONED], n, p=list(P.NON_SUBMITTED_STATUS_P.values())))

    created = tasks["created_ms"].to_numpy()[t]
    prio = tasks["priority"].to_numpy()[t].astype(np.int64)
    delay_h = np.clip(DELAY_OF_QUEUE[q] * P.PRIORITY_DELAY_FACTOR[prio - 1] * np.exp(rng.normal(0, P.DELAY_SIGMA, n)),
                      0.02, P.MAX_DELAY_HOURS)
    assigned = next_in_shift(created + (delay_h * P.HOUR_MS).astype(np.int64), w.shift_start_min[lab],
                             w.shift_hours[lab], w.workdays[lab], rng)

    difficulty = tasks["difficulty"].to_numpy()[t]
    handling = HANDLING_OF_QUEUE[q] * w.speed[lab] * (0.7 + 0.9 * difficulty) * np.exp(rng.normal(0, P.HANDLING_SIGMA, n))
    handling = handling * np.select([status == SKIPPED, status == ABANDONED], [0.2, rng.uniform(0.3, 1.5, n)], 1.0)
    active_s = np.round(np.maximum(handling, 0.8), 3)
    is_expired = status == EXPIRED
    accepted = np.where(is_expired, NO_TIME, assigned + rng.integers(500, 20_000, n))
    started = np.where(is_expired, NO_TIME, accepted + rng.integers(200, 3_000, n))
    idle = rng.exponential(3_000, n).astype(np.int64)
    is_sub = status == SUBMITTED
    submitted = np.where(is_sub, started + (active_s * 1000).astype(np.int64) + idle, NO_TIME)
    active_s = np.where(is_expired, np.nan, active_s)

    # Labels: the labeler's confusion row for the truth, drifted to the day, blurred by difficulty.
    true_label = tasks["true_label"].to_numpy()[t].astype(np.int64)
    k = P.QUEUE_K[q]
    event_ms = np.where(is_sub, submitted, assigned)
    event_day = cal.day_of(event_ms)
    rows = w.confusion[lab, q, true_label]
    rows = drift_rows(rows, true_label, w.drift_per_30d[lab] * event_day / 30.0)
    drawn = draw_labels(rng, answer_distribution(rows, difficulty, k), k)
    label = np.where(is_sub, drawn, -1)
    reviewed = is_sub & (rng.random(n) < review_rate)
    auditor_right = rng.random(n) < P.AUDITOR_ACCURACY
    other = (true_label + 1 + rng.integers(0, np.maximum(k - 1, 1))) % k
    review = np.where(reviewed, np.where(auditor_right, true_label, other), -1)

    order = np.arange(n)
    return pd.DataFrame({
        "task_day": np.full(n, day, dtype=np.int32),
        "task_seq": tasks["task_seq"].to_numpy()[t],
        "jseq": order.astype(np.int32),
        "labeler": lab.astype(np.int32),
        "queue": q.astype(np.int8),
        "status": status.astype(np.int8),
        "label": label.astype(np.int8),
        "true_label": true_label.astype(np.int8),
        "is_gold": tasks["is_gold"].to_numpy()[t],
        "review": review.astype(np.int8),
        "created_ms": created,
        "assigned_ms": assigned,
        "accepted_ms": accepted,
        "started_ms": started,
        "submitted_ms": submitted,
        "active_s": active_s,
        "assigned_day": cal.day_of(assigned).astype(np.int32),
        "event_day": event_day.astype(np.int32),
    })


def route_late(rng: np.random.Generator, judgments: pd.DataFrame, late_rate: float, last_day: int) -> pd.DataFrame:
    """file_day = event day, except ~late_rate of rows that land in the export of day +1 or +2.

    A row can only be late into a day that is generated; on the last day nothing is late.
    """
    n = len(judgments)
    event_day = judgments["event_day"].to_numpy()
    lag = np.where(rng.random(n) < late_rate, rng.choice([1, 2], n, p=[0.7, 0.3]), 0)
    file_day = np.minimum(event_day + lag, np.maximum(event_day, last_day))
    return judgments.assign(file_day=file_day.astype(np.int32))


def day_arrivals(w: Workforce, cal: Calendar, day: int, seed: int, judgments_per_day: int,
                 late_rate: float, gold_rate: float, review_rate: float) -> DayArrivals:
    """The day's tasks (with truth and completion) and their judgments that fall inside the range."""
    rng = np.random.default_rng([seed, 1, day])
    tasks = tasks_for_day(rng, cal, day, judgments_per_day, gold_rate)
    judgments = judgments_for_tasks(rng, w, cal, day, tasks, review_rate)
    judgments = route_late(np.random.default_rng([seed, 2, day]), judgments, late_rate, cal.days - 1)

    sub = judgments[judgments["status"] == SUBMITTED]
    per_task = sub.groupby("task_seq")["submitted_ms"].agg(["size", "max"])
    planned = per_task["size"].reindex(tasks["task_seq"], fill_value=0).to_numpy()
    completed = per_task["max"].reindex(tasks["task_seq"], fill_value=NO_TIME).to_numpy()
    tasks = tasks.assign(
        planned_labels=planned.astype(np.int8),
        completed_ms=completed.astype(np.int64),
        open_at_end=(planned == 0) | (completed >= cal.end_ms),
    )
    # Slots offered after the last generated day leave no trace in any export.
    judgments = judgments[judgments["assigned_day"] < cal.days].reset_index(drop=True)
    return DayArrivals(tasks=tasks, judgments=judgments)
