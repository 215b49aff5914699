"""Initialisation rules and the corrected protocol's choice among them (issue #11)."""
import numpy as np
import pytest

from pipeline.engine.nets import NAMED_NETS
from pipeline.engine.network import Network
from pipeline.engine.protocol import resolve


def test_corrected_initialises_like_pytorch_and_reference_is_unchanged():
    assert resolve("corrected")["init"] == "fan_in_uniform"
    assert resolve("reference")["init"] == "normal0.03"
    assert resolve("corrected", {"init": "he"})["init"] == "he"      # the old default


@pytest.mark.parametrize("net", [[30, 10], NAMED_NETS["cnn1"]])
def test_each_rule_scales_every_layer_by_its_fan_in(net):
    fan_ins = {"mlp": [48 * 48 * 3, 30, 10], "cnn": [27, 54, 108, 24 * 4 * 4]}
    expect = fan_ins["mlp" if net == [30, 10] else "cnn"]
    for rule in ("fan_in_uniform", "he", "lecun", 0.03):
        n = Network(net, (48, 48, 3), [5])
        n.init_params(np.random.default_rng(0), init=rule)
        layers = [(L, p) for L, p in zip(n.layers, n.params) if p]
        assert [L.fan_in(next(iter(p))) for L, p in layers] == expect
        for (L, p), fan_in in zip(layers, expect):
            w, b = p.values()
            if rule == "fan_in_uniform":          # weights and biases U(-1/sqrt(n), 1/sqrt(n))
                bound = 1 / np.sqrt(fan_in)
                assert 0.8 * bound < np.abs(w).max() <= bound
                assert 0 < np.abs(b).max() <= bound
                assert w.std() == pytest.approx(bound / np.sqrt(3), rel=0.25)
            else:
                sd = {"he": np.sqrt(2 / fan_in), "lecun": np.sqrt(1 / fan_in)}.get(rule, rule)
                assert w.std() == pytest.approx(sd, rel=0.25)
                assert not b.any()
