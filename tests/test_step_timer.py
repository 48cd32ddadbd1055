"""StepTimer: the figures behind the jobs' "where the time went" log lines."""

from __future__ import annotations

import threading
import time

from infra.step_timer import StepTimer, slowest_first


def test_steps_add_up_by_name_and_the_summary_puts_the_slowest_first() -> None:
    timer = StepTimer()
    with timer.step("quick"):
        time.sleep(0.01)
    with timer.step("slow"):
        time.sleep(0.05)
    with timer.step("quick"):  # a step timed twice adds up
        time.sleep(0.01)
    assert set(timer.step_seconds) == {"quick", "slow"}
    assert 0.02 <= timer.step_seconds["quick"] < timer.step_seconds["slow"]
    assert sum(timer.step_seconds.values()) <= timer.seconds
    timer.stop()
    summary = timer.summary()
    assert summary.startswith(f"{timer.seconds:.1f}s: ")
    assert summary.index("slow ") < summary.index("quick ")


def test_a_step_that_fails_is_still_timed_and_stop_freezes_the_total() -> None:
    timer = StepTimer()
    try:
        with timer.step("failing"):
            raise ValueError("boom")
    except ValueError:
        pass
    assert "failing" in timer.step_seconds
    timer.stop()
    frozen = timer.seconds
    time.sleep(0.02)
    assert timer.seconds == frozen


def test_slowest_first_formats_seconds_to_a_tenth() -> None:
    assert slowest_first({"a": 1.04, "b": 2.96}, 4.5) == "4.5s: b 3.0s, a 1.0s"
    assert slowest_first({}, 0.0) == "0.0s: "


def test_lanes_side_by_side_each_make_a_path_that_fits_in_the_whole() -> None:
    timer = StepTimer()
    with timer.step("shared"):
        time.sleep(0.01)

    def branch(lane: str) -> None:
        with timer.step(f"{lane}_step", lane):
            time.sleep(0.1)

    threads = [threading.Thread(target=branch, args=(lane,)) for lane in ("left", "right")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    timer.stop()
    # overlapping steps add up to more than the whole; each sequential path does not
    assert sum(timer.step_seconds.values()) > timer.seconds
    paths = timer.path_seconds
    assert set(paths) == {"left", "right"}
    assert all(timer.step_seconds["shared"] + 0.1 <= s <= timer.seconds for s in paths.values())
    assert timer.summary().endswith(f"(side by side: left path {paths['left']:.1f}s, "
                                    f"right path {paths['right']:.1f}s)")
    assert StepTimer().path_seconds == {}  # nothing ran side by side
