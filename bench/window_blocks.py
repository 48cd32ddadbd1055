"""Window maps merged in blocks or once per as-of day: the whole feature computation both ways.

On an existing lake (a demo's, or ``bench/features.py --keep DIR``), plans the features run of
``--date`` as the job would, then builds every table of that range to a no-op sink in one warm
session, with ``features.windows.MIN_BLOCK_AS_OF_DAYS`` set so that the run merges once per as-of
day ("single") or in blocks ("blocks"), one warm-up each, then ``--rounds`` interleaved rounds.
It is the measurement behind the threshold (docs/features.md, "Window merges in blocks").
Last line: one JSON object.

    .venv/bin/python bench/window_blocks.py --lake demo/lakehouse --date 2026-01-11 --rounds 4
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# bench/ holds a features.py of its own: off the path, so that ``import features`` is the package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

from bench.feature_ab import add_lake_arguments, interleaved_builds  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_lake_arguments(parser, rounds=4)
    args = parser.parse_args(argv)

    import features.windows as win

    default = win.MIN_BLOCK_AS_OF_DAYS

    def threshold(value: int) -> None:
        win.MIN_BLOCK_AS_OF_DAYS = value

    result = interleaved_builds(
        args, "bench-window-blocks",
        ways=lambda n_days: {"single": lambda: threshold(n_days + 1), "blocks": lambda: threshold(1)},
        restore=lambda: threshold(default))
    single, blocks = result.median("single"), result.median("blocks")
    print(json.dumps({"as_of_days": result.as_of_days, "single_merge_s_median": single, "blocks_s_median": blocks,
                      "blocks_over_single": round(blocks / single, 3),
                      "uses_blocks_by_default": win.merges_in_blocks(result.as_of_days), "runs": result.runs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
