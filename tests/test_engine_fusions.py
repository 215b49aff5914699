"""The fused layer kinds the network builds (network.build_layers) against the plain
pairs they replace, in float64: the same values and gradients."""
import numpy as np
import pytest

from pipeline.engine.batchnorm import BatchNorm
from pipeline.engine.config import parse_layer
from pipeline.engine.conv import Conv, FoldedConv, FoldGradient, Standardized
from pipeline.engine.nets import NAMED_NETS
from pipeline.engine.network import Network
from pipeline.engine.pool import MaxPool, ReluMaxPool


def _options(kind, options):
    return parse_layer([kind, options], "t").options


def _params(layer, rng):
    return {n: rng.normal(1.0 if n == "scale" else 0.0, 0.5, s)
            for n, (s, _) in layer.param_shapes.items()}


@pytest.mark.parametrize("train", [True, False])
def test_folded_batch_norm_and_conv_equal_the_plain_pair(train):
    rng = np.random.default_rng(0)
    shape = (3, 7, 6)
    bn_opts = _options("batch_normal", {"epsilon": 1e-5})
    conv_opts = _options("conv", {"ksize": 3, "chn": 4})
    x = rng.normal(2.0, 3.0, (3, 5, 7, 6))
    dout = rng.normal(size=(4, 5, 7, 6))
    out = []
    for folded in (True, False):
        bn = BatchNorm(bn_opts, shape, "exact", dtype=np.float64, need_dx=False,
                       folded=folded)
        bn.mavg[...], bn.mvar[...] = 0.3, 1.7
        conv = (FoldedConv if folded else Conv)(conv_opts, shape)
        p_bn = _params(bn, np.random.default_rng(1))
        p_conv = _params(conv, np.random.default_rng(2))
        g_bn = {n: np.zeros_like(p) for n, p in p_bn.items()}
        g_conv = {n: np.zeros_like(p) for n, p in p_conv.items()}
        a, c_bn = bn.forward(x, p_bn, train, None)
        assert isinstance(a, Standardized) == folded
        y, c_conv = conv.forward(a, p_conv, train, None)
        d = conv.backward(dout, c_conv, p_conv, g_conv)
        assert isinstance(d, FoldGradient) == folded
        bn.backward(d, c_bn, p_bn, g_bn)
        out.append((y, g_conv["k"], g_conv["b"], g_bn["scale"], g_bn["shift"]))
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_relu_max_pool_equals_relu_then_max_pool():
    rng = np.random.default_rng(2)
    shape = (3, 8, 6)
    x = rng.normal(size=(3, 4, 8, 6))
    x[:, :, :2, :2] = -1.0                      # windows with no positive entry
    dout = rng.normal(size=(3, 4, 4, 3))
    pool_opts = _options("max", {"stride": 2})
    relu = np.maximum(x, 0)
    plain = MaxPool(pool_opts, shape)
    y_plain, cache = plain.forward(relu, {}, True, None)
    dx_plain = plain.backward(dout, cache, {}, {}) * (relu > 0)
    fused = ReluMaxPool(pool_opts, shape)
    y_fused, cache = fused.forward(x, {}, True, None)
    dx_fused = fused.backward(dout, cache, {}, {})
    np.testing.assert_array_equal(y_fused, y_plain)
    np.testing.assert_array_equal(dx_fused, dx_plain)


def test_the_network_builds_the_fused_kinds():
    cnn4 = Network(NAMED_NETS["cnn4"], (24, 24, 3), [4]).layers
    assert [type(layer).__name__ for layer in cnn4[:3]] == \
        ["BatchNorm", "FoldedConv", "ReluMaxPool"]
    assert cnn4[0].folded and not cnn4[3].folded
    assert cnn4[1].act == "none" and cnn4[7].act == "relu"   # before an avg pool: kept
    assert [layer.need_dx for layer in cnn4[:2]] == [False, True]
    cnn1 = Network(NAMED_NETS["cnn1"], (24, 24, 3), [4]).layers
    assert isinstance(cnn1[0], Conv) and not isinstance(cnn1[0], FoldedConv)
    assert not cnn1[0].need_dx and cnn1[2].need_dx
