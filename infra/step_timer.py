"""Where a long computation's time went, for the job logs: steps timed by name, slowest first.

A job's computation runs many Spark queries between two log lines; a user watching the log
(or a run row in ``_ops/runs``) otherwise sees only one long silence.

Steps may run side by side in threads: such a step names its *lane*. Steps without a lane run
one after another, so each lane's steps plus the unlaned ones form one sequential path, and
every path fits in the whole (``path_seconds``); all the steps together may add up to more.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


def slowest_first(step_seconds: Mapping[str, float], total: float,
                  path_seconds: Mapping[str, float] | None = None) -> str:
    """``"30.5s: task_features 5.5s, labeler_features 4.7s, ..."``, and where lanes ran side by
    side ``" (side by side: labeler path 25.1s, task path 14.0s)"``."""
    slowest = sorted(step_seconds.items(), key=lambda kv: -kv[1])
    text = f"{total:.1f}s: " + ", ".join(f"{name} {s:.1f}s" for name, s in slowest)
    if path_seconds:
        text += " (side by side: " + ", ".join(f"{lane} path {s:.1f}s" for lane, s in path_seconds.items()) + ")"
    return text


class StepTimer:
    """Seconds per named step (a step timed twice adds up) and since the timer started."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.stopped: float | None = None
        self.step_seconds: dict[str, float] = {}
        self.step_lanes: dict[str, str] = {}  # steps run beside others, by name -> their lane

    @contextmanager
    def step(self, name: str, lane: str | None = None) -> Iterator[None]:
        """Time ``name``; ``lane`` when it runs in a thread beside other steps (one name, one lane)."""
        if lane is not None:
            self.step_lanes[name] = lane
        t0 = time.perf_counter()
        try:
            yield
        finally:  # threads time different names: each key has one writer
            self.step_seconds[name] = self.step_seconds.get(name, 0.0) + time.perf_counter() - t0

    def stop(self) -> None:
        """Freeze ``seconds`` (what comes after is not this computation's)."""
        self.stopped = time.perf_counter()

    @property
    def seconds(self) -> float:
        return (self.stopped or time.perf_counter()) - self.started

    @property
    def path_seconds(self) -> dict[str, float]:
        """Per lane: its steps plus the steps without a lane, part of one sequential path (a lane
        forked from another lane also waited for that one's steps before it), so each fits in
        ``seconds``. Empty when nothing ran side by side."""
        shared = sum(s for name, s in self.step_seconds.items() if name not in self.step_lanes)
        paths: dict[str, float] = {}
        for name, lane in self.step_lanes.items():
            paths[lane] = paths.get(lane, shared) + self.step_seconds.get(name, 0.0)
        return dict(sorted(paths.items()))  # by lane name: the threads' start order varies

    def summary(self) -> str:
        return slowest_first(self.step_seconds, self.seconds, self.path_seconds)
