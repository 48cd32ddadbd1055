"""The labeler workforce: who they are, how good and fast, when they work, how the roster evolves.

Built once for the whole horizon (hires, leaves, suspensions and offboardings are
planned up front), so every day's roster, the eligibility of a labeler for a task and
the truth file all read the same plan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from experiments.synth import params as P
from experiments.synth.skill import SPAMMER, build_confusions
from schemas.raw import LIST_SEPARATOR
from schemas.reference import LABELER_STATUSES, LANGUAGES, SITES

ACTIVE, INACTIVE, SUSPENDED, OFFBOARDED = (P.LABELER_STATUS_CODE[s] for s in LABELER_STATUSES)
NOT_HIRED = -1
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass
class Workforce:
    """Per-labeler arrays (index = labeler number) plus the day-by-day status plan."""

    start: date
    ids: np.ndarray            # str
    archetype: np.ndarray      # int, index into params.ARCHETYPES
    spammer_constant: np.ndarray  # bool: a spammer that always gives one label
    speed: np.ndarray          # handling-time multiplier (lognormal; spammers fast)
    drift_per_30d: np.ndarray  # accuracy change per 30 days (0 for spammers)
    confusion: np.ndarray      # (n, queues, K_MAX, K_MAX)
    certified: np.ndarray      # (n, queues) bool
    speaks: np.ndarray         # (n, languages) bool
    site: np.ndarray           # int index into SITES
    hourly_cost: np.ndarray
    shift_hours: np.ndarray
    shift_start_min: np.ndarray  # minutes after 00:00 UTC
    workdays: np.ndarray       # (n, 7) bool, Mon..Sun
    hired_day: np.ndarray      # day index relative to start (negative: before)
    status: np.ndarray         # (n, days + HORIZON_DAYS + 1) int8, NOT_HIRED before hire
    client_platform: np.ndarray
    client_lag: np.ndarray     # days a labeler lags behind a client release
    weight: np.ndarray         # share of work offered, before eligibility

    def __len__(self) -> int:
        return len(self.ids)

    def eligible_through(self, day: int, horizon: int = P.HORIZON_DAYS) -> np.ndarray:
        """Labelers active on every day from ``day`` to ``day + horizon``."""
        return (self.status[:, day : day + horizon + 1] == ACTIVE).all(axis=1)

    def client_version(self, labeler: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Version strings like 'web-4.12.1': releases every two weeks, adopted with a lag."""
        release = np.maximum(0, (day - self.client_lag[labeler] + 42) // P.RELEASE_EVERY_DAYS)
        web = np.strings.add(
            np.strings.add("web-4.", (10 + release // 3).astype(np.str_)),
            np.strings.add(".", (release % 3).astype(np.str_)),
        )
        desktop = np.strings.add(
            np.strings.add("desktop-2.", (release // 2).astype(np.str_)),
            np.strings.add(".", (release % 2).astype(np.str_)),
        )
        return np.where(self.client_platform[labeler] == 0, web, desktop)


def build_workforce(rng: np.random.Generator, start: date, days: int, n_initial: int) -> Workforce:
    """Draw the initial roster plus the hires of the horizon, with their status plans."""
    n_hires = int(rng.poisson(P.HIRE_RATE * n_initial * days))
    n = n_initial + n_hires
    archetype = rng.choice(len(P.ARCHETYPES), n, p=P.ARCHETYPE_P)
    is_spam = archetype == SPAMMER
    spammer_constant = is_spam & (rng.random(n) < 0.5)
    speed = np.exp(rng.normal(0.0, P.SPEED_SIGMA, n))
    speed[is_spam] = rng.uniform(*P.SPAMMER_SPEED, int(is_spam.sum()))
    hired_day = np.concatenate([
        -rng.integers(14, 1200, n_initial),
        np.sort(rng.integers(1, max(2, days), n_hires)),
    ])
    # Some improve, some degrade, most hold steady; new hires tend to improve.
    trend = rng.choice(3, n, p=[0.3, 0.4, 0.3])
    drift = np.where(trend == 0, -rng.uniform(0.01, 0.05, n), np.where(trend == 2, rng.uniform(0.01, 0.05, n), 0.0))
    drift = np.where(hired_day > 0, rng.uniform(0.02, 0.06, n), drift)
    drift = np.round(np.where(is_spam, 0.0, drift), 4)
    confusion = build_confusions(rng, archetype, spammer_constant)

    n_cert = rng.choice(len(P.CERTIFIED_COUNT_P), n, p=P.CERTIFIED_COUNT_P)
    order = np.argsort(rng.random((n, len(P.QUEUE_NAMES))), axis=1)
    certified = np.argsort(order, axis=1) < n_cert[:, None]
    speaks = rng.random((n, len(LANGUAGES))) < np.array(list(P.LABELER_LANGUAGE_P.values()))
    speaks[~speaks.any(axis=1), 0] = True

    site = rng.choice(len(SITES), n, p=P.SITE_P)
    cost_lo, cost_hi = P.SITE_HOURLY_COST[site, 0], P.SITE_HOURLY_COST[site, 1]
    hourly_cost = rng.uniform(cost_lo, cost_hi) * np.where(archetype == 0, 1.15, 1.0)
    shift_hours = rng.choice(P.SHIFT_HOURS, n, p=P.SHIFT_HOURS_P)
    base = P.SITE_SHIFT_START_UTC[site]
    base = np.where(base < 0, rng.integers(0, 24, n), base)
    shift_start_min = ((base * 60 + rng.integers(-4, 5, n) * 30) % 1440).astype(np.int64)
    workdays = P.WORK_PATTERNS[rng.choice(len(P.WORK_PATTERNS), n, p=P.WORK_PATTERN_P)]

    status = _status_plan(rng, hired_day, is_spam, days + P.HORIZON_DAYS + 1)
    _guarantee_pools(rng, certified, speaks, is_spam, status)
    capacity = shift_hours * workdays.sum(axis=1) / 5.0
    return Workforce(
        start=start,
        ids=np.strings.add("lab-", np.strings.zfill(np.arange(1, n + 1).astype(np.str_), 6)),
        archetype=archetype,
        spammer_constant=spammer_constant,
        speed=np.round(speed, 4),
        drift_per_30d=drift,
        confusion=confusion,
        certified=certified,
        speaks=speaks,
        site=site,
        hourly_cost=np.round(hourly_cost, 2),
        shift_hours=shift_hours,
        shift_start_min=shift_start_min,
        workdays=workdays,
        hired_day=hired_day,
        status=status,
        client_platform=rng.choice(len(P.CLIENT_PLATFORMS), n, p=P.CLIENT_PLATFORM_P),
        client_lag=rng.integers(0, 21, n),
        weight=capacity / np.sqrt(speed),
    )


def _status_plan(rng: np.random.Generator, hired_day: np.ndarray, is_spam: np.ndarray, n_days: int) -> np.ndarray:
    """(labelers, n_days) status codes: at most one leave, one suspension and one offboarding each."""
    n = len(hired_day)
    first = np.maximum(hired_day, 0)
    day = np.arange(n_days)[None, :]
    never = 10**9

    leave_start = np.where(rng.random(n) < P.LEAVE_RATE * (n_days + 10), first + rng.integers(-10, n_days, n), never)
    leave_start = np.where(leave_start < hired_day, never, leave_start)
    leave_end = leave_start + rng.integers(2, 11, n)

    detected = first + rng.geometric(P.SPAMMER_DETECTION_RATE, n)
    other = first + rng.geometric(P.SUSPENSION_RATE, n)
    susp_start = np.where(is_spam, detected, other)
    susp_end = np.where(is_spam, never, susp_start + rng.integers(3, 11, n))
    offboard = first + rng.geometric(P.OFFBOARD_RATE, n)
    offboard = np.where(is_spam, np.minimum(offboard, susp_start + rng.integers(5, 16, n)), offboard)

    status = np.full((n, n_days), ACTIVE, dtype=np.int8)
    status[(day >= leave_start[:, None]) & (day < leave_end[:, None])] = INACTIVE
    status[(day >= susp_start[:, None]) & (day < susp_end[:, None])] = SUSPENDED
    status[day >= offboard[:, None]] = OFFBOARDED
    status[day < hired_day[:, None]] = NOT_HIRED
    return status


def _guarantee_pools(rng: np.random.Generator, certified: np.ndarray, speaks: np.ndarray,
                     is_spam: np.ndarray, status: np.ndarray) -> None:
    """Make sure every (queue, language) pair can be served at the start, even by a tiny roster."""
    usable = ~is_spam & (status[:, 0] == ACTIVE)
    for qi in range(certified.shape[1]):
        for li in range(speaks.shape[1]):
            have = int((usable & certified[:, qi] & speaks[:, li]).sum())
            if have >= P.MIN_POOL:
                continue
            candidates = np.flatnonzero(usable & ~(certified[:, qi] & speaks[:, li]))
            # Prefer people who already speak the language, then those already certified.
            rank = np.lexsort((rng.random(len(candidates)), ~certified[candidates, qi], ~speaks[candidates, li]))
            chosen = candidates[rank[: P.MIN_POOL - have]]
            certified[chosen, qi] = True
            speaks[chosen, li] = True


@dataclass
class RosterText:
    """The roster's columns as export text, precomputed once (only status changes by day)."""

    labeler_id: np.ndarray
    site: np.ndarray
    languages: np.ndarray
    certified_queues: np.ndarray
    hourly_cost: np.ndarray
    shift_hours: np.ndarray
    hired_at: np.ndarray


def roster_text(w: Workforce) -> RosterText:
    langs = np.array(LANGUAGES)
    queues = np.array(P.QUEUE_NAMES)
    hired = np.array([(w.start + timedelta(days=int(d))).isoformat() for d in w.hired_day])
    return RosterText(
        labeler_id=w.ids,
        site=np.array(SITES)[w.site],
        languages=np.array([LIST_SEPARATOR.join(langs[row]) for row in w.speaks]),
        certified_queues=np.array([LIST_SEPARATOR.join(queues[row]) for row in w.certified]),
        hourly_cost=np.array([repr(float(x)) for x in w.hourly_cost]),
        shift_hours=np.array([repr(float(x)) for x in w.shift_hours]),
        hired_at=hired,
    )


def roster_frame(w: Workforce, text: RosterText, day: int) -> pd.DataFrame:
    """The full roster snapshot of one day (everyone hired by then), as export text."""
    status = w.status[:, day]
    keep = status != NOT_HIRED
    return pd.DataFrame({
        "labeler_id": text.labeler_id[keep],
        "site": text.site[keep],
        "languages": text.languages[keep],
        "certified_queues": text.certified_queues[keep],
        "hourly_cost": text.hourly_cost[keep],
        "shift_hours": text.shift_hours[keep],
        "hired_at": text.hired_at[keep],
        "status": np.array(LABELER_STATUSES)[status[keep]],
    }, dtype=object)


def truth_frame(w: Workforce) -> pd.DataFrame:
    """truth/labelers.csv: archetype, speed, drift and per-queue accuracy / confusion as JSON."""
    prior = P.class_prior_matrix()
    acc_json, conf_json = [], []
    for i in range(len(w)):
        acc, conf = {}, {}
        for qi, q in enumerate(P.QUEUE_NAMES):
            k = int(P.QUEUE_K[qi])
            m = w.confusion[i, qi, :k, :k]
            acc[q] = round(float(prior[qi, :k] @ np.diag(m)), 6)
            conf[q] = [[float(x) for x in row] for row in m]
        acc_json.append(json.dumps(acc, separators=(",", ":")))
        conf_json.append(json.dumps(conf, separators=(",", ":")))
    mode = np.where(w.archetype == SPAMMER, np.where(w.spammer_constant, "constant", "uniform"), "")
    start_h, start_m = divmod(w.shift_start_min, 60)
    return pd.DataFrame({
        "labeler_id": w.ids,
        "archetype": np.array(P.ARCHETYPES)[w.archetype],
        "spammer_mode": mode,
        "speed_factor": w.speed,
        "drift_per_30d": w.drift_per_30d,
        "drift_origin": w.start.isoformat(),
        "hired_at": [(w.start + timedelta(days=int(d))).isoformat() for d in w.hired_day],
        "shift_start_utc": [f"{h:02d}:{m:02d}" for h, m in zip(start_h, start_m, strict=True)],
        "shift_hours": w.shift_hours,
        "workdays": [LIST_SEPARATOR.join(np.array(WEEKDAY_NAMES)[row]) for row in w.workdays],
        "accuracy": acc_json,
        "confusion": conf_json,
    })
