"""Count-map merges and sketch quantiles as Arrow UDFs against Spark's higher-order functions.

On an existing lake (a demo's, or ``bench/features.py --keep DIR``), plans the features run of
``--date`` as the job would, then builds every table of that range to a no-op sink in one warm
session two ways, one warm-up each, then ``--rounds`` interleaved rounds:

- ``hof``: the baseline - ``merge_count_maps`` as ``aggregate`` over ``map_zip_with`` and
  ``sketch_quantiles`` as one fold over the sorted buckets (the code before 2026-12-07, kept
  here as the reference);
- ``arrow``: the pipeline's ``features.sketch`` (numpy kernels in Arrow UDFs).

Both give the same tables (the kernels' own tests: tests/test_features_count_maps.py; the whole
build: docs/features.md, "What the sketches cost"). Last line: one JSON object with the medians
and ``arrow_over_hof``.

    .venv/bin/python bench/count_maps.py --lake demo/lakehouse --date 2026-01-11 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# bench/ holds a features.py of its own: off the path, so that ``import features`` is the package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

from pyspark.sql import Column  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from bench.feature_ab import add_lake_arguments, interleaved_builds  # noqa: E402


def hof_merge_count_maps(maps: Column, key_type: str = "int") -> Column:
    """The baseline merge: a fold of ``map_zip_with`` over the array, interpreted by Spark."""
    from features.sketch import empty_count_map

    present = F.filter(F.coalesce(maps, F.array()), lambda m: m.isNotNull())
    return F.aggregate(
        present, empty_count_map(key_type),
        lambda acc, m: F.map_zip_with(acc, m, lambda _k, a, b: F.coalesce(a, F.lit(0)) + F.coalesce(b, F.lit(0))),
    )


def hof_sketch_quantiles(sketch: Column, qs: Sequence[float], spec) -> Column:
    """The baseline quantiles: sort the buckets, one fold carrying the running count and ranks."""
    from features.sketch import sketch_bucket_value

    entries = F.array_sort(F.map_entries(F.map_filter(sketch, lambda _k, v: v > 0)))
    total = F.aggregate(F.map_values(sketch), F.lit(0).cast("long"),
                        lambda acc, v: acc + F.greatest(v, F.lit(0).cast("long")))
    n = len(qs)
    init = F.struct(F.lit(0).cast("long").alias("cum"),
                    *[F.lit(None).cast("int").alias(f"idx{i}") for i in range(n)],
                    *[F.floor(F.lit(float(q)) * (total - F.lit(1))).cast("long").alias(f"rank{i}")
                      for i, q in enumerate(qs)])

    def step(acc: Column, e: Column) -> Column:
        after = acc["cum"] + e["value"]
        return F.struct(after.alias("cum"),
                        *[F.coalesce(acc[f"idx{i}"], F.when(after > acc[f"rank{i}"], e["key"])).alias(f"idx{i}")
                          for i in range(n)],
                        *[acc[f"rank{i}"].alias(f"rank{i}") for i in range(n)])

    found = F.aggregate(entries, init, step)
    return F.struct(*[sketch_bucket_value(found[f"idx{i}"], spec).alias(f"q{i}") for i in range(n)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_lake_arguments(parser, rounds=3)
    args = parser.parse_args(argv)

    import features.sketch as sk
    import features.windows as win

    arrow = (sk.merge_count_maps, sk.sketch_quantiles)

    def use(merge: Callable, quantiles: Callable) -> None:
        # windows.py imported the names; sketch.py's own helpers (merge_count_maps_agg,
        # sketch_quantile) look them up in their module at call time.
        sk.merge_count_maps, sk.sketch_quantiles = merge, quantiles
        win.merge_count_maps, win.sketch_quantiles = merge, quantiles

    result = interleaved_builds(
        args, "bench-count-maps",
        ways=lambda _n: {"hof": lambda: use(hof_merge_count_maps, hof_sketch_quantiles), "arrow": lambda: use(*arrow)},
        restore=lambda: use(*arrow))
    hof, new = result.median("hof"), result.median("arrow")
    print(json.dumps({"as_of_days": result.as_of_days, "hof_s_median": hof, "arrow_s_median": new,
                      "arrow_over_hof": round(new / hof, 3), "runs": result.runs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
