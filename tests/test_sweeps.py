"""Sweeps (#13): expansion into experiments, refusals named by sweep key, layer addressing,
train_size subsets, selection on validation only, the sweep table and figures, and a tiny
end-to-end workflow run (one file, over 300 lines: the cases share its config builders)."""
import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import yaml

from pipeline.data.split import reference_split
from pipeline.data.subset import train_subset
from pipeline.plan import config_check as cc
from pipeline.plan import experiments as ex
from pipeline.report import sweep_figures, sweep_results
from pipeline.plan import sweeps
from pipeline.train.run import RunSettings, run
from toydata import write_toy_cache

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
BASE_CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def config_with(sweeps_section, **extra):
    c = copy.deepcopy(BASE_CONFIG)
    c["sweeps"] = sweeps_section
    c.update(extra)
    return c


DROPOUT = {"base": "flowers_cnn1", "set": {"net": "cnn2"}, "vary": "dropout.keep_prob",
           "values": [0.3, 0.5, 0.9]}


def test_a_label_smoothing_sweep_is_planned_like_any_setting():
    """A run setting declared once (pipeline.train.settings) is in the config vocabulary
    and sweepable without more code: the sweep study's label-smoothing path."""
    from pipeline.report import status

    files = [ROOT / "config" / f for f in ("config.yaml", "study.yaml", "sweeps.yaml")]
    c = status.merge_configs(files)
    c["select"] = ["cnn_label_smoothing"]
    assert sweeps.config_problems(c, SCHEMA, files=files) == []
    runs = status.planned_runs(c)
    assert len(runs) == 5 * 5                       # the base and 4 points, 5 seeds
    e = sweeps.expand_in_place(c)
    assert ex.run_settings(e, "cnn_label_smoothing-0.1")["label_smoothing"] == 0.1
    assert "label_smoothing" not in ex.run_settings(e, "flowers_cnn1")   # the default, 0
    c["experiments"]["flowers_cnn1"]["label_smoothing"] = 1.0
    assert "experiments.flowers_cnn1.label_smoothing: 1.0 is greater than or equal to " \
           "the maximum of 1" in cc.config_problems(c, SCHEMA)


# ---------------------------------------------------------------------------------------
# expansion


def test_expansion_names_values_table_and_baseline():
    c = config_with({"cnn_dropout": DROPOUT,
                     "mlp_l2": {"base": "flowers_mlp", "vary": "l2", "values": [1e-5, 0.001]},
                     "cnn_bn": {"base": "flowers_cnn1", "vary": "net", "values": ["cnn4"]}})
    assert sweeps.config_problems(c, SCHEMA) == []
    e, origins, problems = sweeps.expand(c)
    assert problems == []
    assert "sweeps" in c and "cnn_dropout-0.5" not in c["experiments"]     # input untouched
    new = [n for n in e["experiments"] if n not in c["experiments"]]
    assert new == ["cnn_dropout-0.3", "cnn_dropout-0.5", "cnn_dropout-0.9", "mlp_l2-1e-05",
                   "mlp_l2-0.001", "cnn_bn-cnn4"]
    assert cc.schema_problems(e, SCHEMA) == []        # the points' names are experiment names
    assert e["experiments"]["mlp_l2-1e-05"]["l2"] == 1e-5
    assert e["experiments"]["cnn_bn-cnn4"]["net"] == "cnn4"
    assert "seed_study" not in e["experiments"]["mlp_l2-0.001"]
    assert e["experiments"]["cnn_dropout-0.5"]["table"] == "cnn_dropout"
    assert "cnn_dropout" in e["tables"]
    # the sweep's table: its base first (the baseline of the tables and conclusions)
    assert ex.experiments_in_table(e, "cnn_dropout") == [
        "flowers_cnn1", "cnn_dropout-0.3", "cnn_dropout-0.5", "cnn_dropout-0.9"]
    assert ex.experiments_in_table(e, "table2_flowers_cnn")[0] == "flowers_cnn1"
    # run settings like any other experiment; a point's rerun trigger is its own
    rs = ex.run_settings(e, "cnn_dropout-0.9")
    assert [lay[1]["keep_prob"] for lay in rs["net"] if lay[0] == "dropout"] == [0.9] * 3
    assert "train_size" not in ex.run_settings(e, "flowers_cnn1")


def test_select_may_name_a_sweep():
    c = config_with({"mlp_l2": {"base": "flowers_mlp", "vary": "l2", "values": [0.1, 1]}},
                    select=["mlp_l2", "flowers_cnn1"])
    assert sweeps.config_problems(c, SCHEMA) == []
    e = sweeps.expand_in_place(copy.deepcopy(c))
    assert ex.selected_experiments(e) == ["flowers_mlp", "flowers_cnn1", "mlp_l2-0.1", "mlp_l2-1"]
    assert list(sweeps.sweep_specs(e)) == ["mlp_l2"]


@pytest.mark.parametrize("sweep, expected", [
    ({"base": "nope", "vary": "l2", "values": [0.1]},
     "sweeps.s.base: unknown experiment 'nope'"),
    ({"base": "flowers_mlp", "vary": "weight_decay", "values": [0.1]},
     "sweeps.s.vary: unknown setting 'weight_decay'"),
    ({"base": "flowers_mlp", "vary": "l2", "values": [0.1, -1.0]},
     "sweeps.s.values[1]: l2: -1.0 is less than the minimum of 0"),
    ({**DROPOUT, "values": [0.5, 0.7, 0]},
     "sweeps.s.values[2]: net[2].keep_prob: must be in (0, 1], got 0"),
    ({"base": "flowers_cnn1", "set": {"net": "cnn3"}, "vary": "noise.std", "values": [-0.1]},
     "sweeps.s.values[0]: net[0].std: must be >= 0"),
    ({"base": "flowers_mlp", "vary": "train_size", "values": [100, 0]},
     "sweeps.s.values[1]: train_size: 0 is less than the minimum of 1"),
    ({"base": "flowers_mlp", "vary": "net", "values": ["cnn9"]},
     "sweeps.s.values[0]: net: unknown named net 'cnn9'"),
    ({"base": "flowers_cnn1", "vary": "dropout.keep_prob", "values": [0.5]},
     "sweeps.s.vary: dropout.keep_prob names no layer of the net"),
    ({"base": "flowers_cnn1", "vary": "net[1].keep_prob", "values": [0.5]},
     "sweeps.s.vary: net[1].keep_prob layer 1 (max) has no option 'keep_prob'"),
    ({"base": "flowers_mlp", "vary": "l2", "values": []}, "sweeps.s.values: [] should be non-empty"),
    ({"base": "flowers_mlp", "vary": "l2", "values": [0.1], "set": {"dataset": "office31"}},
     "sweeps.s.set.dataset: not settable"),
    ({"base": "flowers_mlp", "vary": "l2", "values": [0.1], "sett": {}}, "sweeps.s.sett: unknown key"),
    ({"base": "flowers_mlp", "vary": "l2", "values": [0.1, 0.1]},
     "sweeps.s.values[1]: the point's name 's-0.1' is taken"),
])
def test_bad_sweeps_are_refused_naming_the_sweep_key(sweep, expected):
    problems = sweeps.config_problems(config_with({"s": sweep}), SCHEMA)
    assert any(p.startswith(expected) for p in problems), problems
    with pytest.raises(cc.ConfigError, match="nothing was run"):
        sweeps.check_config(config_with({"s": sweep}), SCHEMA)


def test_a_sweep_may_not_take_a_tables_name():
    sw = {"base": "flowers_mlp", "vary": "l2", "values": [0.1]}
    assert sweeps.config_problems(config_with({"sweeps": sw}), SCHEMA)[0].startswith(
        "sweeps.sweeps: 'sweeps' names the sweeps' selection table")
    assert sweeps.config_problems(config_with({"table1_flowers_mlp": sw}), SCHEMA)[0].startswith(
        "sweeps.table1_flowers_mlp: a table of this name exists")


def test_a_config_without_sweeps_is_checked_as_before():
    c = copy.deepcopy(BASE_CONFIG)
    assert sweeps.expand(c)[0] is c
    c["experiments"]["flowers_mlp"]["l2"] = -1
    assert sweeps.config_problems(c, SCHEMA) == cc.config_problems(c, SCHEMA)


def test_the_sweep_study_config_is_valid_and_as_its_header_says():
    from pipeline.report import status

    files = [ROOT / "config" / f for f in ("config.yaml", "study.yaml", "sweeps.yaml")]
    c = status.merge_configs(files)
    assert sweeps.config_problems(c, SCHEMA, files=files) == []
    runs = status.planned_runs(c)          # `regstudy status` sees the points too
    assert len(runs) == 350 and {r[0] for r in runs} == {"corrected"}
    assert {r[2] for r in runs} == {1, 2, 3, 4, 5} and {r[3] for r in runs} == {20}
    e = sweeps.expand_in_place(c)
    specs = sweeps.sweep_specs(e)
    assert len(specs) == 18 and {s["dataset"] for s in specs.values()} == {"flowers"}
    assert all(len(s["points"]) >= 4 for n, s in specs.items() if "_bn" not in n)
    noise = [p["value"] for p in specs["cnn_noise"]["points"]]
    assert min(noise) <= 0.03 and max(noise) >= 1
    assert ex.run_settings(e, "mlp_l1_adamw_n500-0.01")["quirks"]["decay"] == "after_adam"
    assert ex.run_settings(e, "mlp_l1_n500-0.01")["train_size"] == 500


# ---------------------------------------------------------------------------------------
# layer addressing


def _expanded_net(vary, value=0.25):
    c = config_with({"s": {"base": "flowers_cnn2", "vary": vary, "values": [value]}})
    assert sweeps.config_problems(c, SCHEMA) == []
    return sweeps.expand(c)[0]["experiments"][f"s-{value:g}"]["net"]


@pytest.mark.parametrize("vary, changed", [
    ("net[5].keep_prob", [5]),            # by index in the net list
    ("dropout[1].keep_prob", [5]),        # by type and occurrence (from 0)
    ("dropout.keep_prob", [2, 5, 8]),     # every layer of the type
])
def test_a_layer_option_changes_exactly_the_addressed_layers(vary, changed):
    before = BASE_CONFIG["experiments"]["flowers_cnn2"]["net"]
    after = _expanded_net(vary)
    assert len(after) == len(before)
    for i, (a, b) in enumerate(zip(after, before)):
        if i in changed:
            assert a == ["dropout", {"keep_prob": 0.25}]
        else:
            assert a == b, i
    assert BASE_CONFIG["experiments"]["flowers_cnn2"]["net"][5][1]["keep_prob"] == 0.6


def test_a_full_layers_width_can_be_swept():
    c = config_with({"w": {"base": "flowers_mlp", "vary": "net[0].width", "values": [5, 60]}})
    assert sweeps.config_problems(c, SCHEMA) == []
    assert sweeps.expand(c)[0]["experiments"]["w-60"]["net"] == [60, 10]


# ---------------------------------------------------------------------------------------
# train_size subsets


def test_train_subsets_are_deterministic_nested_and_disjoint_from_val_and_test():
    n = 1000
    for seed in (1, 2):
        tr, va, te = reference_split(n, np.random.default_rng(seed))
        subsets = [train_subset(seed, tr, k) for k in (50, 200, 500, len(tr))]
        for k, s in zip((50, 200, 500, len(tr)), subsets):
            assert len(s) == len(set(s.tolist())) == k
            assert not set(s.tolist()) & (set(va.tolist()) | set(te.tolist()))
            np.testing.assert_array_equal(s, train_subset(seed, tr, k))      # deterministic
        for small, big in zip(subsets, subsets[1:]):
            assert set(small.tolist()) <= set(big.tolist())                    # nested
        np.testing.assert_array_equal(subsets[-1], tr)      # all of it: the split, in order
    tr1 = reference_split(n, np.random.default_rng(1))[0]
    assert set(train_subset(1, tr1, 200).tolist()) != set(train_subset(2, tr1, 200).tolist())
    with pytest.raises(ValueError, match="train_size"):
        train_subset(1, tr1, len(tr1) + 1)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return write_toy_cache(tmp_path_factory.mktemp("toy") / "toy.npz", n=200, size=12)


TIMING = ("train_seconds", "eval_seconds", "seconds_per_epoch", "test_seconds", "environment")


def _train(toy, out, **kw):
    s = RunSettings(data=str(toy), net=[16], protocol=kw.pop("protocol", "reference"), seed=3,
                    epochs=2, report=0, eval_train_size=50, **kw)
    m = run(s, out, log=lambda *_: None)
    return {k: v for k, v in m.items() if k not in TIMING}, np.load(Path(out) / "params.npz")


@pytest.mark.parametrize("protocol", ["reference", "corrected"])
def test_train_size_is_recorded_and_the_whole_split_is_the_default_bit_for_bit(toy, tmp_path, protocol):
    m0, p0 = _train(toy, tmp_path / "default", protocol=protocol)
    assert m0["train_size"] is None and m0["n_train"] == 160
    # all of the training split through the subset path: the same bits (no stream touched)
    m1, p1 = _train(toy, tmp_path / "all", protocol=protocol, train_size=160)
    assert m1.pop("train_size") == 160 and m0.pop("train_size") is None
    assert m0 == m1
    for k in p0.files:
        np.testing.assert_array_equal(p0[k], p1[k])
    m2, _ = _train(toy, tmp_path / "small", protocol=protocol, train_size=40)
    assert m2["train_size"] == 40 and m2["n_train"] == 40 and m2["n_val"] == m0["n_val"]
    assert m2["n_test"] == m0["n_test"] and m2["eval_train_size"] == 40
    assert m2["test_accuracy"] != m0["test_accuracy"] or m2["params"] != m0["params"]


# ---------------------------------------------------------------------------------------
# selection on validation, table and figures

SPEC = {"s": {"title": "Sweep s", "base": "base", "vary": "l2", "dataset": "flowers",
              "points": [{"experiment": f"s-{v:g}", "value": v, "label": f"{v:g}"}
                         for v in (0.001, 0.01, 0.1)]}}


def planted_runs(seeds=(1, 2, 3, 4, 5)):
    """The best validation point is s-0.01; the best test point is s-0.1 (planted)."""
    val = {"base": 0.50, "s-0.001": 0.52, "s-0.01": 0.60, "s-0.1": 0.40}
    test = {"base": 0.50, "s-0.001": 0.51, "s-0.01": 0.55, "s-0.1": 0.90}
    rows = []
    for e in val:
        for s in seeds:
            rows.append({"experiment": e, "protocol": "corrected", "seed": s, "status": "ok",
                         "acc": test[e] + 0.01 * s, "eval_val_acc_final": val[e] + 0.002 * s,
                         "eval_train_acc_final": 0.95})
    return pd.DataFrame(rows)


def test_selection_reads_validation_only():
    runs = planted_runs()
    names = [p["experiment"] for p in SPEC["s"]["points"]]
    chosen, means = sweep_results.select(runs, names, "corrected")
    assert chosen == "s-0.01"                        # not the test optimum s-0.1
    assert means["s-0.01"] == pytest.approx(60.6)
    # without any test column, or with the test column scrambled, the same choice
    assert sweep_results.select(runs.drop(columns="acc"), names, "corrected")[0] == "s-0.01"
    flipped = runs.assign(acc=runs["acc"][::-1].to_numpy())
    assert sweep_results.select(flipped, names, "corrected")[0] == "s-0.01"
    assert "acc" not in sweep_results.validation_view(runs, "acc").columns
    # a run that did not end ok does not count
    bad = runs.copy()
    bad.loc[bad["experiment"] == "s-0.01", "status"] = "diverged"
    assert sweep_results.select(bad, names, "corrected")[0] == "s-0.001"


def test_sweep_table_reports_the_chosen_value_against_the_base(tmp_path):
    points = sweep_results.write_sweep_table(planted_runs(), SPEC, ["corrected"],
                                             tmp_path / "s.csv", tmp_path / "s.md", tmp_path / "s.html")
    chosen = points[points["chosen"]]
    assert chosen["experiment"].tolist() == ["s-0.01"]
    c = chosen.iloc[0]
    assert c["diff"] == pytest.approx(5.0) and c["pairs"] == 5 and c["diff_lo"] == pytest.approx(5.0)
    assert points[points["is_base"]]["gap_mean"].iloc[0] == pytest.approx(95 - 50.6)
    md = (tmp_path / "s.md").read_text()
    assert "| s | corrected | l2 | 0.01 | 60.6 |" in md and "<- chosen" in md
    # accuracies and their intervals unsigned, differences signed
    assert sweep_results.with_ci(57.25, 54.1, 60.3) == "57.2 [54.1, 60.3]"
    assert sweep_results.with_ci(-0.9, -2.2, 0.3, sign=True) == "-0.9 [-2.2, +0.3]"
    assert pd.read_csv(tmp_path / "s.csv")["chosen"].sum() == 1
    out = tmp_path / "fig.png"
    sweep_figures.sweep_figure(points, SPEC, ["s"], ["corrected"], out, "t")
    assert out.stat().st_size > 10_000


def test_log_axis_where_values_span_decades():
    assert sweep_figures.positions([0.001, 0.01, 0.1])[1] is True
    assert sweep_figures.positions([0.3, 0.5, 0.9])[1] is False
    assert sweep_figures.positions(["cnn4"])[2] == ["cnn4"]


# ---------------------------------------------------------------------------------------
# end to end


@pytest.mark.slow
def test_tiny_sweep_workflow_end_to_end(tmp_path):
    """.test/config/sweeps.yaml on top of the tiny config: 1 seed, 2 epochs, 12x12."""
    configs = [ROOT / ".test" / "config" / "config.yaml", ROOT / ".test" / "config" / "sweeps.yaml"]
    for c in configs:
        shutil.copy(c, tmp_path / c.name)
    cmd = [str(Path(sys.executable).with_name("snakemake")), "-s", str(ROOT / "workflow" / "Snakefile"),
           "-d", str(tmp_path), "--cores", "1", "--configfile", *(str(tmp_path / c.name) for c in configs)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run(cmd + ["-n"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for name in ("tiny_l2-0.001", "tiny_dropout-0.5", "tiny_size-10"):
        assert f"experiment={name}" in r.stdout + r.stderr
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    res = tmp_path / "results"
    pts = pd.read_csv(res / "tables" / "sweeps.csv")
    assert set(pts["sweep"]) == {"tiny_l2", "tiny_dropout", "tiny_size"}
    assert pts.groupby("sweep")["chosen"].sum().eq(1).all()
    for f in ("sweep_tiny_l2.png", "sweep_tiny_dropout.png", "sweep_tiny_size.png",
              "sweeps_flowers_l2.png", "sweeps_flowers_dropout.png", "sweeps_flowers_train_size.png"):
        assert (res / "figures" / f).stat().st_size > 10_000
    m = (res / "runs" / "corrected" / "tiny_size-10" / "seed1" / "metrics.json").read_text()
    assert '"train_size": 10' in m and '"n_train": 10' in m
    assert "Regularization paths" in (res / "tables" / "sweeps.md").read_text()
    r = subprocess.run(cmd + ["-n"], capture_output=True, text=True, env=env, timeout=300)
    assert "Nothing to be done" in r.stdout + r.stderr
    # one more value: only that point trains (then the aggregates)
    cfg = yaml.safe_load((tmp_path / "sweeps.yaml").read_text())
    cfg["sweeps"]["tiny_l2"]["values"].append(1.0)
    (tmp_path / "sweeps.yaml").write_text(yaml.safe_dump(cfg))
    r = subprocess.run(cmd + ["-n"], capture_output=True, text=True, env=env, timeout=300)
    trains = re.findall(r"rule train:\n(?:\s+\w+: .*\n)*?\s+wildcards: (.*)", r.stdout + r.stderr)
    assert trains == ["protocol=corrected, experiment=tiny_l2-1, seed=1"], (r.stdout + r.stderr)[-3000:]


def family_runs(specs, seeds=(1, 2, 3)):
    rows = []
    for name, spec in specs.items():
        for j, e in enumerate([spec["base"]] + [p["experiment"] for p in spec["points"]]):
            for s in seeds:
                rows.append({"experiment": e, "protocol": "corrected", "seed": s, "status": "ok",
                             "acc": 0.5 + 0.01 * j + 0.003 * s,
                             "eval_val_acc_final": 0.5 + 0.01 * j + 0.002 * s,
                             "eval_train_acc_final": 0.9})
    return pd.DataFrame(rows).drop_duplicates(["experiment", "seed"])


def overlaps(a, b):
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_overview_figures_one_per_family_with_every_label_clear(tmp_path):
    """The sweeps of a data set are drawn one regularizer family to a figure, and at
    any number of sweeps (eight: the sweep study's L2 family) the title, the panel
    titles and every axis' labels keep clear of each other."""
    def spec(base, vary, values):
        return {"base": base, "vary": vary, "dataset": "flowers",
                "points": [{"experiment": f"{base}-{vary}-{v}", "value": v, "label": str(v)}
                           for v in values]}
    specs = {f"l2_{i}": spec(f"b{i % 2}", "l2", (1e-4, 1e-3, 1e-2, 1e-1)) for i in range(8)}
    specs |= {"drop": spec("b0", "dropout.keep_prob", (0.3, 0.9)),
              "drop1": spec("b0", "dropout[1].keep_prob", (0.5,)),
              "bn": spec("b0", "net", ("cnn4",)), "bn_at": spec("b0", "net[2].keep_prob", (0.5,)),
              "size": spec("b1", "train_size", (10, 20))}
    for name, s in specs.items():
        s["title"] = name
        s["points"] = [dict(p, experiment=f"{name}-{p['label']}") for p in s["points"]]
    groups = sweeps.overview_groups(specs)
    assert groups == {("flowers", "l2"): [f"l2_{i}" for i in range(8)],
                      ("flowers", "dropout"): ["drop", "drop1"],
                      ("flowers", "net"): ["bn", "bn_at"],
                      ("flowers", "train_size"): ["size"]}
    points = sweep_results.write_sweep_table(family_runs(specs), specs, ["corrected"],
                                             tmp_path / "s.csv", tmp_path / "s.md",
                                             tmp_path / "s.html")
    # each family's figure, and all 15 sweeps in one (where a tight layout put the
    # figure's title over the first row's panel titles)
    figures = [(family, names, f"Regularization paths, {dataset}: "
                f"{sweep_figures.family_name(family)}")
               for (dataset, family), names in groups.items()]
    for family, names, title in figures + [("all", list(specs), "Regularization paths")]:
        fig = sweep_figures.draw(points, specs, names, ["corrected"], title)
        fig.canvas.draw()
        r = fig.canvas.get_renderer()
        axes = [ax for ax in fig.axes if ax.get_visible()]
        assert len(axes) == 2 * len(names)
        assert [ax.get_title() for ax in axes[:min(4, len(names))]] == \
            [f"{n}\n(base {specs[n]['base']})" for n in names[:4]]
        boxes = [ax.get_tightbbox(r) for ax in axes]       # panel, its labels and title
        title = fig._suptitle.get_window_extent(r)
        assert not any(overlaps(title, b) for b in boxes), family
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert not overlaps(a, b), family
        for ax in axes:                      # every label inside the figure
            b = ax.get_tightbbox(r)
            assert b.x0 >= 0 and b.y0 >= 0 and b.x1 <= fig.bbox.x1 + 1 and b.y1 <= fig.bbox.y1 + 1
        plt.close(fig)
