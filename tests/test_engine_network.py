"""Whole networks: parameter counts, end-to-end gradients with each regularizer, the
optimizer against a plain implementation, the initial loss."""
import math

import numpy as np
import pytest

from gradcheck import numeric_grad, rel_error
from pipeline.engine.config import ConfigError, validate_net
from pipeline.engine.conv import FoldedConv
from pipeline.engine.losses import softmax_cross_entropy
from pipeline.engine.nets import NAMED_NETS
from pipeline.engine.network import Network
from pipeline.engine.optim import Adam
from pipeline.engine.regularizers import add_penalty_gradient
from pipeline.engine.stats import parameter_statistics
from pipeline.train.trainer import flush_tiny


def test_study_parameter_counts():
    assert Network([30, 10], (96, 96, 3), [5]).n_weights == 829_790
    assert Network([30, 10], (96, 96, 3), [3, 31]).n_weights == 830_080
    assert Network(NAMED_NETS["cnn1"], (96, 96, 3), [5]).n_weights == 11_082
    assert Network(NAMED_NETS["cnn1"], (96, 96, 3), [3, 31]).n_weights == 55_626
    # regularizer layers add no weights; batch norm adds scale/shift outside the count
    for name in ("cnn2", "cnn3", "cnn4"):
        assert Network(NAMED_NETS[name], (96, 96, 3), [5]).n_weights == 11_082
    assert Network(NAMED_NETS["cnn4"], (96, 96, 3), [5]).n_affine == 2 * (3 + 6 + 12)


def test_statistics_of_the_weights():
    net = Network([30, 10], (96, 96, 3), [5])
    net.init_params(np.random.default_rng(0))
    s = parameter_statistics(net.weights)
    assert s["count"] == 829_790
    assert abs(s["std"] - 0.03) < 1e-3 and abs(s["mean"]) < 1e-3
    # |w| <= 1e-5 under N(0, 0.03): about 2 * 1e-5 / (0.03 * sqrt(2 pi)) of them
    assert 150 < s["near_zero"] < 300
    assert parameter_statistics([0.0, 1e-5, -1e-5, 2e-5])["near_zero"] == 3


NETS = {
    "mlp": [6, 4],
    "cnn": [["conv", {"ksize": 3, "chn": 3}], ["max", {"stride": 2}],
            ["conv", {"ksize": 3, "chn": 4}], ["avg", {"stride": 2}], 5],
    "cnn_dropout": [["conv", {"ksize": 3, "chn": 3}], ["max", {"stride": 2}],
                    ["dropout", {"keep_prob": 0.6}], ["conv", {"ksize": 3, "chn": 2}]],
    "cnn_noise": [["noise", {"std": 0.1}], ["conv", {"ksize": 3, "chn": 3}],
                  ["max", {"stride": 2}], ["noise", {"std": 0.1}], ["conv", {"ksize": 3, "chn": 2}]],
    "cnn_bn": [["batch_normal", {"epsilon": 1e-5}], ["conv", {"ksize": 3, "chn": 3}],
               ["max", {"stride": 2}], ["batch_normal", {"epsilon": 1e-5}],
               ["conv", {"ksize": 3, "chn": 2}], ["batch_normal", {"epsilon": 1e-5}], 4],
}


@pytest.mark.parametrize("heads", [[5], [3, 4]])
@pytest.mark.parametrize("l1,l2", [(0, 0), (0, 0.1), (0.05, 0), (0.05, 0.1)])
@pytest.mark.parametrize("name", list(NETS))
def test_network_gradient_with_regularizers(name, l1, l2, heads):
    rng = np.random.default_rng(0)
    net = Network(NETS[name], (4, 4, 2), heads, bn_backward="exact", dtype=np.float64)
    net.init_params(rng, init=0.5)
    net.flat[net.n_weights:] += rng.normal(0, 0.2, net.flat.size - net.n_weights)
    x = net.to_input(rng.normal(size=(6, 4, 4, 2)))
    y = np.stack([rng.integers(0, h, 6) for h in heads], axis=1)

    def loss():
        logits, _ = net.forward(x, train=True, rng=np.random.default_rng(9))
        w = net.weights
        return softmax_cross_entropy(logits, y, heads)[0] + l2 * 0.5 * (w @ w) + l1 * np.abs(w).sum()

    logits, caches = net.forward(x, train=True, rng=np.random.default_rng(9))
    net.backward(softmax_cross_entropy(logits, y, heads)[1], caches)
    add_penalty_gradient(net.grad[:net.n_weights], net.weights, l1, l2,
                         np.empty(net.n_weights))
    idx, num = numeric_grad(loss, net.flat, count=150)
    assert rel_error(net.grad[idx], num) < 1e-6


def test_dual_head_loss_is_the_sum_of_two_cross_entropies():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(7, 34))
    y = np.stack([rng.integers(0, 3, 7), rng.integers(0, 31, 7)], axis=1)
    loss, _, correct = softmax_cross_entropy(logits, y, [3, 31])
    single = [softmax_cross_entropy(logits[:, s], y[:, [k]], [n])[0]
              for k, (s, n) in enumerate([(slice(0, 3), 3), (slice(3, 34), 31)])]
    assert loss == pytest.approx(sum(single))
    assert correct == [int((logits[:, :3].argmax(1) == y[:, 0]).sum()),
                       int((logits[:, 3:].argmax(1) == y[:, 1]).sum())]


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3])
def test_label_smoothing_is_the_cross_entropy_with_smoothed_targets(eps):
    """Per head: -sum over classes of q log p with q = (1 - eps) * one_hot + eps / K,
    averaged over the batch and summed over heads; its gradient (finite differences);
    eps = 0 is the plain loss bit for bit."""
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(6, 8))
    y = np.stack([rng.integers(0, 3, 6), rng.integers(0, 5, 6)], axis=1)
    loss, dlogits, _ = softmax_cross_entropy(logits, y, [3, 5], smoothing=eps)
    want = 0.0
    for k, (a, b) in enumerate([(0, 3), (3, 8)]):
        z = logits[:, a:b]
        log_p = z - np.log(np.exp(z).sum(1, keepdims=True))
        q = np.full(z.shape, eps / (b - a)) + (1 - eps) * np.eye(b - a)[y[:, k]]
        want += float(-(q * log_p).sum(1).mean())
    assert loss == pytest.approx(want, rel=1e-12)
    idx, num = numeric_grad(lambda: softmax_cross_entropy(logits, y, [3, 5], eps)[0], logits)
    assert rel_error(dlogits.reshape(-1)[idx], num) < 1e-7
    if eps == 0.0:
        plain = softmax_cross_entropy(logits, y, [3, 5])
        assert plain[0] == loss and np.array_equal(plain[1], dlogits)
    else:                                            # it changes the loss
        assert abs(loss - softmax_cross_entropy(logits, y, [3, 5])[0]) > 1e-3


def test_initial_loss_is_near_ln5():
    rng = np.random.default_rng(0)
    for name in ("mlp", "cnn1"):
        net = Network(NAMED_NETS[name], (96, 96, 3), [5])
        net.init_params(rng)
        net.set_input_transform(1 / 255)
        x = net.to_input(rng.integers(0, 256, (20, 96, 96, 3)))
        logits, _ = net.forward(x)
        loss = softmax_cross_entropy(logits, rng.integers(0, 5, (20, 1)), [5])[0]
        assert abs(loss - math.log(5)) < 0.15, name


def naive_adam(p, grads, lr=0.001, l1=0.0, l2=0.0):
    """The reference's update_param, written plainly, in float64."""
    s, t = np.zeros_like(p), np.zeros_like(p)
    for n, g in enumerate(grads, start=1):
        s = 0.9 * s + 0.1 * g
        t = 0.999 * t + 0.001 * g * g
        delta = (s / (1 - 0.9 ** n)) / (np.sqrt(t / (1 - 0.999 ** n)) + 1e-8)
        delta = delta + l2 * p + l1 * np.sign(p)
        p = p - lr * delta
    return p


@pytest.mark.parametrize("l1,l2", [(0, 0), (0.1, 0), (0, 0.1), (0.01, 0.01)])
def test_adam_matches_the_reference_update(l1, l2):
    rng = np.random.default_rng(0)
    p0 = rng.normal(size=50)
    grads = [rng.normal(size=50) for _ in range(7)]
    p = p0.copy()
    opt = Adam(50, dtype=np.float64)
    for g in grads:
        opt.step(p, g.copy(), n_weights=30, l1=l1, l2=l2)   # decay on the first 30 only
    want_w = naive_adam(p0[:30], [g[:30] for g in grads], l1=l1, l2=l2)
    want_b = naive_adam(p0[30:], [g[30:] for g in grads])
    np.testing.assert_allclose(p, np.concatenate([want_w, want_b]), rtol=1e-12, atol=1e-15)


def test_flush_counts_and_zeroes_only_tiny_values():
    a = np.array([0.0, 1e-35, -1e-32, 1e-29, 1.0, -2e-38], np.float32)
    assert flush_tiny(a) == 3
    np.testing.assert_array_equal(a, np.array([0, 0, 0, 1e-29, 1, 0], np.float32))


@pytest.mark.parametrize("bad,where", [
    ([["conv", {"ksize": 3}]], "net[0].chn"),
    ([["pool", {"stride": 2}]], "net[0]: unknown layer type 'pool'"),
    ([["dropout", {"keep_prob": 0}]], "net[0].keep_prob"),
    ([["dropout", {"keep_prob": 1.5}]], "net[0].keep_prob"),
    ([["noise", {"std": -1}]], "net[0].std"),
    ([["conv", {"ksize": 2, "chn": 3}]], "net[0].ksize: only odd"),
    ([["max", {"stride": 0}]], "net[0].stride: must be positive"),
    ([["max", {"stride": 5}]], "net[0].stride: [5, 5] does not divide the 96x96"),
    ([30, ["conv", {"ksize": 3, "chn": 3}]], "net[1]: 'conv' needs an image"),
    ([["full"]], "net[0].width: missing"),
    ([["batch_normal", {"foo": 1}]], "net[0].foo: unknown option"),
])
def test_bad_layer_configs_name_the_key(bad, where):
    with pytest.raises(ConfigError) as err:
        validate_net(bad, input_shape=(96, 96, 3))
    assert where in str(err.value)


def test_named_networks_validate_on_the_study_input():
    for name, net in NAMED_NETS.items():
        assert validate_net(net, (96, 96, 3))


def _unfolded(net):
    """The same network with the first batch norm applying its own scale and shift: the
    conv after it then gets a plain array and acts as an ordinary Conv."""
    net.layers[0].folded = False
    net.layers[1].need_dx = True
    return net


@pytest.mark.parametrize("form", ["exact", "simplified"])
def test_leading_batch_norm_folded_into_the_conv_changes_nothing(form):
    """A first batch norm before a conv is folded into it (engine.conv): logits in both
    modes, every gradient and the running statistics are those of the plain pair."""
    hidden = NETS["cnn_bn"]
    rng = np.random.default_rng(3)
    x = rng.normal(2.0, 3.0, size=(6, 6, 6, 2))
    y = rng.integers(0, 4, (6, 1))
    nets = []
    for fold in (True, False):
        net = Network(hidden, (6, 6, 2), [4], bn_backward=form, dtype=np.float64)
        net.init_params(np.random.default_rng(0), init=0.5)
        net.flat[net.n_weights:] += np.random.default_rng(1).normal(0, 0.3, net.flat.size - net.n_weights)
        nets.append(net if fold else _unfolded(net))
    folded, plain = nets
    assert folded.layers[0].folded and isinstance(folded.layers[1], FoldedConv)
    out = []
    for net in nets:
        xi = net.to_input(x)
        logits, caches = net.forward(xi, train=True, rng=np.random.default_rng(0))
        net.backward(softmax_cross_entropy(logits, y, [4])[1], caches)
        out.append((logits, net.grad.copy(), net.forward(xi)[0], net.layers[0].mavg.copy()))
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    scale = folded.slices["L0.scale"]
    assert np.abs(folded.grad[scale]).min() > 1e-6      # the fold did write them


def test_folded_batch_norm_scale_and_shift_gradients_match_finite_differences():
    rng = np.random.default_rng(5)
    net = Network(NETS["cnn_bn"], (6, 6, 2), [4], dtype=np.float64)
    net.init_params(rng, init=0.5)
    net.flat[net.n_weights:] += rng.normal(0, 0.3, net.flat.size - net.n_weights)
    x = net.to_input(rng.normal(size=(6, 6, 6, 2)))
    y = rng.integers(0, 4, (6, 1))

    def loss():
        return softmax_cross_entropy(net.forward(x, train=True)[0], y, [4])[0]

    logits, caches = net.forward(x, train=True)
    net.backward(softmax_cross_entropy(logits, y, [4])[1], caches)
    for key in ("L0.scale", "L0.shift", "L1.k", "L1.b"):
        sl = net.slices[key]
        _, num = numeric_grad(loss, net.flat[sl])
        assert rel_error(net.grad[sl], num) < 1e-6, key
