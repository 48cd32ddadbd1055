"""Calibration on gold tasks: reliability bins, expected calibration error, the diagram.

Bins are equal-width on confidence over [0, 1] (bin b holds b/B <= c < (b+1)/B; c = 1
goes to the last bin). ECE = sum over bins of (n_b / N) * |accuracy_b - mean confidence_b|,
computed as sum_b |correct_b - confidence_sum_b| / N. The same ``ReliabilityBins`` comes
from numpy arrays (local engine) or from a Spark aggregation (pipeline), so both report
the same number for the same data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

N_BINS = 10


@dataclass(frozen=True)
class ReliabilityBins:
    count: np.ndarray           # (B,) gold tasks per bin
    confidence_sum: np.ndarray  # (B,)
    correct_sum: np.ndarray     # (B,)

    @property
    def n(self) -> int:
        return int(self.count.sum())

    @property
    def n_bins(self) -> int:
        return int(self.count.size)

    def ece(self) -> float | None:
        """Expected calibration error; None when there is no gold task."""
        if self.n == 0:
            return None
        return float(np.abs(self.correct_sum - self.confidence_sum).sum() / self.n)

    def accuracy(self) -> float | None:
        return float(self.correct_sum.sum() / self.n) if self.n else None

    def per_bin(self) -> list[dict]:
        rows = []
        for b in range(self.n_bins):
            c = int(self.count[b])
            rows.append({"bin": b, "lower": b / self.n_bins, "upper": (b + 1) / self.n_bins, "n": c,
                         "confidence": self.confidence_sum[b] / c if c else None,
                         "accuracy": self.correct_sum[b] / c if c else None})
        return rows


def bin_of(confidence: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    return np.minimum(np.floor(np.asarray(confidence) * n_bins).astype(np.int64), n_bins - 1)


def bins_from_arrays(confidence: np.ndarray, is_correct: np.ndarray, n_bins: int = N_BINS) -> ReliabilityBins:
    confidence = np.asarray(confidence, dtype=np.float64)
    b = bin_of(confidence, n_bins)
    return ReliabilityBins(
        count=np.bincount(b, minlength=n_bins).astype(np.float64),
        confidence_sum=np.bincount(b, weights=confidence, minlength=n_bins),
        correct_sum=np.bincount(b, weights=np.asarray(is_correct, dtype=np.float64), minlength=n_bins))


def calibration_bins_df(scored_df: DataFrame, n_bins: int = N_BINS, by: Sequence[str] = ()) -> DataFrame:
    """(*by, bin, n, confidence_sum, correct_sum) over rows with a confidence and a gold label.

    Expects ``confidence``, ``label`` and ``gold_label`` columns; rows missing any are skipped."""
    b = F.least(F.floor(F.col("confidence") * F.lit(n_bins)), F.lit(n_bins - 1)).cast("int")
    return (scored_df
            .where(F.col("confidence").isNotNull() & F.col("gold_label").isNotNull()
                   & F.col("label").isNotNull())
            .select(*by, b.alias("bin"), F.col("confidence"),
                    (F.col("label") == F.col("gold_label")).cast("double").alias("correct"))
            .groupBy(*by, "bin")
            .agg(F.count(F.lit(1)).alias("n"), F.sum("confidence").alias("confidence_sum"),
                 F.sum("correct").alias("correct_sum")))


def bins_from_rows(rows: Iterable, n_bins: int = N_BINS) -> ReliabilityBins:
    """ReliabilityBins from the (at most n_bins) rows of ``calibration_bins_df``."""
    count, conf, correct = np.zeros(n_bins), np.zeros(n_bins), np.zeros(n_bins)
    for r in rows:
        count[r["bin"]], conf[r["bin"]], correct[r["bin"]] = r["n"], r["confidence_sum"], r["correct_sum"]
    return ReliabilityBins(count, conf, correct)


def merge_bins(bins: Iterable[ReliabilityBins], n_bins: int = N_BINS) -> ReliabilityBins:
    total = ReliabilityBins(np.zeros(n_bins), np.zeros(n_bins), np.zeros(n_bins))
    for b in bins:
        total = ReliabilityBins(total.count + b.count, total.confidence_sum + b.confidence_sum,
                                total.correct_sum + b.correct_sum)
    return total


def write_reliability_png(bins: ReliabilityBins, path: str | Path, title: str) -> Path:
    """Reliability diagram: accuracy per confidence bin against the diagonal, counts below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    centers = (np.arange(bins.n_bins) + 0.5) / bins.n_bins
    width = 1.0 / bins.n_bins
    with np.errstate(divide="ignore", invalid="ignore"):
        acc = np.where(bins.count > 0, bins.correct_sum / bins.count, np.nan)
        conf = np.where(bins.count > 0, bins.confidence_sum / bins.count, np.nan)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(5, 6), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    top.bar(centers, np.nan_to_num(acc), width=width * 0.9, color="#4c72b0", alpha=0.8, label="accuracy")
    top.plot(conf, acc, "o", color="#dd8452", label="accuracy at the bin's mean confidence")
    ece = bins.ece()
    top.set_title(f"{title}\nECE = {ece:.4f} on {bins.n} gold tasks" if ece is not None
                  else f"{title}\nno gold tasks")
    top.set_ylabel("accuracy on gold")
    top.set_ylim(0, 1)
    top.legend(loc="upper left", fontsize=8)
    bottom.bar(centers, bins.count, width=width * 0.9, color="grey")
    bottom.set_xlabel("confidence (max posterior)")
    bottom.set_ylabel("tasks")
    bottom.set_xlim(0, 1)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
