"""The reproduction study configs (config/reproduction/): the quirk-ablation files are
what their generator writes, and each flip differs from its base in one quirk only."""
import importlib.util
from pathlib import Path

import pytest
import yaml

from pipeline.engine.protocol import PROTOCOLS, QUIRKS

ROOT = Path(__file__).resolve().parents[2]
DIR = ROOT / "config" / "reproduction"            # the configs
SCRIPTS = ROOT / "research" / "reproduction"      # their generator and analysis


def _script(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _generator():
    return _script("make_ablation")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_ablation_file_is_the_generators_output(protocol):
    committed = yaml.safe_load((DIR / f"ablation_{protocol}.yaml").read_text())
    assert committed == _generator().config(protocol)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_each_flip_sets_one_quirk_to_the_other_protocols_value(protocol):
    c = _generator().config(protocol)
    other = PROTOCOLS[1 - PROTOCOLS.index(protocol)]
    exps = c["experiments"]
    assert c["protocols"] == [protocol] and sorted(c["select"]) == sorted(exps)
    flips = {n: e for n, e in exps.items() if "quirks" in e}
    for name, e in flips.items():
        base = exps[f"abl_{e['table'].removeprefix('ablation_')}"]
        assert {k: v for k, v in e.items() if k not in ("quirks", "regularizer")} == \
            {k: v for k, v in base.items() if k != "regularizer"}
        (quirk, value), = e["quirks"].items()
        assert value == QUIRKS[quirk][PROTOCOLS.index(other)] != QUIRKS[quirk][PROTOCOLS.index(protocol)]
    # what each base flips: no report-only quirk, decay only with L1/L2, bn_* only on cnn4,
    # no leftover (flowers' 3,450 training images fill 345 minibatches of 10)
    flipped = {b: sorted(q for n, e in flips.items() if e["table"] == f"ablation_{b}"
                         for q in e["quirks"]) for b in ("mlp", "mlp_l2", "cnn1", "cnn4")}
    assert flipped["mlp"] == ["init", "input_scale", "rng"]
    assert flipped["mlp_l2"] == ["decay", "init", "input_scale", "rng"]
    assert flipped["cnn1"] == flipped["mlp"]
    assert flipped["cnn4"] == sorted(flipped["mlp"] + ["bn_affine_optimizer", "bn_backward",
                                                       "bn_running_stats"])


def _fake_run(root, experiment, seed, acc, classes=5):
    import json

    import numpy as np
    d = root / "results" / "runs" / "reference" / experiment / f"seed{seed}"
    d.mkdir(parents=True)
    (d / "metrics.json").write_text(json.dumps(
        {"status": "ok", "experiment": experiment, "seed": seed, "test_accuracy": acc}))
    prob = np.zeros((10, 5))
    prob[np.arange(10), np.arange(10) % classes] = 1
    np.savez(d / "predictions.npz", prob=prob)


def test_ablation_conclusions_flip_the_quirk_in_both_arms(tmp_path, capsys):
    """L2 - MLP with `init` flipped pairs abl_mlp_l2_init with abl_mlp_init; with `decay`
    flipped (which cannot touch the plain MLP) abl_mlp_l2_decay with abl_mlp; collapsed
    runs (one class predicted) are counted."""
    accs = {"abl_mlp": [0.24, 0.24, 0.24], "abl_mlp_l2": [0.24, 0.24, 0.24],
            "abl_mlp_init": [0.40, 0.42, 0.44], "abl_mlp_l2_init": [0.36, 0.39, 0.40],
            "abl_mlp_l2_decay": [0.25, 0.26, 0.27]}
    for e, v in accs.items():
        for seed, a in enumerate(v, 1):
            _fake_run(tmp_path, e, seed, a, classes=1 if a == 0.24 else 5)
    _script("ablation_conclusions").main([str(tmp_path)])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{tmp_path}:"
    rows = {r.split("|")[1].strip(): [c.strip() for c in r.split("|")[2:-1]]
            for r in out[3:]}
    # every quirk the generator flips on some base has a row, in the protocol's quirk order;
    # leftover has none (it touches no flowers network)
    assert list(rows) == ["none", "input_scale", "init", "bn_backward", "bn_running_stats",
                          "bn_affine_optimizer", "decay", "rng"]
    assert rows["input_scale"][0] == "-"                           # not run: no stand-in
    assert rows["none"][0] == "+0.0 [+0.0, +0.0], p 1.000" and rows["none"][3].startswith("3/3, 3/3")
    assert rows["init"][0] == "-3.7 [-5.1, -2.2], p 0.008"        # -4, -3, -4
    assert rows["init"][3].startswith("0/3, 0/3")
    assert rows["decay"][0] == "+2.0 [-0.5, +4.5], p 0.074"       # +1, +2, +3 against abl_mlp
    assert rows["decay"][3].startswith("3/3, 0/3")
    # a flip whose runs are missing (not yet trained) is not replaced by the base's runs
    assert rows["init"][1] == "-" and rows["init"][3].endswith("0/0")      # abl_mlp_l1_init


def test_datapipe_table_pairs_pipelines_by_seed(tmp_path, capsys):
    import json

    def runs(folder, decoding, accs):
        for seed, a in accs.items():
            d = tmp_path / folder / "results/runs/reference/flowers_cnn1" / f"seed{seed}"
            d.mkdir(parents=True)
            (d / "metrics.json").write_text(json.dumps(
                {"status": "ok", "seed": seed, "test_accuracy": a, "data_decoding": decoding}))

    runs("a", {"resample": "bicubic", "jpeg_quality": None}, {1: 0.50, 2: 0.52, 3: 0.54})
    runs("b", {"resample": "bilinear", "jpeg_quality": 75}, {1: 0.51, 2: 0.54, 3: 0.55, 4: 0.9})
    _script("datapipe_compare").main([str(tmp_path / "a"), str(tmp_path / "b")])
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == "| bicubic | 1-3 (3) | 52.0 ± 2.0 | - |"
    # seed 4 has no bicubic partner: differences +1, +2, +1 on seeds 1-3
    assert lines[3].startswith("| bilinear + JPEG 75 | 1-4 (4) | ") and \
        lines[3].endswith("| +1.3 [-0.1, +2.8], p 0.06 (n=3) |")
    runs("c", {"resample": "nearest", "jpeg_quality": None}, {1: 0.5})
    runs("c", {"resample": "bicubic", "jpeg_quality": None}, {2: 0.5})
    with pytest.raises(SystemExit, match="several data pipelines"):
        _script("datapipe_compare").main([str(tmp_path / "c")])


def test_ablation_figure_names_each_flip_by_its_quirk(tmp_path, monkeypatch):
    """One panel per base and folder; each row labelled 'quirk = the other protocol's
    value', its point at the flip's paired mean difference."""
    import pandas as pd

    from pipeline.report import figures
    for protocol, diff in (("reference", -3.0), ("corrected", 1.5)):
        d = tmp_path / protocol / "results" / "tables"
        d.mkdir(parents=True)
        pd.DataFrame([{"table": f"ablation_{b}", "protocol": protocol, "head": "acc",
                       "experiment": f"abl_{b}_{q}", "baseline": f"abl_{b}", "n": 5,
                       "diff": diff, "lo": diff - 1, "hi": diff + 1, "verdict": "inconclusive"}
                      for b, qs in (("mlp", ["init", "rng"]), ("cnn4", ["bn_backward"])) for q in qs]
                     ).to_csv(d / "conclusions.csv", index=False)
    drawn = []
    monkeypatch.setattr(figures, "save", lambda fig, out: drawn.append(fig))
    _script("ablation_conclusions").figure([tmp_path / "reference", tmp_path / "corrected"],
                                           tmp_path / "f.png")
    (fig,) = drawn
    ref_mlp, cor_mlp, ref_cnn4, _ = fig.axes
    assert [t.get_text() for t in ref_mlp.get_yticklabels()] == ["init = fan_in_uniform",
                                                                "rng = separate_streams"]
    assert [t.get_text() for t in cor_mlp.get_yticklabels()] == ["init = normal0.03", "rng = single_stream"]
    assert [t.get_text() for t in ref_cnn4.get_yticklabels()] == ["bn_backward = exact"]
    assert list(ref_mlp.containers[0].lines[0].get_xdata()) == [-3.0, -3.0]
    assert list(cor_mlp.containers[0].lines[0].get_xdata()) == [1.5, 1.5]
    fig.canvas.draw()                 # the first row's title clear of its legend
    r = fig.canvas.get_renderer()
    for ax in (ref_mlp, cor_mlp):
        t, leg = ax.title.get_window_extent(r), ax.get_legend().get_window_extent(r)
        assert t.y0 >= leg.y1 or t.x1 <= leg.x0, (t, leg)


def test_leftover_is_skipped_because_the_flowers_split_fills_whole_minibatches():
    """The generator's TRAIN_SIZE is the flowers training split's real size, and with
    it both leftover values give the same epoch order."""
    import numpy as np

    from pipeline.data.split import reference_split
    from pipeline.train.trainer import Trainer
    gen = _generator()
    train, _, _ = reference_split(4317, np.random.default_rng(0))     # the flowers folder's 4,317 images
    assert len(train) == gen.TRAIN_SIZE and gen.TRAIN_SIZE % gen.BATCH_SIZE == 0
    orders = []
    for value in QUIRKS["leftover"][:2]:
        t = Trainer.__new__(Trainer)
        t.batch_size, t.q = gen.BATCH_SIZE, {"leftover": value}
        orders.append(np.concatenate(t.batches(gen.TRAIN_SIZE, np.random.default_rng(7))))
    assert np.array_equal(*orders)
