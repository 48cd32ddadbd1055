"""``labelops``: one entry point for people and tests.

Subcommands live in ``jobs/commands/<name>.py``; each exposes ``register(subparsers)``
and sets ``func`` on its parser. Modules are imported lazily so ``labelops --help``
and light commands stay fast (no Spark, no Airflow import until needed).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import jobs.commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labelops",
        description="Labeling-operations pipeline: raw exports -> bronze -> silver -> features -> "
        "confidence -> allocation, on Spark + Delta, gated by Great Expectations, scheduled by Airflow.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(jobs.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"jobs.commands.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if rest and not getattr(args, "passthrough", False):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if getattr(args, "passthrough", False):
        args.rest = rest
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
