"""The platform's system log, derived from judgments: offers, accepts, expiries and sessions.

Events are made on the day their judgments were assigned (all of that day's
assignments are known by then); an event past midnight waits in the carry-over
buffer for its own day's file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.synth import params as P
from experiments.synth.arrivals import EXPIRED
from experiments.synth.clock import NO_TIME, Calendar
from schemas.reference import EVENT_TYPES

OFFERED, ACCEPTED, EXPIRED_EVENT, SESSION_START, SESSION_END = range(len(EVENT_TYPES))
assert EVENT_TYPES[EXPIRED_EVENT] == "assignment_expired" and EVENT_TYPES[SESSION_END] == "session_end"

EVENT_COLUMNS = ["ev_day", "ev_seq", "event_type", "ts_ms", "labeler", "task_day", "task_seq", "queue", "file_day"]


def events_for_day(rng: np.random.Generator, cal: Calendar, day: int, assigned: pd.DataFrame) -> pd.DataFrame:
    """Events of the judgments assigned on ``day``, plus one session per labeler who worked.

    ``ev_day``/``ev_seq`` make the event id; the session id is derived from (labeler, day).
    """
    j = assigned.sort_values(["assigned_ms", "task_day", "task_seq", "jseq"], kind="stable")
    n = len(j)
    assigned_ms = j["assigned_ms"].to_numpy()
    expired = j["status"].to_numpy() == EXPIRED
    second_ts = np.where(expired, assigned_ms + int(P.OFFER_TIMEOUT_SECONDS * 1000), j["accepted_ms"].to_numpy())
    lab = j["labeler"].to_numpy()

    # Activity ends at submission, or when the labeler stopped working on it, or at the offer timeout.
    started = j["started_ms"].to_numpy()
    active_ms = np.nan_to_num(j["active_s"].to_numpy() * 1000).astype(np.int64)
    end = np.where(j["submitted_ms"].to_numpy() != NO_TIME, j["submitted_ms"].to_numpy(),
                   np.where(started != NO_TIME, started + active_ms, second_ts))
    sess = pd.DataFrame({"labeler": lab, "first": assigned_ms, "last": end}).groupby("labeler", sort=True).agg(
        first=("first", "min"), last=("last", "max"))
    s = len(sess)
    # Log in a few minutes before the first offer, but not before midnight (that day's log is closed).
    first = sess["first"].to_numpy()
    lead = np.minimum(rng.integers(60_000, 900_000, s), ((first - cal.day_start_ms(day)) * rng.random(s)).astype(np.int64))
    sess_start = first - lead
    sess_end = sess["last"].to_numpy() + rng.integers(30_000, 300_000, s)

    job = {
        "event_type": np.concatenate([np.full(n, OFFERED), np.where(expired, EXPIRED_EVENT, ACCEPTED)]),
        "ts_ms": np.concatenate([assigned_ms, second_ts]),
        "labeler": np.concatenate([lab, lab]),
        "task_day": np.concatenate([j["task_day"].to_numpy()] * 2),
        "task_seq": np.concatenate([j["task_seq"].to_numpy()] * 2),
        "queue": np.concatenate([j["queue"].to_numpy()] * 2),
    }
    sessions = {
        "event_type": np.concatenate([np.full(s, SESSION_START), np.full(s, SESSION_END)]),
        "ts_ms": np.concatenate([sess_start, sess_end]),
        "labeler": np.concatenate([sess.index.to_numpy()] * 2),
        "task_day": np.full(2 * s, -1),
        "task_seq": np.full(2 * s, -1),
        "queue": np.full(2 * s, -1),
    }
    out = pd.DataFrame({c: np.concatenate([job[c], sessions[c]]) for c in job})
    out.insert(0, "ev_seq", np.arange(len(out), dtype=np.int64))
    out.insert(0, "ev_day", day)
    out["file_day"] = cal.day_of(out["ts_ms"].to_numpy())
    return out.astype({"event_type": np.int8, "labeler": np.int32, "task_day": np.int32, "task_seq": np.int32,
                       "queue": np.int8, "ev_day": np.int32, "file_day": np.int32})[EVENT_COLUMNS]
