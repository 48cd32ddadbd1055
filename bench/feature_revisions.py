"""The feature build of two code revisions, interleaved in one warm session.

Separate processes of one revision each differ by +-30 % on this kind of machine from one
minute to the next (docs/runtime.md); a code change worth 10 % needs both revisions timed side
by side. This loads the ``--modules`` of ``features/`` as they were at ``--old-rev`` (``git
show``) next to the working tree's, and builds the planned range of ``--date`` to a no-op sink
with each, one warm-up each, then ``--rounds`` interleaved rounds (``bench/feature_ab.py``).

How the old code runs: each old module is loaded under a private name, with its imports of
the other listed modules pointed at their old copies; for the ``old`` builds every function the
old module defines replaces the working tree's in the live ``features`` module (``build.py``
looks them up there at call time). Modules not listed are shared; a live module that imported a
changed function by name keeps it, so list that module too. Python UDFs defined in an
old module run the working tree's copy in the Python workers (they are pickled by reference),
so list modules whose Arrow/pandas kernels differ only after checking the tables agree.

Last line: one JSON object with the medians and ``new_over_old``.

    .venv/bin/python bench/feature_revisions.py --lake demo/lakehouse --date 2026-01-11 \\
        --old-rev ba82836 --modules task,windows,queue_daily,confusion --rounds 5
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# bench/ holds a features.py of its own: off the path, so that ``import features`` is the package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

from bench.feature_ab import add_lake_arguments, interleaved_builds  # noqa: E402

OLD_PREFIX = "_old_features_"


def old_source(rev: str, module: str, others: list[str]) -> str:
    """``features/<module>.py`` at ``rev``, its imports of the other listed modules re-pointed."""
    text = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:features/{module}.py"],
                          check=True, capture_output=True, text=True).stdout
    for other in others:
        text = re.sub(rf"\bfrom features\.{other} import\b", f"from {OLD_PREFIX}{other} import", text)
        text = re.sub(rf"\bfrom features import {other} as\b", f"import {OLD_PREFIX}{other} as", text)
    return text


def load_old(rev: str, modules: list[str]) -> dict[str, types.ModuleType]:
    """The listed modules at ``rev`` as private modules (loaded in an order that satisfies
    their imports of each other: retried until all load)."""
    loaded: dict[str, types.ModuleType] = {}
    pending = list(modules)
    while pending:
        progress = False
        for name in list(pending):
            module = types.ModuleType(f"{OLD_PREFIX}{name}")
            module.__file__ = f"<{rev}:features/{name}.py>"
            sys.modules[module.__name__] = module
            try:
                exec(compile(old_source(rev, name, modules), module.__file__, "exec"), module.__dict__)  # noqa: S102
            except ImportError:
                del sys.modules[module.__name__]
                continue
            loaded[name] = module
            pending.remove(name)
            progress = True
        if not progress:
            raise ImportError(f"could not load {pending} of {rev}: their imports fail")
    return loaded


def functions_of(module: types.ModuleType) -> dict[str, object]:
    """The functions a module defines itself (not the ones it imports)."""
    return {k: v for k, v in vars(module).items() if isinstance(v, types.FunctionType) and v.__module__ == module.__name__}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_lake_arguments(parser, rounds=5)
    parser.add_argument("--old-rev", required=True, help="git revision of the baseline code")
    parser.add_argument("--modules", required=True,
                        help="comma-separated modules of features/ to take from --old-rev (e.g. task,windows)")
    args = parser.parse_args(argv)
    names = [m.strip() for m in args.modules.split(",") if m.strip()]

    live = {name: importlib.import_module(f"features.{name}") for name in names}
    old = load_old(args.old_rev, names)
    new_functions = {name: functions_of(live[name]) for name in names}
    old_functions = {name: functions_of(old[name]) for name in names}

    def use(functions: dict[str, dict[str, object]]) -> None:
        for name, table in functions.items():
            for attr, fn in table.items():
                setattr(live[name], attr, fn)

    def use_new() -> None:
        for name in names:  # drop the old-only names, then put the working tree's back
            for attr in set(old_functions[name]) - set(new_functions[name]):
                if hasattr(live[name], attr):
                    delattr(live[name], attr)
        use(new_functions)

    result = interleaved_builds(args, "bench-feature-revisions",
                                ways=lambda _n: {"old": lambda: use(old_functions), "new": use_new},
                                restore=use_new)
    before, after = result.median("old"), result.median("new")
    print(json.dumps({"old_rev": args.old_rev, "modules": names, "as_of_days": result.as_of_days,
                      "old_s_median": before, "new_s_median": after, "new_over_old": round(after / before, 3),
                      "runs": result.runs, "step_medians": result.step_medians}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
