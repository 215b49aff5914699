"""Paired statistics and verdicts (pipeline.analysis.paired, .conclusions) on constructed
run folders: planted effects, identical runs, Holm by hand, the MDE's power, stand-in
tables, tied ranks, runs that failed."""
import math

import numpy as np
import pytest
from scipy import stats

from pipeline.report import conclusions
from pipeline.analysis import paired, runs as runs_mod
from fakes import make_run

SEEDS = list(range(1, 11))
BASE = {"experiment": "base", "dataset": "flowers", "table": "t", "regularizer": "none",
        "seed_study": {"accuracy": 60.0}}


def exp(name, study):
    return {"experiment": name, "dataset": "flowers", "table": "t", "regularizer": name,
            "seed_study": {"accuracy": study}}


def build(root, accuracies, status=None):
    """Run folders for {experiment: {seed: accuracy fraction}} (corrected protocol) and
    their runs table; status: {(experiment, seed): status} for runs that did not end ok."""
    status = status or {}
    for e, per_seed in accuracies.items():
        for s, a in per_seed.items():
            make_run(root, "corrected", e, s, acc=a, status=status.get((e, s), "ok"))
    metrics = sorted(str(p) for p in (root / "results" / "runs").glob("*/*/seed*/metrics.json"))
    return runs_mod.collect_runs(metrics, [], [], [])


def baseline_accuracy():
    """Seeds differ a lot (the split): 50..68 %, which an unpaired test would carry."""
    return {s: 0.50 + 0.02 * (s % 10) for s in SEEDS}


def planted(effect_pts, noise_pts, seed=0):
    rng = np.random.default_rng(seed)
    base = baseline_accuracy()
    return {s: base[s] + (effect_pts + rng.normal(0, noise_pts)) / 100 for s in SEEDS}


def judge(root, accuracies, described, status=None, standin=()):
    runs = build(root, accuracies, status)
    spec = {"t": {"title": "T", "experiments": described}}
    (f,) = conclusions.families(runs, spec, ["corrected"], standin=standin)
    return f, f.comparisons.set_index("experiment")


def test_planted_effect_with_small_noise_holds(tmp_path):
    f, c = judge(tmp_path, {"base": baseline_accuracy(), "up": planted(3.0, 0.3)},
                 [BASE, exp("up", 63.5)])
    r = c.loc["up"]
    assert r["n"] == 10 and r["lo"] > 0 and r["lo"] < 3.0 < r["hi"] and r["hi"] - r["lo"] < 1
    assert r["verdict"] == "holds"
    # the same differences, unpaired: the seeds' spread (sd 6 points) hides the effect
    unpaired = stats.ttest_ind([v * 100 for v in planted(3.0, 0.3).values()],
                               [v * 100 for v in baseline_accuracy().values()])
    assert unpaired.pvalue > 0.05


def test_planted_effect_against_the_study_direction_is_reversed(tmp_path):
    _, c = judge(tmp_path, {"base": baseline_accuracy(), "up": planted(3.0, 0.3)},
                 [BASE, exp("up", 55.0)])
    assert c.loc["up", "verdict"] == "reversed"


def test_same_effect_with_large_noise_is_inconclusive(tmp_path):
    f, c = judge(tmp_path, {"base": baseline_accuracy(), "up": planted(3.0, 6.0, seed=2)},
                 [BASE, exp("up", 63.5)])
    r = c.loc["up"]
    assert r["lo"] < 0 < r["hi"] and r["p_holm"] > 0.05
    assert r["verdict"] == "inconclusive"
    assert f.mde > 3.0            # the family could not have seen 3 points


def test_identical_runs_are_no_effect_with_a_zero_width_interval(tmp_path):
    _, c = judge(tmp_path, {"base": baseline_accuracy(), "same": baseline_accuracy()},
                 [BASE, exp("same", 58.0)])
    r = c.loc["same"]
    assert r["n"] == 10 and r["diff"] == 0 and r["lo"] == r["hi"] == 0 and r["p"] == 1
    assert r["verdict"] == "no effect"


def test_t_interval_by_hand():
    iv = paired.t_interval([1.0, 2.0, 3.0, 4.0])
    se = math.sqrt(5 / 3) / 2                      # sd sqrt(5/3), n 4
    q = 3.182446305284263                          # t(0.975, 3)
    assert iv.n == 4 and iv.mean == 2.5 and iv.sd == pytest.approx(math.sqrt(5 / 3))
    assert (iv.lo, iv.hi) == pytest.approx((2.5 - q * se, 2.5 + q * se))
    assert iv.p == pytest.approx(stats.ttest_1samp([1, 2, 3, 4], 0).pvalue)
    assert paired.t_interval([2.0]).n == 1 and math.isnan(paired.t_interval([2.0]).p)


def test_holm_by_hand():
    # sorted: 0.005 x4 = 0.02; 0.01 x3 = 0.03; 0.03 x2 = 0.06; 0.04 x1 = 0.04 -> 0.06 (monotone)
    adj = paired.holm([0.01, 0.04, 0.03, 0.005, math.nan])
    assert adj[:4] == pytest.approx([0.03, 0.06, 0.06, 0.02]) and math.isnan(adj[4])
    assert paired.holm([0.6, 0.5]) == pytest.approx([1.0, 1.0])      # capped at 1
    # decision: 0.03 and 0.02 reject at 5%, 0.06 does not, although 0.04 < 0.05 raw
    assert list(adj[:4] < 0.05) == [True, False, False, True]


def test_holm_decides_the_verdict(tmp_path):
    """A raw p just under 0.05 is not 'holds' when it is one of several comparisons."""
    iv = paired.Interval(10, 1.5, 2.0, 0.07, 2.93, 0.04)
    assert paired.verdict(iv, 0.04, 2.0) == "holds"
    assert paired.verdict(iv, 0.08, 2.0) == "inconclusive"
    inside = paired.Interval(10, 0.2, 1.0, -1.5, 1.9, 0.5)
    assert paired.verdict(inside, 1.0, 2.0) == "no effect"
    assert paired.verdict(inside, 1.0, 2.0, margin=1.0) == "inconclusive"


def test_mde_has_80_percent_power():
    """At the MDE the paired t test rejects 80% of the time (simulated), and n=10 gives
    the textbook standardized effect 0.996 for power 0.8, alpha 0.05 two-sided."""
    assert paired.min_detectable_effect(1.0, 10) == pytest.approx(0.996, abs=0.002)
    sd, n = 2.0, 6
    mde = paired.min_detectable_effect(sd, n)
    d = np.random.default_rng(0).normal(mde, sd, (40000, n))
    t = d.mean(1) / (d.std(1, ddof=1) / math.sqrt(n))
    power = np.mean(np.abs(t) > stats.t.ppf(0.975, n - 1))
    assert power == pytest.approx(0.80, abs=0.01)
    assert paired.min_detectable_effect(0.0, 5) == 0 and math.isnan(paired.min_detectable_effect(1.0, 1))


def test_stand_in_tables_carry_no_verdict(tmp_path):
    described = [BASE, exp("up", 63.5)]
    f, c = judge(tmp_path, {"base": baseline_accuracy(), "up": planted(3.0, 0.3)}, described,
                 standin={"flowers"})
    assert not f.judged and list(c["verdict"]) == [conclusions.NOT_JUDGED]
    assert c.loc["up", "lo"] > 0                   # the numbers are still there
    lines = "\n".join(conclusions.family_lines(f, described))
    assert "holds" not in lines and "Seed study's order: stand-in: not judged" in lines


def test_ties_share_a_rank(tmp_path):
    """best beats everyone; base and same cannot be told apart (rank 2 both); worst is
    beaten by the three others (rank 4)."""
    base = baseline_accuracy()
    accs = {"base": base, "same": planted(0.0, 0.3, seed=1), "best": planted(10.0, 0.3, seed=2),
            "worst": planted(-10.0, 0.3, seed=3)}
    f, _ = judge(tmp_path, accs, [BASE, exp("same", 60), exp("best", 70), exp("worst", 50)])
    assert f.ranking == {"base": 2, "same": 2, "best": 1, "worst": 4}
    assert conclusions.ranking_text(f).startswith("1: best (")
    assert "; 2: " in conclusions.ranking_text(f) and "; 4: worst" in conclusions.ranking_text(f)


def test_runs_not_ok_are_shown_by_status_and_left_out(tmp_path):
    """A 'failed' run (disk full, OOM) is handled like a diverged one, by its status."""
    base, up = baseline_accuracy(), planted(3.0, 0.3)
    runs = build(tmp_path, {"base": base, "up": up},
                 status={("up", 2): "failed", ("base", 5): "diverged"})
    assert runs.set_index(["experiment", "seed"]).loc[("up", 2), "error"] == "cost is nan"
    summary = runs_mod.summarize(runs, [BASE, exp("up", 63.5)]).set_index("experiment")
    assert summary.loc["up", "not_ok"] == "1/10 failed" and summary.loc["up", "n_failed"] == 1
    spec = {"t": {"title": "T", "experiments": [BASE, exp("up", 63.5)]}}
    (f,) = conclusions.families(runs, spec, ["corrected"])
    r = f.comparisons.set_index("experiment").loc["up"]
    assert r["n"] == 8 and r["excluded"] == "up seed 2: failed; base seed 5: diverged"
    kept = [s for s in SEEDS if s not in (2, 5)]
    assert r["diff"] == pytest.approx(np.mean([100 * (up[s] - base[s]) for s in kept]))


def _seeds(values):
    return dict(enumerate(values, start=1))


def test_a_single_run_is_judged_by_the_prediction_interval():
    rng = np.random.default_rng(0)
    d = rng.normal(-3.0, 2.0, 12)                     # our paired differences
    base = _seeds(np.full(12, 60.0))
    ours = _seeds(60.0 + d)
    lo, hi = paired.prediction_interval(d)
    t = stats.t.ppf(0.975, 11)
    assert hi - lo == pytest.approx(2 * t * d.std(ddof=1) * math.sqrt(1 + 1 / 12))
    rows = paired.judge_family([{"key": "near", "a": ours, "b": base, "study_diff": -5.0},
                                {"key": "far", "a": ours, "b": base, "study_diff": -18.0}])
    # -5 lies inside our spread of single runs; -18 lies far outside it, although both
    # lie outside the mean's interval (a single run is not a mean)
    assert rows.loc[0, "study"] == "plausible" and rows.loc[1, "study"] == "not plausible"
    assert not rows.loc[0, "lo"] <= -5.0 <= rows.loc[0, "hi"]
    # the covering works: 95% of new single differences fall inside
    new = rng.normal(-3.0, 2.0, (4000, 13))
    inside = [paired.prediction_interval(x[:12])[0] <= x[12] <= paired.prediction_interval(x[:12])[1]
              for x in new[:400]]
    assert 0.91 < np.mean(inside) < 0.99


def test_one_family_per_page_changes_a_borderline_verdict_as_holm_says():
    base = _seeds(np.zeros(10))
    borderline = _seeds(np.array([1.05, -0.05, 0.75, 1.35, -0.35, 0.65, 1.25, 0.15, 0.95, -0.55]))
    strong = _seeds(np.array([3.1, 2.9, 3.3, 2.7, 3.0, 3.2, 2.8, 3.1, 2.9, 3.0]))
    null = _seeds(np.array([0.5, -0.6, 0.2, -0.1, 0.4, -0.5, 0.1, -0.3, 0.6, -0.2]))
    p_alone = paired.t_interval(paired.paired_differences(borderline, base)).p
    assert 0.025 < p_alone < 0.05
    alone = paired.judge_family([{"key": "b", "a": borderline, "b": base, "study_diff": 1.0}])
    assert alone.loc[0, "verdict"] == "holds" and alone.loc[0, "p_holm"] == pytest.approx(p_alone)
    family = paired.judge_family([
        {"key": "s", "a": strong, "b": base, "study_diff": 1.0},
        {"key": "b", "a": borderline, "b": base, "study_diff": 1.0},
        {"key": "n", "a": null, "b": base, "study_diff": 1.0}])
    p = family["p"].to_numpy()
    want = paired.holm(p)
    np.testing.assert_allclose(family["p_holm"], want)
    # Holm: the borderline comparison is the second smallest of three, so x2 > 0.05
    assert sorted(p)[1] == pytest.approx(p_alone) and 2 * p_alone > 0.05
    assert family.set_index("key").loc["b", "verdict"] == "no effect"   # within +-2 points
    assert family.set_index("key").loc["s", "verdict"] == "holds"
    # the MDE is at alpha / m: larger in the family of three than alone
    assert family.set_index("key").loc["b", "mde"] > alone.loc[0, "mde"]
    sd = family.set_index("key").loc["b", "sd"]
    assert family.set_index("key").loc["b", "mde"] == pytest.approx(
        paired.min_detectable_effect(sd, 10, alpha=0.05 / 3))


def test_rate_interval_is_clopper_pearson():
    k, lo, hi = paired.rate_interval(2, 5)
    assert k == 0.4
    # exact bounds: P(X >= 2 | lo) = 0.025 and P(X <= 2 | hi) = 0.025
    assert stats.binom.sf(1, 5, lo) == pytest.approx(0.025, abs=1e-6)
    assert stats.binom.cdf(2, 5, hi) == pytest.approx(0.025, abs=1e-6)
    assert paired.rate_interval(0, 10)[1] == 0.0
