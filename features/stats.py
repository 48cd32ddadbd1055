"""Statistical column functions: Columns in, Column out, null in -> null out.

Beta posterior for gold accuracy
--------------------------------
A labeler's gold accuracy is the posterior of a Beta-Binomial model: prior Beta(k*m, k*(1-m))
with m = the queue's pooled gold accuracy and k pseudo-observations, so 3 correct golds out
of 3 give (3 + k*m) / (3 + k), not 100%.

The lower credible bound is the exact Beta quantile (``scipy.stats.beta.ppf``) in a vectorised
pandas UDF, not a normal approximation: the bound matters most for small samples, where the
posterior is skewed towards 1 and mean - z*sd is off by several points (and can leave
[0, 1]). It runs on window tables (entities x as-of days, thousands of rows), where one
Arrow round trip costs milliseconds.
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.functions import pandas_udf
from pyspark.sql.types import DoubleType


def safe_ratio(numerator: Column, denominator: Column) -> Column:
    """numerator / denominator; null when the denominator is 0 or either side is null."""
    return F.try_divide(numerator.cast("double"), denominator.cast("double"))


def beta_posterior_mean(successes: Column, trials: Column, prior_mean: Column, strength: float) -> Column:
    """(successes + k*m) / (trials + k)."""
    k = F.lit(float(strength))
    return (successes.cast("double") + k * prior_mean) / (trials.cast("double") + k)


@pandas_udf(DoubleType())
def _beta_ppf(q: pd.Series, a: pd.Series, b: pd.Series) -> pd.Series:
    from scipy.stats import beta

    out = pd.Series(beta.ppf(q.to_numpy(dtype=float), a.to_numpy(dtype=float), b.to_numpy(dtype=float)))
    return out.where(out.notna(), None)


def beta_quantile(q: Column, a: Column, b: Column) -> Column:
    """Quantile q of Beta(a, b); null unless a > 0, b > 0 and q in [0, 1]."""
    valid = (a > 0) & (b > 0) & q.between(0.0, 1.0)
    return F.when(valid, _beta_ppf(q.cast("double"), a.cast("double"), b.cast("double")))


def beta_lower_bound(successes: Column, trials: Column, prior_mean: Column, strength: float,
                     quantile: float) -> Column:
    """The ``quantile`` of the Beta posterior (e.g. 0.05: a one-sided 95% lower credible bound)."""
    k = F.lit(float(strength))
    a = successes.cast("double") + k * prior_mean
    b = trials.cast("double") - successes.cast("double") + k * (F.lit(1.0) - prior_mean)
    return beta_quantile(F.lit(float(quantile)), a, b)


def label_entropy(counts: Column) -> Column:
    """Shannon entropy in bits of a label -> count map: 0 = unanimous, log2(k) = evenly split.

    Null for a null map or one with no counts. (The total rides in the accumulator so that it is
    computed once, not once per label.)"""
    values = F.filter(F.map_values(counts), lambda c: c > 0)
    total = F.aggregate(values, F.lit(0).cast("long"), lambda acc, c: acc + c)
    init = F.struct(F.lit(0.0).cast("double").alias("h"), total.cast("double").alias("n"))
    entropy = F.aggregate(
        values, init,
        lambda acc, c: F.struct((acc["h"] - (c / acc["n"]) * F.log2(c / acc["n"])).alias("h"), acc["n"].alias("n")),
    )["h"]
    return F.when(total > 0, F.abs(entropy))


def decay_weight(age_days: Column, half_life_days: float) -> Column:
    """0.5 ** (age / half-life): weight 1 today, 1/2 one half-life ago."""
    return F.pow(F.lit(0.5), age_days.cast("double") / F.lit(float(half_life_days)))
