"""Data-parallel steps (pipeline.engine.shards): a minibatch cut into shards, each run on
its own thread, must give the gradient, batch statistics and running averages of the
whole minibatch; random layers draw per shard but agree on per-minibatch coins."""
import threading

import numpy as np
import pytest

from pipeline.engine.config import ConfigError
from pipeline.engine.draws import Draws
from pipeline.engine.losses import softmax_cross_entropy
from pipeline.engine.network import Network
from pipeline.engine.noise import Noise
from pipeline.engine.protocol import resolve
from pipeline.engine.shards import ShardedNetwork, bounds, default_shards, step_draws
from pipeline.train.trainer import Trainer

BN_CNN = [["batch_normal", {"epsilon": 1e-5}], ["conv", {"ksize": 3, "chn": 3}],
          ["max", {"stride": 2}], ["batch_normal", {"epsilon": 1e-5}],
          ["conv", {"ksize": 3, "chn": 2}], ["batch_normal", {"epsilon": 1e-5}], 4]
BN_MLP = [6, ["batch_normal", {"epsilon": 1e-5}], 4]
PLAIN_CNN = [["conv", {"ksize": 3, "chn": 3}], ["max", {"stride": 2}],
             ["conv", {"ksize": 3, "chn": 4}], ["avg", {"stride": 2}], 5]


def test_bounds_cover_the_batch_in_order():
    assert bounds(10, 2) == [(0, 5), (5, 10)]
    assert bounds(7, 3) == [(0, 3), (3, 5), (5, 7)]
    assert bounds(1, 2) == [(0, 1)]          # never an empty shard
    assert bounds(0, 2) == [(0, 0)]


def test_allreduce_gives_every_shard_every_total_over_many_calls():
    from pipeline.engine.shards import Allreduce
    ar = Allreduce(3)
    got = {k: [] for k in range(3)}

    def shard(k):
        for call in range(300):
            got[k].append(ar(k, np.array([(k + 1) * call, 1.0]))[0])
    threads = [threading.Thread(target=shard, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    want = [[6.0 * c, 3.0] for c in range(300)]
    for k in range(3):
        assert [list(v) for v in got[k]] == want


def _batch(n=7, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (n, 8, 8, 2)).astype(np.uint8),
            np.stack([rng.integers(0, 2, n), rng.integers(0, 3, n)], axis=1))


@pytest.mark.parametrize("shards", [2, 3])
@pytest.mark.parametrize("form", ["exact", "simplified"])
@pytest.mark.parametrize("hidden", [BN_CNN, BN_MLP, PLAIN_CNN], ids=["bn_cnn", "bn_mlp", "cnn"])
def test_shards_give_the_whole_minibatch_gradient(hidden, form, shards):
    x, y = _batch()
    nets = []
    for _ in range(2):
        net = Network(hidden, (8, 8, 2), [2, 3], bn_backward=form, dtype=np.float64)
        net.init_params(np.random.default_rng(1), init="he")
        net.set_input_transform(1 / 255.0, -0.5)
        nets.append(net)
    whole, sharded_net = nets
    logits, caches = whole.forward(whole.to_input(x), train=True)
    loss, dlogits, _ = softmax_cross_entropy(logits, y, [2, 3])
    whole.backward(dlogits, caches)

    sharded = ShardedNetwork(sharded_net, shards)
    logits2 = sharded.forward(x, np.random.default_rng(0))
    loss2, dlogits2, _ = softmax_cross_entropy(logits2, y, [2, 3])
    sharded.backward(dlogits2)
    sharded.close()
    np.testing.assert_allclose(logits2, logits, rtol=1e-10, atol=1e-12)
    assert loss2 == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(sharded_net.grad, whole.grad, rtol=1e-8, atol=1e-12)
    assert np.abs(whole.grad).max() > 1e-3            # a real gradient was compared
    for a, b in zip(whole.state_arrays().items(), sharded_net.state_arrays().items()):
        np.testing.assert_allclose(b[1], a[1], rtol=1e-10, err_msg=a[0])   # running stats


@pytest.mark.parametrize("shards", [2, 3])
def test_sharded_prediction_is_the_networks(shards):
    """Evaluation on the shards' threads (batch norm on its running statistics, dropout
    and noise off) gives net.predict_logits's logits, in order, also after close()."""
    hidden = [["noise", {"std": 0.3}], *BN_CNN[:-1], ["dropout", {"keep_prob": 0.5}], 4]
    net = Network(hidden, (8, 8, 2), [2, 3], dtype=np.float64)
    net.init_params(np.random.default_rng(3), init="he")
    net.set_input_transform(1 / 255.0, -0.5)
    for layer in net.layers:
        if hasattr(layer, "mavg"):
            layer.mavg[...], layer.mvar[...] = 0.1, 2.0
    x, _ = _batch(n=11, seed=5)
    want = net.predict_logits(x, chunk=3)
    sharded = ShardedNetwork(net, shards)
    got = sharded.predict_logits(x, chunk=4)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    assert got.shape == (11, 5) and np.abs(got[1:] - got[:-1]).max() > 1e-6
    sharded.close()
    np.testing.assert_allclose(sharded.predict_logits(x), want, rtol=1e-12, atol=1e-14)


def test_unsharded_big_dense_layer_split_by_rows_gives_the_same_gradient():
    x, y = _batch(6)
    nets = []
    for _ in range(2):
        net = Network([600, 7], (8, 8, 2), [2, 3], dtype=np.float64)   # 76,800 weights first
        net.init_params(np.random.default_rng(1), init="he")
        nets.append(net)
    whole, split_net = nets
    logits, caches = whole.forward(whole.to_input(x), train=True)
    _, dlogits, _ = softmax_cross_entropy(logits, y, [2, 3])
    whole.backward(dlogits, caches)
    sharded = ShardedNetwork(split_net, 1)
    assert split_net.layers[0].map_slices is not None      # the big layer is split
    logits2 = sharded.forward(x, np.random.default_rng(0))
    _, dlogits2, _ = softmax_cross_entropy(logits2, y, [2, 3])
    sharded.backward(dlogits2)
    sharded.close()
    np.testing.assert_allclose(logits2, logits, rtol=1e-10)
    np.testing.assert_allclose(split_net.grad, whole.grad, rtol=1e-8, atol=1e-12)
    assert split_net.layers[0].map_slices is None            # closed: unsplit again
    np.testing.assert_allclose(split_net.predict_logits(x), whole.predict_logits(x), rtol=1e-10)


def test_a_failing_shard_raises_and_does_not_hang():
    x, y = _batch(10)
    net = Network(BN_CNN, (8, 8, 2), [2, 3])
    net.init_params(np.random.default_rng(1), init="he")
    sharded = ShardedNetwork(net, 2)
    conv = sharded.replicas[1].layers[1]
    original = conv.forward

    def broken(*a, **k):
        raise RuntimeError("shard 1 broke")
    conv.forward = broken
    done = []
    t = threading.Thread(target=lambda: done.append(
        pytest.raises(RuntimeError, sharded.forward, x, np.random.default_rng(0))))
    t.start()
    t.join(timeout=30)
    assert done and "shard 1 broke" in str(done[0].value)
    conv.forward = original                      # the next step works again
    logits = sharded.forward(x, np.random.default_rng(0))
    assert logits.shape == (10, 5) and np.isfinite(logits).all()
    sharded.close()


def test_a_failing_slice_raises_after_the_others_finished():
    import time
    sharded = ShardedNetwork(Network([6, 4], (8, 8, 2), [4]), 1)
    finished = []

    def work(sl):
        if sl.start == 0:
            raise ValueError("slice 0 broke")
        time.sleep(0.2)                          # still writing when slice 0 fails
        finished.append(sl.start)
    with pytest.raises(ValueError, match="slice 0 broke"):
        sharded.map_slices(work, 1 << 17)
    assert finished == [1 << 16]                 # waited for: no writer left behind
    assert [s.stop - s.start for s in sharded.map_slices(lambda s: s, 10)] == [10]
    sharded.close()


def test_noise_coin_is_shared_by_the_shards_and_samples_are_not():
    layer = Noise({"type": "normal", "mean": 0.0, "std": 1.0, "ratio": 0.5}, (3, 4, 4))
    x = np.zeros((3, 2, 4, 4), np.float32)
    rng = np.random.default_rng(0)
    noised = []
    for _ in range(40):
        d0, d1 = step_draws(rng, 2)
        a, b = layer.forward(x, {}, True, d0)[0], layer.forward(x, {}, True, d1)[0]
        assert a.any() == b.any()                # the same coin in both shards
        if a.any():
            assert not np.array_equal(a, b)      # each shard its own samples
        noised.append(a.any())
    assert 8 < sum(noised) < 32                  # the coin is a coin


def test_draws_of_a_generator_serve_both_purposes():
    g = np.random.default_rng(0)
    d = Draws.of(g)
    assert d.batch is g and d.local is g and Draws.of(d) is d and Draws.of(None) is None


def test_default_shards_and_identical_reruns():
    assert default_shards(Network([6, 4], (8, 8, 2), [4])) == 1
    assert default_shards(Network(PLAIN_CNN, (8, 8, 2), [4])) == 2
    x, y = _batch(20)
    hidden = [["conv", {"ksize": 3, "chn": 3}], ["dropout", {"keep_prob": 0.5}],
              ["max", {"stride": 2}], ["noise", {"std": 0.1}], ["batch_normal"], 4]
    results = []
    for shards in (2, 2, 1):
        net = Network(hidden, (8, 8, 2), [2, 3])
        net.init_params(np.random.default_rng(1), init="he")
        tr = Trainer(net, resolve("corrected"), l1=0.001, l2=0.01, batch_size=5,
                     train_images=x, shards=shards)
        rng = np.random.default_rng(3)
        costs = [tr.step(x[i:i + 5], y[i:i + 5], rng)[0] for i in range(0, 20, 5)]
        results.append((costs, net.flat.copy()))
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])      # same seed, same bits
    assert not np.array_equal(results[0][1], results[2][1])          # other shards, other draws


@pytest.mark.parametrize("shards", [1, 2])
@pytest.mark.parametrize("protocol", ["corrected", "reference"])
def test_trainer_step_is_the_penalised_adam_step(protocol, shards):
    """One Trainer step (sharded, fused gradient/penalty/Adam pass) against the same
    step written out: whole-batch gradient, penalty, Adam (or Adam then decay)."""
    x, y = _batch(10)
    l1, l2 = 0.01, 0.1
    quirks = resolve(protocol)
    nets = []
    for _ in range(2):
        net = Network(PLAIN_CNN, (8, 8, 2), [2, 3], dtype=np.float64)
        net.init_params(np.random.default_rng(1), init="he")
        nets.append(net)
    net, ref = nets
    tr = Trainer(net, quirks, l1=l1, l2=l2, train_images=x, shards=shards)
    ref.set_input_transform(*tr_input(quirks, x))
    cost = tr.step(x, y, np.random.default_rng(0))[0]

    w0 = ref.weights.copy()
    logits, caches = ref.forward(ref.to_input(x), train=True)
    loss, dlogits, _ = softmax_cross_entropy(logits, y, [2, 3])
    ref.backward(dlogits, caches)
    penalty = l2 * 0.5 * (w0 ** 2).sum() + l1 * np.abs(w0).sum()
    reported = penalty if quirks["penalty_cost"] == "scaled" else 0.5 * (w0 ** 2).sum() + np.abs(w0).sum()
    assert cost == pytest.approx(loss + reported, rel=1e-9)
    from pipeline.engine.optim import Adam
    opt = Adam(ref.flat.size, dtype=np.float64)
    g = ref.grad.copy()
    if quirks["decay"] == "loss_gradient":
        g[:ref.n_weights] += l2 * w0 + l1 * np.sign(w0)
        opt.step(ref.flat, g)
    else:
        opt.step(ref.flat, g, n_weights=ref.n_weights, l1=l1, l2=l2)
    np.testing.assert_allclose(net.flat, ref.flat, rtol=1e-9, atol=1e-12)
    assert np.abs(net.flat[:ref.n_weights] - w0).max() > 1e-4    # the step moved them


def tr_input(quirks, x):
    from pipeline.train.trainer import input_transform
    return input_transform(quirks["input_scale"], x)


def test_shards_ask_layers_what_they_need_not_their_kind(monkeypatch):
    """A new kind of layer that draws in every step gets the step's draws, one that
    meets the other shards needs as many threads, one that shards pay off for gets 2
    shards by default: by what it declares (engine.layer), with no list of kinds."""
    from pipeline.engine import network
    from pipeline.engine.layer import Layer

    seen = []

    class Coin(Layer):                    # a kind the sharding code has never heard of
        draws_per_step = True
        shards_pay_off = True

        def forward(self, x, params, train, rng):
            seen.append(rng)
            return x * rng.keep_mask(x.shape, 0.5) if train else x, None

        def backward(self, dout, cache, params, grads):
            return dout

    monkeypatch.setitem(network.LAYER_CLASSES, "dropout", Coin)
    net = Network([["dropout", {"keep_prob": 0.5}], 6], (8, 8, 2), [3])
    net.init_params(np.random.default_rng(0))
    assert isinstance(net.layers[0], Coin) and default_shards(net) == 2
    sharded = ShardedNetwork(net, 2, threads=2)
    x, _ = _batch(6)
    sharded.forward(x, np.random.default_rng(1))
    sharded.close()
    assert len(seen) == 2 and all(isinstance(d, Draws) for d in seen)    # not None

    Coin.uses_step = True                 # meets the other shards: threads >= shards
    try:
        with pytest.raises(ConfigError, match="runs its shards at once"):
            ShardedNetwork(net, 2, threads=1)
    finally:
        del Coin.uses_step
