"""Synthetic labeling platform: seeded exports (judgments, tasks, roster, events) plus hidden truth.

    from experiments.synth import generate, DirtConfig
    summary = generate("raw", date(2026, 1, 5), days=7, seed=7, judgments_per_day=100_000)

Pure numpy + pandas (no Spark). ``experiments.synth.truth`` reads the truth back.
"""

from __future__ import annotations

from experiments.synth.dirt import KIND_REASON, DirtConfig
from experiments.synth.generator import GenerationSummary, generate

__all__ = ["KIND_REASON", "DirtConfig", "GenerationSummary", "generate"]
