"""Every layer type's backward pass against finite differences (float64), and the
layer semantics the study depends on."""
import numpy as np
import pytest

from float_bounds import assert_sums_close
from gradcheck import numeric_grad, rel_error
from pipeline.engine.batchnorm import BatchNorm
from pipeline.engine.config import parse_layer
from pipeline.engine.network import LAYER_CLASSES

TOL = 1e-6


def make(kind, options, in_shape, **kw):
    spec = parse_layer([kind, options], "t")
    layer = LAYER_CLASSES[kind](spec.options, in_shape, **kw)
    rng = np.random.default_rng(1)
    params = {n: np.empty(s) for n, (s, _) in layer.param_shapes.items()}
    layer.init_params(params, rng, 0.5)
    for n, (_, role) in layer.param_shapes.items():   # non-trivial biases/affines too
        if role != "weight":
            params[n][...] = rng.normal(1.0 if n == "scale" else 0.0, 0.3, params[n].shape)
    return layer, params


def check_layer(layer, params, x, train=True, seed=3):
    """sum(G * layer(x)) against the analytic dx and parameter gradients."""
    g_up = np.random.default_rng(5).normal(size=layer.forward(x, params, train,
                                                              np.random.default_rng(seed))[0].shape)

    def f():
        return float((g_up * layer.forward(x, params, train, np.random.default_rng(seed))[0]).sum())

    out, cache = layer.forward(x, params, train, np.random.default_rng(seed))
    grads = {n: np.zeros_like(p) for n, p in params.items()}
    dx = layer.backward(g_up, cache, params, grads)
    idx, num = numeric_grad(f, x, count=60)
    assert rel_error(dx.reshape(-1)[idx], num) < TOL
    for n, p in params.items():
        idx, num = numeric_grad(f, p, count=40)
        assert rel_error(grads[n].reshape(-1)[idx], num) < TOL, n


IMG = (3, 4, 6, 6)   # C, N, H, W (the engine's layout)


@pytest.mark.parametrize("act", ["relu", "none", "sigmoid", "tanh"])
def test_dense_gradients(act):
    layer, params = make("full", {"width": 7, "actfunc": act}, (5,))
    check_layer(layer, params, np.random.default_rng(0).normal(size=(4, 5)))


def test_dense_flattens_images():
    layer, params = make("full", {"width": 4}, IMG[:1] + IMG[2:])
    check_layer(layer, params, np.random.default_rng(0).normal(size=IMG))


@pytest.mark.parametrize("ksize,act", [(3, "relu"), (1, "none"), (5, "tanh"), ([3, 1], "sigmoid")])
def test_conv_gradients(ksize, act):
    layer, params = make("conv", {"ksize": ksize, "chn": 4, "actfunc": act}, (3, 6, 6))
    check_layer(layer, params, np.random.default_rng(0).normal(size=IMG))


@pytest.mark.parametrize("ksize", [3, [3, 1], 5])
def test_conv_input_gradient_per_kernel_offset(monkeypatch, ksize):
    """Big col2im columns go through one product per kernel offset: gradients right
    (float64), and in float32 both forms within the rounding bound of the exact sums.
    They take the same terms in another order: bit for bit equal on some BLAS kernels
    (research/benchmarks/identity.py), a few ulps apart on others (OpenBLAS's Haswell kernel)."""
    from pipeline.engine import conv
    monkeypatch.setattr(conv, "TAP_PRODUCTS_ABOVE", 0)
    layer, params = make("conv", {"ksize": ksize, "chn": 4, "actfunc": "relu"}, (3, 6, 6))
    check_layer(layer, params, np.random.default_rng(0).normal(size=IMG))
    rng = np.random.default_rng(2)
    k = rng.normal(size=(8, 6, 3, 3)).astype(np.float32)
    dz = rng.normal(size=(8, 5, 20, 20)).astype(np.float32)

    def input_gradient(k, dz, above):
        monkeypatch.setattr(conv, "TAP_PRODUCTS_ABOVE", above)
        layer = conv.Conv({"ksize": (3, 3), "chn": 8, "actfunc": "none"}, (6, 20, 20))
        return layer._input_gradient(k, dz).copy()

    k64, dz64 = k.astype(np.float64), dz.astype(np.float64)
    exact = input_gradient(k64, dz64, 1 << 40)
    magnitude = input_gradient(np.abs(k64), np.abs(dz64), 1 << 40)
    for above in (0, 1 << 40):                   # per offset, one product
        got = input_gradient(k, dz, above)
        assert got.dtype == np.float32
        # each entry: at most 8 output channels x 9 offsets of products
        assert_sums_close(got, exact, magnitude, n=8 * 9, what=f"above={above}")


def test_conv_matches_direct_cross_correlation():
    layer, params = make("conv", {"ksize": 3, "chn": 2, "actfunc": "none"}, (3, 5, 5))
    x = np.random.default_rng(0).normal(size=(3, 2, 5, 5))
    y, _ = layer.forward(x, params, False, None)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    k = params["k"]
    for o in range(2):
        for r in range(5):
            for c in range(5):
                want = params["b"][o] + np.einsum("cnij,cij->n", xp[:, :, r:r + 3, c:c + 3], k[o])
                np.testing.assert_allclose(y[o, :, r, c], want, rtol=1e-12)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("stride", [2, 3, [2, 3]])
def test_pool_gradients(kind, stride):
    layer, params = make(kind, {"stride": stride}, (3, 6, 6))
    check_layer(layer, params, np.random.default_rng(0).normal(size=IMG))


def test_maxpool_first_maximum_takes_the_gradient():
    layer, _ = make("max", {"stride": 2}, (1, 2, 2))
    x = np.array([[[[1.0, 3.0], [3.0, 0.0]]]]).reshape(1, 1, 2, 2)
    y, cache = layer.forward(x, {}, True, None)
    dx = layer.backward(np.ones_like(y), cache, {}, {})
    assert y.item() == 3.0
    np.testing.assert_array_equal(dx.reshape(-1), [0, 1, 0, 0])


def test_dropout_gradient_and_evaluation():
    layer, _ = make("dropout", {"keep_prob": 0.6}, (3, 6, 6))
    x = np.random.default_rng(0).normal(size=IMG)
    check_layer(layer, {}, x)
    y, _ = layer.forward(x, {}, True, np.random.default_rng(1))
    kept = y != 0
    assert 0.5 < kept.mean() < 0.7                     # Bernoulli(0.6) mask
    np.testing.assert_allclose(y[kept], x[kept] / 0.6)  # inverted scaling
    assert layer.forward(x, {}, False, None)[0] is x   # identity at evaluation


@pytest.mark.parametrize("p", [0.6, 0.1, 1.0, 1.0 - 2.0 ** -40])
def test_dropout_mask_keeps_each_unit_with_probability_keep_prob(p):
    from pipeline.engine.dropout import keep_mask
    rng = np.random.default_rng(0)
    masks = keep_mask(rng, (4000, 257), p)          # odd size: half of a 64-bit draw used
    n = masks.size
    assert abs(masks.mean() - p) < 5 * np.sqrt(p * (1 - p) / n) + 1e-12
    # neighbours (the two halves of one 64-bit draw) and rows are independent
    a, b = masks[:, :-1].reshape(-1), masks[:, 1:].reshape(-1)
    assert abs((a & b).mean() - p * p) < 5 * np.sqrt(p * p * (1 - p * p) / a.size) + 1e-12
    assert (masks[0] != masks[1]).any() or p > 1 - 1e-9     # (near) 1: all kept


def test_dropout_draws_a_fresh_mask_each_step():
    layer, _ = make("dropout", {"keep_prob": 0.5}, (3, 6, 6))
    x = np.ones(IMG)
    rng = np.random.default_rng(0)
    a, b = layer.forward(x, {}, True, rng)[0], layer.forward(x, {}, True, rng)[0]
    assert (a != b).any()


def test_noise_training_only():
    layer, _ = make("noise", {"std": 0.5, "mean": 0.1}, (3, 6, 6))
    x = np.zeros((3, 40, 6, 6))
    y, _ = layer.forward(x, {}, True, np.random.default_rng(0))
    assert abs(y.mean() - 0.1) < 0.02 and abs(y.std() - 0.5) < 0.02
    assert layer.forward(x, {}, False, None)[0] is x
    check_layer(layer, {}, np.random.default_rng(0).normal(size=IMG))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_box_muller_samples_are_normal(dtype):
    """Moments, tail masses and independence of the pairs against N(0, std^2)."""
    from math import erf, sqrt
    from pipeline.engine.gaussian import normal
    z = normal(np.random.default_rng(0), (1001, 999), 2.0, dtype)
    assert z.shape == (1001, 999) and z.dtype == dtype
    z = z.ravel().astype(np.float64) / 2.0
    n = z.size
    assert abs(z.mean()) < 5 / sqrt(n) and abs(z.var() - 1) < 5 * sqrt(2 / n)
    assert abs((z ** 3).mean()) < 5 * sqrt(15 / n) and abs((z ** 4).mean() - 3) < 5 * sqrt(96 / n)
    for k in (1, 2, 3):                         # two-sided tail masses, within 5 sigma
        p = 1 - erf(k / sqrt(2))
        assert abs((np.abs(z) > k).mean() - p) < 5 * sqrt(p * (1 - p) / n)
    h = (n + 1) // 2                            # a pair's cos and sin parts: uncorrelated
    assert abs(np.corrcoef(z[:n - h], z[h:])[0, 1]) < 5 / sqrt(n - h)
    assert abs(np.corrcoef(z[:n - h] ** 2, z[h:] ** 2)[0, 1]) < 5 / sqrt(n - h)


@pytest.mark.parametrize("shape", [IMG, (8, 5)])
@pytest.mark.parametrize("rescale", [True, False])
def test_batchnorm_exact_backward_matches_finite_differences(shape, rescale):
    in_shape = (shape[0],) + shape[2:] if len(shape) == 4 else (shape[1],)
    layer, params = make("batch_normal", {"rescale": rescale, "epsilon": 1e-5}, in_shape,
                         backward_form="exact")
    check_layer(layer, params, np.random.default_rng(0).normal(2.0, 3.0, size=shape))


def test_batchnorm_simplified_backward_is_its_own_formula():
    """The reference's form: dx = dout * scale / std (batch statistics held constant),
    which equals the finite-difference gradient of the normalisation with mu and var
    frozen, i.e. of evaluation mode with running statistics = the batch's."""
    layer, params = make("batch_normal", {"epsilon": 1e-5, "exp_ratio": 1.0}, (3, 6, 6),
                         backward_form="simplified")
    x = np.random.default_rng(0).normal(2.0, 3.0, size=IMG)
    out, cache = layer.forward(x, params, True, None)   # exp_ratio 1: running = batch stats
    g_up = np.random.default_rng(5).normal(size=out.shape)
    grads = {n: np.zeros_like(p) for n, p in params.items()}
    dx = layer.backward(g_up, cache, params, grads)
    std = np.sqrt(x.var(axis=(1, 2, 3)) + 1e-5)
    np.testing.assert_allclose(dx, g_up * (params["scale"] / std).reshape(-1, 1, 1, 1), rtol=1e-12)

    def f():
        return float((g_up * layer.forward(x, params, False, None)[0]).sum())
    idx, num = numeric_grad(f, x, count=60)
    assert rel_error(dx.reshape(-1)[idx], num) < TOL
    # and it is NOT the training-mode gradient
    exact = BatchNorm(layer.options, (3, 6, 6), "exact")
    exact.forward(x, params, True, None)
    dx_exact = exact.backward(g_up, exact.forward(x, params, True, None)[1], params,
                              {n: np.zeros_like(p) for n, p in params.items()})
    assert rel_error(dx, dx_exact) > 1e-2


def test_batchnorm_running_statistics():
    layer, params = make("batch_normal", {"exp_ratio": 0.5}, (3, 6, 6))
    x = np.random.default_rng(0).normal(4.0, 2.0, size=IMG)
    layer.forward(x, params, True, None)
    np.testing.assert_allclose(layer.mavg, 0.5 * x.mean(axis=(1, 2, 3)), rtol=1e-6)
    np.testing.assert_allclose(layer.mvar, 0.5 + 0.5 * x.var(axis=(1, 2, 3)), rtol=1e-6)
    y, _ = layer.forward(x, params, False, None)      # evaluation uses the running stats
    want = (x - layer.mavg.reshape(-1, 1, 1, 1)) / np.sqrt(layer.mvar.reshape(-1, 1, 1, 1) + 1e-10)
    np.testing.assert_allclose(y, want * params["scale"].reshape(-1, 1, 1, 1)
                               + params["shift"].reshape(-1, 1, 1, 1), rtol=1e-5)


def test_batchnorm_debiased_running_statistics():
    """After k steps on the same batch, debiased statistics equal the batch's exactly,
    while the plain averages are still a mix with their start (0 and 1)."""
    layer, params = make("batch_normal", {"exp_ratio": 0.01, "epsilon": 1e-5}, (3, 6, 6),
                         debias=True)
    x = np.random.default_rng(0).normal(4.0, 2.0, size=IMG)
    for _ in range(5):
        layer.forward(x, params, True, None)
    mu, var = layer.running_statistics()
    np.testing.assert_allclose(mu, x.mean(axis=(1, 2, 3)), rtol=1e-4)
    np.testing.assert_allclose(var, x.var(axis=(1, 2, 3)), rtol=1e-4)
    assert np.all(np.abs(layer.mavg - mu) > 1.0)
