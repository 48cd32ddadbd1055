"""Where a long computation's time went, for the job logs: steps timed by name, slowest first.

A job's computation runs many Spark queries between two log lines; a user watching the log
(or a run row in ``_ops/runs``) otherwise sees only one long silence.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


def slowest_first(step_seconds: Mapping[str, float], total: float) -> str:
    """``"30.5s: task_features 5.5s, labeler_features 4.7s, ..."``."""
    slowest = sorted(step_seconds.items(), key=lambda kv: -kv[1])
    return f"{total:.1f}s: " + ", ".join(f"{name} {s:.1f}s" for name, s in slowest)


class StepTimer:
    """Seconds per named step (a step timed twice adds up) and since the timer started."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.stopped: float | None = None
        self.step_seconds: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.step_seconds[name] = self.step_seconds.get(name, 0.0) + time.perf_counter() - t0

    def stop(self) -> None:
        """Freeze ``seconds`` (what comes after is not this computation's)."""
        self.stopped = time.perf_counter()

    @property
    def seconds(self) -> float:
        return (self.stopped or time.perf_counter()) - self.started

    def summary(self) -> str:
        return slowest_first(self.step_seconds, self.seconds)
