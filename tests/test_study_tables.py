"""Tables, statistics and figures of the workflow, on run folders shaped as
docs/architecture.md describes (no engine needed)."""
import json
import math
import numpy as np
import pandas as pd
import pytest

from pipeline.report import conclusions, figures, tables
from pipeline.analysis import runs as runs_mod, runstats
from fakes import make_cache, make_run

PROTOCOLS = ["reference", "corrected"]
SEEDS = [1, 2, 3]
DESCRIBED = [
    {"experiment": "base", "dataset": "flowers", "table": "t1", "regularizer": "none",
     "seed_study": {"run": "m1", "accuracy": 31.1, "train_seconds": 129, "near_zero": 192,
                    "near_zero_pct": 0.0, "mean": -0.005, "variance": 0.032}},
    {"experiment": "reg", "dataset": "flowers", "table": "t1", "regularizer": "L2 0.1",
     "seed_study": {"run": "m2", "accuracy": 23.2, "train_seconds": 464}},
    {"experiment": "allbad", "dataset": "flowers", "table": "t1", "regularizer": "L1 0.1",
     "seed_study": {"accuracy": 23.3}},
    {"experiment": "o_base", "dataset": "office31", "table": "t3", "regularizer": "none",
     "seed_study": {"accuracy_domain": 87.4, "accuracy_object": 55.8, "train_seconds": 525}},
    {"experiment": "o_noise", "dataset": "office31", "table": "t3", "regularizer": "noise",
     "seed_study": {"accuracy_domain": 90.6, "accuracy_object": 54.1}},
]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    for p in PROTOCOLS:
        for i, s in enumerate(SEEDS):
            make_run(root, p, "base", s, acc=0.50 + 0.02 * i)
            status = "diverged" if (p == "corrected" and s == 2) else "ok"
            make_run(root, p, "reg", s, acc=0.30 + 0.01 * i, status=status)
            make_run(root, p, "allbad", s, status="diverged" if p == "reference" else "ok", acc=0.4)
            make_run(root, p, "o_base", s, dataset="office31", acc=(0.8 + 0.01 * i, 0.5))
            make_run(root, p, "o_noise", s, dataset="office31", acc=(0.9, 0.4 + 0.01 * i))
    runs_dir = root / "results" / "runs"
    for d in sorted(runs_dir.glob("*/*/seed*")):
        runstats.write_run_stats(d / "params.npz", d / "metrics.json", d / "stats.json")
    metrics = sorted(str(p) for p in runs_dir.glob("*/*/seed*/metrics.json"))
    hist = sorted(str(p) for p in runs_dir.glob("*/*/seed*/history.csv"))
    stats = sorted(str(p) for p in runs_dir.glob("*/*/seed*/stats.json"))
    run_table = runs_mod.collect_runs(metrics, hist, stats, DESCRIBED)
    runs_mod.write_csv(run_table, root / "runs.csv")
    summary = runs_mod.summarize(run_table, DESCRIBED)
    runs_mod.write_csv(summary, root / "summary.csv")
    return root, run_table, summary


def test_run_stats_counts_weights_only(study):
    root, _, _ = study
    s = json.loads((root / "results/runs/reference/base/seed1/stats.json").read_text())
    assert s["count"] == 12 * 4 + 4 * 5          # biases excluded
    assert s["near_zero"] >= 12                    # the zeroed row
    assert s["near_zero_frac"] == pytest.approx(s["near_zero"] / s["count"])
    assert abs(s["mean"]) < 0.02 and s["std"] == pytest.approx(math.sqrt(s["var"]))
    h = s["histogram"]
    assert h["bins"] == 100 and len(h["edges"]) == 101 and len(h["density"]) == 100
    assert np.sum(np.diff(h["edges"]) * np.asarray(h["density"])) == pytest.approx(1.0)


def test_run_stats_of_diverged_run(study):
    root, _, _ = study
    s = json.loads((root / "results/runs/corrected/reg/seed2/stats.json").read_text())
    assert s["status"] == "diverged"
    assert s["mean"] is None and s["nonfinite"] == 1


def test_runs_table(study):
    _, runs, _ = study
    assert len(runs) == 5 * len(PROTOCOLS) * len(SEEDS)
    r = runs[(runs.experiment == "base") & (runs.protocol == "reference") & (runs.seed == 2)].iloc[0]
    assert r["status"] == "ok" and r["acc"] == pytest.approx(0.52)
    assert r["param_count"] == 68 and r["epochs_done"] == 3
    assert r["train_acc_final"] == pytest.approx(0.6)
    d = runs[(runs.experiment == "reg") & (runs.protocol == "corrected") & (runs.seed == 2)].iloc[0]
    assert d["status"] == "diverged" and math.isnan(d["acc"]) and d["diverged_epoch"] == 2
    o = runs[(runs.experiment == "o_base") & (runs.seed == 3)].iloc[0]
    assert o["acc_domain"] == pytest.approx(0.82) and o["acc_object"] == pytest.approx(0.5)
    # experiment order follows the config, then protocol, then seed
    assert list(dict.fromkeys(runs.experiment)) == [d["experiment"] for d in DESCRIBED]


def test_summary_mean_std_over_seeds(study):
    _, _, summary = study
    S = summary.set_index(["experiment", "protocol"])
    b = S.loc[("base", "reference")]
    assert b["acc_mean"] == pytest.approx(0.52) and b["acc_std"] == pytest.approx(0.02)
    assert b["n_ok"] == 3 and b["n_diverged"] == 0 and b["seeds"] == "1 2 3"
    r = S.loc[("reg", "corrected")]
    assert r["n_ok"] == 2 and r["n_diverged"] == 1 and r["not_ok"] == "1/3 diverged"
    assert r["acc_mean"] == pytest.approx(0.31)  # seeds 1 and 3 only
    a = S.loc[("allbad", "reference")]
    assert a["n_ok"] == 0 and a["n_diverged"] == 3 and math.isnan(a["acc_mean"])
    assert a["not_ok"] == "diverged (3/3)" and b["not_ok"] == ""
    o = S.loc[("o_noise", "corrected")]
    assert o["acc_object_mean"] == pytest.approx(0.41) and o["acc_domain_std"] == pytest.approx(0)


def test_study_table_marks_diverged_and_shows_seed_study(study, tmp_path):
    root, _, _ = study
    t1 = [d for d in DESCRIBED if d["table"] == "t1"]
    nums, disp = tables.write_study_table(root / "summary.csv", t1, PROTOCOLS, "Table 1",
                                          tmp_path / "t1.csv", tmp_path / "t1.md", tmp_path / "t1.html",
                                          runs_csv=root / "runs.csv")
    md = (tmp_path / "t1.md").read_text()
    assert md.startswith("## Table 1")
    assert "train s" not in md and "train_seconds" not in nums.columns     # machine noise
    assert "reg (corrected, seed 2): diverged - cost is nan" in md          # each bad run, its error
    assert "STAND-IN" not in md
    assert "52.0 ± 2.0" in md                       # base, both protocols
    assert "31.1" in md and "192 (0.0%)" in md      # the seed study's numbers
    assert "31.0 ± 1.4 (1/3 diverged)" in md        # reg under corrected: seeds 1 and 3
    assert "diverged (3/3)" in md                   # allbad under reference
    row = disp.set_index("experiment").loc["allbad"]
    assert row["test acc %: reference"] == "diverged (3/3)"
    assert row["test acc %: corrected"] == "40.0 ± 0.0"
    csv = pd.read_csv(tmp_path / "t1.csv").set_index("experiment")
    assert csv.loc["base", "reference_acc_mean"] == pytest.approx(52.0)
    assert csv.loc["base", "study_accuracy"] == pytest.approx(31.1)
    assert csv.loc["reg", "corrected_status"] == "1/3 diverged"
    assert csv.loc["allbad", "reference_status"] == "diverged (3/3)"
    html = (tmp_path / "t1.html").read_text()
    assert "<table" in html and "diverged (3/3)" in html


def test_office_table_domain_plus_object(study, tmp_path):
    root, _, _ = study
    t3 = [d for d in DESCRIBED if d["table"] == "t3"]
    _, disp = tables.write_study_table(root / "summary.csv", t3, PROTOCOLS, "Table 3",
                                       tmp_path / "t3.csv", tmp_path / "t3.md", tmp_path / "t3.html",
                                       standin=True)
    row = disp.set_index("experiment").loc["o_base"]
    assert row["test acc % (domain+object): seed study"] == "87.4+55.8"
    assert row["test acc % (domain+object): reference"] == "81.0 ± 1.0 + 50.0 ± 0.0"
    assert "GENERATED STAND-IN" in (tmp_path / "t3.md").read_text()


def test_conclusions_page(study, tmp_path):
    """Paired on seeds, stand-in Table 3 not judged, diverged runs excluded and named."""
    root, _, _ = study
    spec = {"t1": {"title": "Table 1", "experiments": [d for d in DESCRIBED if d["table"] == "t1"]},
            "t3": {"title": "Table 3", "experiments": [d for d in DESCRIBED if d["table"] == "t3"]}}
    fams = conclusions.write_conclusions(root / "runs.csv", spec, PROTOCOLS, SEEDS, tmp_path / "c.md",
                                         tmp_path / "c.html", tmp_path / "c.csv", standin={"office31"})
    assert [(f.table, f.protocol, f.head) for f in fams] == [
        ("t1", p, "acc") for p in PROTOCOLS] + [("t3", p, h) for p in PROTOCOLS
                                                  for h in ("acc_domain", "acc_object")]
    c = pd.read_csv(tmp_path / "c.csv").set_index(["table", "protocol", "head", "experiment"]).sort_index()
    reg = c.loc[("t1", "corrected", "acc", "reg")]
    # seeds 1 and 3 (seed 2 diverged): base 50, 54; reg 30, 32 -> differences -20, -22
    assert reg["n"] == 2 and reg["diff"] == pytest.approx(-21.0) and reg["sd"] == pytest.approx(math.sqrt(2), rel=1e-5)
    assert reg["excluded"] == "reg seed 2: diverged"
    assert c.loc[("t1", "reference", "acc", "allbad"), "verdict"] == "too few pairs (n=0)"
    assert (c.loc["t3", "verdict"] == conclusions.NOT_JUDGED).all()
    assert not c.loc["t3", "judged"].any() and c.loc["t1", "judged"].all()
    md = (tmp_path / "c.md").read_text()
    assert "### Table 1: reference, test accuracy" in md and "±2 points" in md
    t3 = md[md.index("### Table 3"):]
    assert "stand-in: not judged" in t3 and "| holds |" not in t3 and "| reversed |" not in t3


@pytest.fixture
def drawn(monkeypatch):
    """The figures as drawn: each matplotlib Figure just before it is saved."""
    from pipeline.report import curves

    figs = []
    save = figures.save

    def keep(fig, out):
        figs.append(fig)
        save(fig, out)

    monkeypatch.setattr(figures, "save", keep)
    monkeypatch.setattr(curves, "save", keep)
    return figs


def _bars(ax):
    """Heights of each ax.bar call on `ax`, in drawing order."""
    from matplotlib.container import BarContainer

    return [[p.get_height() for p in c.patches] for c in ax.containers
            if isinstance(c, BarContainer)]


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def _glob(root, pat):
    return sorted(str(p) for p in (root / "results" / "runs").glob(pat))


T1 = [d for d in DESCRIBED if d["table"] == "t1"]
T3 = [d for d in DESCRIBED if d["table"] == "t3"]


def test_curves_figure_draws_the_mean_over_seeds(study, tmp_path, drawn):
    root, _, _ = study
    figures.training_curves(_glob(root, "*/[rab]*/seed*/history.csv"),
                            _glob(root, "*/[rab]*/seed*/metrics.json"), T1, tmp_path / "c.png", "T")
    (fig,) = drawn
    assert (tmp_path / "c.png").stat().st_size > 0
    acc_axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in acc_axes] == ["base", "reg", "allbad"]
    lines = {ln.get_label(): ln for ln in acc_axes[0].get_lines()}
    assert sorted(lines) == ["corrected train", "corrected val", "reference train", "reference val"]
    h = pd.concat([pd.read_csv(p) for p in _glob(root, "reference/base/seed*/history.csv")])
    want = h.groupby("epoch")[["eval_train_acc", "eval_val_acc"]].mean()
    assert list(lines["reference train"].get_xdata()) == [1, 2, 3]
    assert np.allclose(lines["reference train"].get_ydata(), want["eval_train_acc"])
    assert np.allclose(lines["reference val"].get_ydata(), want["eval_val_acc"])
    assert "reference seed 1: diverged" in _texts(acc_axes[2])[0]      # allbad


def test_histograms_figure_draws_each_runs_histogram(study, tmp_path, drawn):
    root, _, _ = study
    figures.histograms(_glob(root, "*/[rab]*/seed1/stats.json"), T1, tmp_path / "h.png", "T")
    (fig,) = drawn
    assert len(fig.axes) == 3 * 2                    # experiments x protocols
    by_title = {ax.get_title(): ax for ax in fig.axes}
    ax = by_title["base - reference (seed 1)"]
    s = json.loads((root / "results/runs/reference/base/seed1/stats.json").read_text())
    assert _bars(ax) == [pytest.approx(s["histogram"]["density"])]
    assert f"mu={s['mean']:5.3f}" in _texts(ax) and f"sigma={s['std']:5.3f}" in _texts(ax)
    assert "diverged" in _texts(by_title["allbad - reference (seed 1)"])


def test_predictions_figure_draws_the_probabilities(study, tmp_path, drawn):
    root, _, _ = study
    cache = make_cache(tmp_path / "data" / "office31.npz", "office31")
    figures.predictions(_glob(root, "*/o_*/seed1/predictions.npz"),
                        _glob(root, "*/o_*/seed1/metrics.json"), [str(cache)], T3,
                        tmp_path / "p.png", "T", samples=3)
    (fig,) = drawn
    assert len(fig.axes) == 2 * 2 * 6                # (experiments x protocols) rows, 3 samples
    with np.load(root / "results/runs/reference/o_base/seed1/predictions.npz") as z:
        prob = z["prob"]
    row = fig.axes[:6]                               # o_base, reference
    for s in range(3):
        domain, obj = _bars(row[2 * s + 1])
        assert domain == pytest.approx(list(prob[s, :3])) and obj == pytest.approx(list(prob[s, 3:]))
        assert row[2 * s].get_title() == f"test #{s}" and len(row[2 * s].images) == 1
    est = ["amazon", "dslr", "webcam"][int(prob[0, :3].argmax())]
    assert row[1].get_title().startswith(f"{est}:amazon ")    # the fakes' answers are label 0


def test_accuracy_figure_reads_summary_csv(study, tmp_path, drawn):
    root, _, summary = study
    S = summary.set_index(["experiment", "protocol"])
    figures.accuracy_chart(root / "summary.csv", T1, PROTOCOLS, tmp_path / "a1.png", "T")
    figures.accuracy_chart(root / "summary.csv", T3, PROTOCOLS, tmp_path / "a3.png", "T")
    one, two = drawn
    (ax,) = one.axes
    study_bars, ref, cor = _bars(ax)
    assert study_bars == [31.1, 23.2, 23.3]
    assert ref[:2] == pytest.approx([100 * S.loc[(e, "reference"), "acc_mean"] for e in ("base", "reg")])
    assert np.isnan(ref[2])                          # allbad: no ok reference run
    assert cor == pytest.approx([100 * S.loc[(e, "corrected"), "acc_mean"]
                                 for e in ("base", "reg", "allbad")])
    assert [a.get_title() for a in two.axes] == ["domain", "object"]
    assert _bars(two.axes[1])[0] == [55.8, 54.1]
    assert _bars(two.axes[1])[2] == pytest.approx(
        [100 * S.loc[(e, "corrected"), "acc_object_mean"] for e in ("o_base", "o_noise")])


def test_curves_show_the_evaluation_mode_gap(study, tmp_path):
    """The gap panel is eval_train_acc - eval_val_acc (the fakes: 0.2 at every epoch),
    not the reported train_acc - val_acc (the fakes: -0.01 or so); a run without the
    evaluation-mode columns is named, not drawn from the reported ones."""
    root, _, _ = study
    runs_dir = root / "results" / "runs"
    glob = lambda pat: sorted(str(p) for p in runs_dir.glob(pat))  # noqa: E731
    t3 = [d for d in DESCRIBED if d["table"] == "t3"]
    gaps = figures.training_curves(glob("*/o_*/seed*/history.csv"), glob("*/o_*/seed*/metrics.json"),
                                   t3, tmp_path / "c.png", "T")
    assert set(gaps) == {(e, p, h) for e in ("o_base", "o_noise") for p in PROTOCOLS
                         for h in ("domain", "object")}
    for g in gaps.values():
        assert list(g.index) == [1, 2, 3] and np.allclose(g.values, 0.2)
    legacy = tmp_path / "results" / "runs" / "reference" / "base" / "seed1" / "history.csv"
    legacy.parent.mkdir(parents=True)
    h = pd.read_csv(glob("reference/base/seed1/history.csv")[0])
    h.drop(columns=[c for c in h.columns if c.startswith("eval_") and c != "eval_seconds"]).to_csv(
        legacy, index=False)
    t1 = [d for d in DESCRIBED if d["experiment"] == "base"]
    assert figures.training_curves([str(legacy)], [], t1, tmp_path / "o.png", "T") == {}


def test_effects_figure_draws_the_paired_intervals(study, tmp_path, drawn):
    """One point per experiment and protocol at the paired mean difference, its bar from
    lo to hi, the verdict beside it; Office-31 gets one panel per head."""
    root, _, _ = study
    spec = {t: {"title": t, "experiments": [d for d in DESCRIBED if d["table"] == t]} for t in ("t1", "t3")}
    conclusions.write_conclusions(root / "runs.csv", spec, PROTOCOLS, SEEDS, tmp_path / "c.md",
                                  tmp_path / "c.html", tmp_path / "c.csv", standin={"office31"})
    c = pd.read_csv(tmp_path / "c.csv").set_index(["table", "protocol", "head", "experiment"])
    figures.effects_chart(tmp_path / "c.csv", "t1", PROTOCOLS, tmp_path / "e1.png", "T", 2.0)
    figures.effects_chart(tmp_path / "c.csv", "t3", PROTOCOLS, tmp_path / "e3.png", "T", 2.0)
    one, three = drawn
    (ax,) = one.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["reg", "allbad"]
    from matplotlib.container import ErrorbarContainer
    bars = [b for b in ax.containers if isinstance(b, ErrorbarContainer)]
    assert len(bars) == len(PROTOCOLS)
    for p, b in zip(PROTOCOLS, bars):
        xs = list(b.lines[0].get_xdata())
        ok = [e for e in ("reg", "allbad") if c.loc[("t1", p, "acc", e), "n"] > 0]
        assert xs[:len(ok)] == pytest.approx([c.loc[("t1", p, "acc", e), "diff"] for e in ok])
        seg = b.lines[2][0].get_segments()[0]          # reg's bar: lo .. hi
        assert sorted(x for x, _ in seg) == pytest.approx(
            [c.loc[("t1", p, "acc", "reg"), k] for k in ("lo", "hi")])
    reg = c.loc[("t1", "corrected", "acc", "reg")]
    assert f"{reg['verdict']} (n={int(reg['n'])})" in _texts(ax)
    assert [a.get_title(loc="right") for a in three.axes] == ["domain", "object"]


def test_effects_figure_of_a_table_without_comparisons(tmp_path, drawn):
    """A study whose tables hold only their baselines writes an empty conclusions.csv;
    the figure says so instead of failing."""
    (tmp_path / "c.csv").write_text("")
    figures.effects_chart(tmp_path / "c.csv", "t1", PROTOCOLS, tmp_path / "e.png", "T", 2.0)
    (fig,) = drawn
    assert "no comparison: the table has only its baseline" in _texts(fig.axes[0])
