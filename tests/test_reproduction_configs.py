"""The reproduction study configs (config/reproduction/): the quirk-ablation files are
what their generator writes, and each flip differs from its base in one quirk only."""
import importlib.util
from pathlib import Path

import pytest
import yaml

from pipeline.engine.protocol import PROTOCOLS, QUIRKS

DIR = Path(__file__).resolve().parents[1] / "config" / "reproduction"


def _generator():
    spec = importlib.util.spec_from_file_location("make_ablation", DIR / "make_ablation.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


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
    # what each base flips: no report-only quirk, decay only with L1/L2, bn_* only on cnn4
    flipped = {b: sorted(q for n, e in flips.items() if e["table"] == f"ablation_{b}"
                         for q in e["quirks"]) for b in ("mlp", "mlp_l2", "cnn1", "cnn4")}
    assert flipped["mlp"] == ["init", "input_scale", "leftover", "rng"]
    assert flipped["mlp_l2"] == ["decay", "init", "input_scale", "leftover", "rng"]
    assert flipped["cnn1"] == flipped["mlp"]
    assert flipped["cnn4"] == sorted(flipped["mlp"] + ["bn_affine_optimizer", "bn_backward",
                                                       "bn_running_stats"])
