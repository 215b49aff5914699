"""Each layer's output and gradients against PyTorch's (float64), where PyTorch is
installed (an optional extra: `pip install -e .[torch]`). With REGSTUDY_REQUIRE_TORCH=1
(.ci/run) a missing PyTorch is an error, not a skip."""
import os

import numpy as np
import pytest

if os.environ.get("REGSTUDY_REQUIRE_TORCH") == "1":
    import torch
else:
    torch = pytest.importorskip("torch", reason="PyTorch not installed (optional gold check)")

from pipeline.engine.config import parse_layer  # noqa: E402
from pipeline.engine.network import LAYER_CLASSES  # noqa: E402

F = torch.nn.functional


def run_ours(kind, options, x_cnhw, g_cnhw, params=None, **kw):
    spec = parse_layer([kind, options], "t")
    in_shape = (x_cnhw.shape[0],) + x_cnhw.shape[2:] if x_cnhw.ndim == 4 else x_cnhw.shape[1:]
    layer = LAYER_CLASSES[kind](spec.options, in_shape, **kw)
    params = params or {}
    y, cache = layer.forward(x_cnhw.copy(), params, True, None)
    grads = {n: np.zeros_like(p) for n, p in params.items()}
    layer.need_dx = True
    dx = layer.backward(g_cnhw, cache, params, grads)
    return y, dx, grads


def to_torch(a_cnhw):
    return torch.tensor(a_cnhw.transpose(1, 0, 2, 3).copy(), requires_grad=True)


def from_torch(t):
    return t.detach().numpy().transpose(1, 0, 2, 3)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_conv_matches_torch(rng):
    x = rng.normal(size=(3, 4, 8, 8))
    k, b = rng.normal(size=(5, 3, 3, 3)), rng.normal(size=5)
    y, dx, grads = run_ours("conv", {"ksize": 3, "chn": 5}, x, None or rng.normal(size=(5, 4, 8, 8)),
                            {"k": k, "b": b})
    g = np.random.default_rng(0).normal(size=(5, 4, 8, 8))
    y, dx, grads = run_ours("conv", {"ksize": 3, "chn": 5}, x, g, {"k": k, "b": b})
    xt, kt, bt = to_torch(x), torch.tensor(k, requires_grad=True), torch.tensor(b, requires_grad=True)
    yt = F.relu(F.conv2d(xt, kt, bt, padding=1))
    yt.backward(torch.tensor(g.transpose(1, 0, 2, 3).copy()))
    np.testing.assert_allclose(y, from_torch(yt), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, from_torch(xt.grad), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["k"], kt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(grads["b"], bt.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("kind,fn", [("max", F.max_pool2d), ("avg", F.avg_pool2d)])
def test_pooling_matches_torch(rng, kind, fn):
    x, g = rng.normal(size=(3, 4, 6, 6)), rng.normal(size=(3, 4, 3, 3))
    y, dx, _ = run_ours(kind, {"stride": 2}, x, g)
    xt = to_torch(x)
    yt = fn(xt, 2)
    yt.backward(torch.tensor(g.transpose(1, 0, 2, 3).copy()))
    np.testing.assert_allclose(y, from_torch(yt), rtol=1e-12)
    np.testing.assert_allclose(dx, from_torch(xt.grad), rtol=1e-12)


def test_batchnorm_exact_matches_torch_training_mode(rng):
    x, g = rng.normal(3, 2, size=(3, 4, 5, 5)), rng.normal(size=(3, 4, 5, 5))
    scale, shift = rng.normal(1, 0.2, 3), rng.normal(0, 0.2, 3)
    y, dx, grads = run_ours("batch_normal", {"epsilon": 1e-5}, x, g,
                            {"scale": scale, "shift": shift}, backward_form="exact")
    xt = to_torch(x)
    st, sh = torch.tensor(scale, requires_grad=True), torch.tensor(shift, requires_grad=True)
    yt = F.batch_norm(xt, None, None, st, sh, training=True, eps=1e-5)
    yt.backward(torch.tensor(g.transpose(1, 0, 2, 3).copy()))
    np.testing.assert_allclose(y, from_torch(yt), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dx, from_torch(xt.grad), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(grads["scale"], st.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(grads["shift"], sh.grad.numpy(), rtol=1e-9)


def test_dense_and_loss_match_torch(rng):
    from pipeline.engine.losses import softmax_cross_entropy
    x, w, b = rng.normal(size=(6, 10)), rng.normal(size=(10, 5)), rng.normal(size=5)
    y = rng.integers(0, 5, (6, 1))
    spec = parse_layer(["full", {"width": 5, "actfunc": "none"}], "t")
    layer = LAYER_CLASSES["full"](spec.options, (10,))
    logits, cache = layer.forward(x, {"w": w, "b": b}, True, None)
    loss, dlogits, _ = softmax_cross_entropy(logits, y, [5])
    grads = {"w": np.zeros_like(w), "b": np.zeros_like(b)}
    dx = layer.backward(dlogits, cache, {"w": w, "b": b}, grads)
    xt = torch.tensor(x, requires_grad=True)
    wt, bt = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    lt = F.cross_entropy(xt @ wt + bt, torch.tensor(y[:, 0]))
    lt.backward()
    assert loss == pytest.approx(lt.item(), rel=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(grads["w"], wt.grad.numpy(), rtol=1e-10)


def test_adam_matches_torch(rng):
    from pipeline.engine.optim import Adam
    p0 = rng.normal(size=20)
    grads = [rng.normal(size=20) for _ in range(5)]
    pt = torch.tensor(p0.copy(), requires_grad=True)
    opt = torch.optim.Adam([pt], lr=0.001)
    ours = Adam(20, dtype=np.float64)
    p = p0.copy()
    for g in grads:
        ours.step(p, g.copy())
        pt.grad = torch.tensor(g)
        opt.step()
    np.testing.assert_allclose(p, pt.detach().numpy(), rtol=1e-10)
