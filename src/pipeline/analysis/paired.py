"""Paired statistics of the study: each experiment against its table's baseline.

A seed fixes the split (and under `corrected` the initialisation and batch order) for
every experiment, so runs of the same seed are paired: the statistic is the per-seed
difference experiment - baseline (test accuracy, percentage points), over the seeds
where both runs ended ok. From those n differences: their mean, a 95% t interval with
n-1 degrees of freedom, and the two-sided p value of "mean = 0".

A family is one table x protocol x head; within it Holm's step-down correction controls
the chance of any false "differs" at 5%. Verdicts against the seed study's direction
(its single-run difference of the same experiment minus the same baseline):

* ``holds``: Holm-adjusted p < 0.05 and the mean has the study's sign;
* ``reversed``: Holm-adjusted p < 0.05 and the opposite sign;
* ``no effect``: not significant and the whole 95% interval lies within ±margin;
* ``inconclusive``: anything else (the data can neither confirm nor rule out an effect
  of the margin's size).

The minimum detectable effect (MDE) of a family is the true mean difference that a
two-sided 5% paired t test detects with 80% power, from the exact noncentral t
distribution with the family's pooled paired SD and its smallest n.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

ALPHA = 0.05
POWER = 0.80
MARGIN = 2.0        # points: the default equivalence margin
VERDICTS = ("holds", "reversed", "no effect", "inconclusive")


@dataclass(frozen=True)
class Interval:
    n: int
    mean: float
    sd: float
    lo: float
    hi: float
    p: float


def ok_values(runs, experiment, protocol, metric):
    """{seed: value in points} of the runs that ended ok with a finite value."""
    if metric not in runs:
        return {}
    r = runs[(runs["experiment"] == experiment) & (runs["protocol"] == protocol)
             & (runs["status"] == "ok")]
    v = pd.to_numeric(r[metric], errors="coerce").to_numpy(dtype=float) * 100
    keep = np.isfinite(v)
    return dict(zip(r["seed"].to_numpy()[keep].tolist(), v[keep].tolist()))


def paired_differences(a, b):
    """a - b on the seeds both {seed: value} dicts hold, in seed order."""
    seeds = sorted(set(a) & set(b))
    return np.array([a[s] - b[s] for s in seeds], dtype=float)


def t_interval(d, level=1 - ALPHA):
    """Mean, sample SD, t interval (n-1 df) and two-sided p of paired differences d. All
    differences equal: a zero-width interval, p 0 (or 1 when they are all 0)."""
    d = np.asarray(d, dtype=float)
    n = len(d)
    if n < 2:
        m = float(d.mean()) if n else math.nan
        return Interval(n, m, math.nan, math.nan, math.nan, math.nan)
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    se = sd / math.sqrt(n)
    if se == 0:
        return Interval(n, mean, 0.0, mean, mean, 0.0 if mean != 0 else 1.0)
    q = stats.t.ppf(0.5 + level / 2, n - 1)
    p = 2 * stats.t.sf(abs(mean) / se, n - 1)
    return Interval(n, mean, sd, mean - q * se, mean + q * se, float(p))


def p_text(p, digits=3):
    """'< 0.001', '0.042' (digits decimals), or '-' for no p."""
    if not math.isfinite(p):
        return "-"
    return "< 0.001" if p < 0.001 else f"{p:.{digits}f}"


def interval_text(iv, p_digits=3):
    """'+1.2 [-0.4, +2.8], p 0.140' for an Interval in points; '-' below two pairs."""
    if iv.n < 2:
        return "-"
    return f"{iv.mean:+.1f} [{iv.lo:+.1f}, {iv.hi:+.1f}], p {p_text(iv.p, p_digits)}"


def holm(pvalues):
    """Holm-adjusted p values (NaN stays NaN and does not count): sort the m valid p
    ascending, multiply the i-th smallest (i from 0) by m - i, carry the running maximum,
    cap at 1. Rejecting adjusted p < alpha is Holm's step-down procedure."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, math.nan)
    valid = np.flatnonzero(np.isfinite(p))
    m = len(valid)
    running = 0.0
    for i, j in enumerate(valid[np.argsort(p[valid], kind="stable")]):
        running = max(running, min(1.0, (m - i) * p[j]))
        out[j] = running
    return out


def min_detectable_effect(sd, n, power=POWER, alpha=ALPHA):
    """Smallest true mean difference a two-sided paired t test at `alpha` detects with
    `power`, from the noncentral t distribution (df n-1, noncentrality delta*sqrt(n)/sd)."""
    if n < 2 or not math.isfinite(sd):
        return math.nan
    if sd == 0:
        return 0.0
    df = n - 1
    crit = stats.t.ppf(1 - alpha / 2, df)

    def short(delta):
        # the far tail (a significant difference of the wrong sign) is negligible where
        # scipy's noncentral t returns NaN for it, so NaN counts as 0 there
        nc = delta * math.sqrt(n) / sd
        far = float(np.nan_to_num(stats.nct.cdf(-crit, df, nc)))
        return stats.nct.sf(crit, df, nc) + far - power
    hi = sd
    while short(hi) < 0:
        hi *= 2
    return float(optimize.brentq(short, 0.0, hi, xtol=1e-9 * sd))


def pooled_sd(intervals):
    """SD pooled over intervals (weights n-1), and the smallest n among them."""
    usable = [iv for iv in intervals if iv.n >= 2 and math.isfinite(iv.sd)]
    if not usable:
        return math.nan, 0
    dof = sum(iv.n - 1 for iv in usable)
    return math.sqrt(sum((iv.n - 1) * iv.sd ** 2 for iv in usable) / dof), min(iv.n for iv in usable)


def verdict(iv, p_adjusted, study_diff, margin=MARGIN, alpha=ALPHA):
    """The verdict on one comparison (module docstring); 'too few pairs' below n = 2,
    'differs' when significant but the seed study gives no direction."""
    if iv.n < 2 or not math.isfinite(p_adjusted):
        return f"too few pairs (n={iv.n})"
    if p_adjusted < alpha:
        if study_diff is None or not math.isfinite(study_diff) or study_diff == 0:
            return "differs (no study direction)"
        return "holds" if np.sign(iv.mean) == np.sign(study_diff) else "reversed"
    if -margin <= iv.lo and iv.hi <= margin:
        return "no effect"
    return "inconclusive"


def compare_family(values, baseline, study, margin=MARGIN):
    """values: {experiment: {seed: points}} of one family; study: {experiment: the seed
    study's value or None}. One row per experiment other than the baseline: n, mean,
    sd, 95% interval, p, Holm-adjusted p, the study's difference and the verdict."""
    others = [e for e in values if e != baseline]
    ivs = [t_interval(paired_differences(values[e], values[baseline])) for e in others]
    p_adj = holm([iv.p for iv in ivs])
    rows = []
    for e, iv, pa in zip(others, ivs, p_adj):
        sd_ = (study[e] - study[baseline]) if study.get(e) is not None and \
            study.get(baseline) is not None else None
        rows.append({"experiment": e, "baseline": baseline, "n": iv.n, "diff": iv.mean,
                     "sd": iv.sd, "lo": iv.lo, "hi": iv.hi, "p": iv.p, "p_holm": pa,
                     "study_diff": sd_, "verdict": verdict(iv, pa, sd_, margin)})
    return pd.DataFrame(rows), ivs


def ranks(values, alpha=ALPHA):
    """{experiment: rank}: rank = 1 + the number of experiments significantly better,
    i.e. whose paired difference to it has a Holm-adjusted p < alpha (Holm over all
    pairs of the family) and a positive mean. Experiments no other one beats
    significantly share rank 1, and so on down: a rank is never split by a difference
    the data cannot tell from noise. Experiments without two ok pairs get no rank."""
    names = [e for e in values if len(values[e]) >= 2]
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    ivs = [t_interval(paired_differences(values[a], values[b])) for a, b in pairs]
    p_adj = holm([iv.p for iv in ivs])
    better = {e: 0 for e in names}
    for (a, b), iv, pa in zip(pairs, ivs, p_adj):
        if pa < alpha:
            better[b if iv.mean > 0 else a] += 1
    return {e: 1 + k for e, k in better.items()}


# ---------------------------------------------------------------------------------------
# one family per page: every comparison a page judges, corrected together

def prediction_interval(d, level=1 - ALPHA):
    """The interval that holds a single new paired difference with probability `level`
    (normal differences): mean +- t(n-1) * sd * sqrt(1 + 1/n). A single run, such as
    the seed study's, is judged against this, not against the mean's interval."""
    d = np.asarray(d, dtype=float)
    n = len(d)
    if n < 2:
        return math.nan, math.nan
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    half = stats.t.ppf(0.5 + level / 2, n - 1) * sd * math.sqrt(1 + 1 / n)
    return float(mean - half), float(mean + half)


def study_text(lo, hi, study_diff):
    """Is the seed study's single-run difference a plausible single paired run of ours?"""
    if study_diff is None or not math.isfinite(study_diff) or not math.isfinite(lo):
        return "-"
    return "plausible" if lo <= study_diff <= hi else "not plausible"


def judge_family(comparisons, margin=MARGIN, alpha=ALPHA):
    """Every comparison of one pre-declared family (a page), corrected together.

    comparisons: list of dicts {"key": ..., "a": {seed: points}, "b": {seed: points},
    "study_diff": the seed study's a - b or None}. One row each: n, mean difference a - b,
    sd, 95% interval, p, Holm-adjusted p over the whole family, verdict, the minimum
    detectable effect at alpha / m (the threshold Holm's first step applies: no
    comparison of the family needs more), the 95% prediction interval of one paired run
    and whether the study's difference lies in it."""
    ivs = [t_interval(paired_differences(c["a"], c["b"])) for c in comparisons]
    p_adj = holm([iv.p for iv in ivs])
    m = int(np.isfinite([iv.p for iv in ivs]).sum())
    rows = []
    for c, iv, pa in zip(comparisons, ivs, p_adj):
        d = paired_differences(c["a"], c["b"])
        lo, hi = prediction_interval(d)
        study = c.get("study_diff")
        rows.append({"key": c["key"], "n": iv.n, "diff": iv.mean, "sd": iv.sd,
                     "lo": iv.lo, "hi": iv.hi, "p": iv.p, "p_holm": pa,
                     "verdict": verdict(iv, pa, study, margin, alpha),
                     "mde": min_detectable_effect(iv.sd, iv.n, alpha=alpha / max(m, 1)),
                     "pred_lo": lo, "pred_hi": hi, "study_diff": study,
                     "study": study_text(lo, hi, study)})
    return pd.DataFrame(rows)


def rate_interval(k, n, level=1 - ALPHA):
    """k of n with its exact (Clopper-Pearson) interval, as fractions."""
    if n == 0:
        return math.nan, math.nan, math.nan
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="exact")
    return k / n, float(ci.low), float(ci.high)
