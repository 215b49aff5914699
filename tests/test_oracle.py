"""The engine's `reference` protocol against the independent oracle (reference_oracle.py),
both in float64, from the same initial parameters, minibatches and random draws.

The engine records its dropout masks and noise draws through hooks on the two functions
that make them (engine.draws' keep_mask and `normal`, and the noise layer's forward for
the per-minibatch coin); the oracle takes them in NHWC layout. Besides the step-by-step
costs, parameters, accuracies, running statistics and final evaluation logits, the run
checks the reference's semantics of the things the oracle cannot recompute: the initial
weights' distribution (N(0, 0.03), biases 0, scale 1, shift 0), the epoch's minibatches
(a permutation of the first floor(n/10)*10 samples) and the validation sample (100
distinct samples of the split).

test_quirk_flip_is_caught runs the engine with `corrected`'s value of one quirk while the
oracle stays reference, and asserts that the comparison then fails: so these tests fail
when a quirk's implementation changes.
"""
import numpy as np
import pytest

from pipeline.engine import draws as draws_mod
from pipeline.engine import noise as noise_mod
from pipeline.engine.config import parse_hidden
from pipeline.engine.nets import NAMED_NETS
from pipeline.engine.network import Network
from pipeline.engine.protocol import QUIRKS, resolve
from pipeline.train.trainer import Trainer
from reference_oracle import Oracle, layer_list
from toydata import toy_images

TOL = 1e-9          # relative agreement required
FAIL = 1e-6         # a flipped quirk must push the discrepancy above this
N_TRAIN = 45        # not a multiple of 10: the leftover five matter (Q12)
N_VAL = 150
LR = 0.001


def nhwc(a):
    """Engine CNHW (or flat (N, F)) -> NHWC (or unchanged)."""
    return a.transpose(1, 2, 3, 0) if a.ndim == 4 else a


class Recorder:
    """The masks and noise draws the engine used in one step, in layer order."""

    def __init__(self, monkeypatch):
        self.items = []
        keep_mask, normal, noise_forward = (draws_mod.keep_mask, draws_mod.normal,
                                            noise_mod.Noise.forward)

        def record_mask(rng, shape, p):
            mask = keep_mask(rng, shape, p)
            self.items.append(nhwc(mask.copy()))
            return mask

        def record_normal(rng, shape, std, dtype):
            out = normal(rng, shape, std, dtype)
            self.items[-1] = nhwc(out.copy())        # the coin said yes
            return out

        def record_coin(layer, x, params, train, rng):
            if train:
                self.items.append(None)              # replaced by the draw, if any
            return noise_forward(layer, x, params, train, rng)

        monkeypatch.setattr(draws_mod, "keep_mask", record_mask)
        monkeypatch.setattr(draws_mod, "normal", record_normal)
        monkeypatch.setattr(noise_mod.Noise, "forward", record_coin)


def oracle_params(net):
    """The engine's parameters in the reference's layout: kernels [kh, kw, C, chn], and
    a full layer after an image with rows in HWC order (the engine flattens CHW; the
    first layer already gets HWC-flattened pixels)."""
    out = []
    for i, (layer, params) in enumerate(zip(net.layers, net.params)):
        p = {k: v.astype(np.float64).copy() for k, v in params.items()}
        if "k" in p:
            p["k"] = p["k"].transpose(2, 3, 1, 0)
        if "w" in p and i > 0 and len(layer.in_shape) == 3:
            c, h, w = layer.in_shape
            p["w"] = p["w"].reshape(c, h, w, -1).transpose(1, 2, 0, 3).reshape(c * h * w, -1)
        out.append(p)
    return out


def rel(a, b):
    """max |a - b| / max |b|; inf when either holds a NaN or inf (max() would drop a NaN)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return np.inf
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)) if b.size else 0.0


def init_problems(net):
    """The reference's initialisation: every w and k N(0, 0.03), biases 0, scale 1,
    shift 0 (statistically: the pooled weights' std within 3%, mean near 0)."""
    w = net.weights.astype(np.float64)
    problems = []
    if abs(w.std() / 0.03 - 1) > 0.03 or abs(w.mean()) > 4 * 0.03 / np.sqrt(w.size):
        problems.append(f"init: weights mean {w.mean():.4g} std {w.std():.4g}, not N(0, 0.03)")
    for params in net.params:
        for name, p in params.items():
            want = {"b": 0.0, "shift": 0.0, "scale": 1.0}.get(name)
            if want is not None and np.any(p != want):
                problems.append(f"init: {name} is not {want}")
    return problems


def compare(monkeypatch, hidden, size, steps, l1=0.0, l2=0.0, overrides=None, shards=1,
            seed=0):
    """Train the engine (reference protocol with `overrides`, float64) and the oracle side
    by side for `steps` steps. Returns (worst relative discrepancy, semantic problems)."""
    rec = Recorder(monkeypatch)
    q = resolve("reference", overrides)
    x, y = toy_images(N_TRAIN + N_VAL, size=size, seed=seed)
    y = y[:, None]
    xt, yt, xv, yv = x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]
    rng = np.random.default_rng(seed)           # the reference's single stream
    net = Network(parse_hidden(hidden), (size, size, 3), [5], bn_backward=q["bn_backward"],
                  bn_debias=q["bn_running_stats"] == "debiased", dtype=np.float64)
    net.init_params(rng, init=0.03 if q["init"] == "normal0.03" else q["init"])
    problems = init_problems(net)
    oracle = Oracle(layer_list(hidden, 5), oracle_params(net), [5], lr=LR, l1=l1, l2=l2,
                    log_floor=0.0)     # the engine leaves out the loss's +1e-10 (Q21)
    trainer = Trainer(net, q, lr=LR, l1=l1, l2=l2, batch_size=10, train_images=xt,
                      shards=shards)
    worst, done = 0.0, 0
    try:
        while done < steps:
            batches = trainer.batches(N_TRAIN, rng)
            order = np.concatenate(batches)
            used = (N_TRAIN // 10) * 10
            if sorted(order) != list(range(used)) or any(len(b) != 10 for b in batches):
                problems.append("minibatches: not a permutation of the first "
                                f"{used} samples in batches of 10 (Q12)")
            for bi in batches:
                rec.items.clear()
                cost, data_loss, _, correct = trainer.step(xt[bi], yt[bi], rng)
                o_cost, o_loss, _, o_correct = oracle.step(xt[bi], yt[bi], rec.items)
                worst = max(worst, rel(cost, o_cost), rel(data_loss, o_loss))
                if list(correct) != o_correct:
                    problems.append(f"step {done}: training accuracy {correct} != {o_correct}")
                done += 1
                if done % 10 == 0 or done == steps:
                    for p, op in zip(oracle_params(net), oracle.params):
                        for name in p:
                            worst = max(worst, rel(p[name], op[name]))
                if done == steps:
                    break
        val_idx = np.arange(N_VAL)
        vi = trainer.validation_indices(val_idx, rng)
        if len(vi) != 100 or len(set(vi.tolist())) != 100:
            problems.append(f"validation: {len(vi)} samples, not 100 distinct ones (Q11)")
        logits = trainer.predict_logits(xv[vi])
        worst = max(worst, rel(logits, oracle.predict(xv[vi])))
        for i, layer in enumerate(net.layers):
            if i in oracle.running:
                for ours, theirs in zip(layer.running_statistics(), oracle.running[i]):
                    worst = max(worst, rel(ours, theirs))
    finally:
        trainer.close()
    return worst, problems


# (name, hidden, image size, l1, l2, the quirks that touch it)
GENERAL = ("input_scale", "init", "leftover", "validation")
CASES = {
    "mlp": (NAMED_NETS["mlp"], 48, 0.0, 0.0, GENERAL),
    "mlp_l2": (NAMED_NETS["mlp"], 48, 0.0, 0.1, GENERAL + ("decay", "penalty_cost")),
    "mlp_l1": (NAMED_NETS["mlp"], 48, 0.01, 0.0, GENERAL + ("decay", "penalty_cost")),
    "cnn1": (NAMED_NETS["cnn1"], 24, 0.0, 0.0, GENERAL),
    "cnn2": (NAMED_NETS["cnn2"], 24, 0.0, 0.0, GENERAL),
    "cnn3": (NAMED_NETS["cnn3"], 24, 0.0, 0.0, GENERAL),
    "cnn4": (NAMED_NETS["cnn4"], 24, 0.0, 0.0,
             GENERAL + ("bn_backward", "bn_running_stats", "bn_affine_optimizer")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_engine_matches_oracle_for_100_steps(monkeypatch, case):
    hidden, size, l1, l2, _ = CASES[case]
    worst, problems = compare(monkeypatch, hidden, size, 100, l1=l1, l2=l2)
    assert problems == []
    assert worst < TOL, f"{case}: engine and oracle differ by {worst:.3g} (relative)"


@pytest.mark.parametrize("case", ["cnn1", "cnn4"])
def test_two_shards_match_the_oracle(monkeypatch, case):
    """A minibatch in two shards (batch-norm statistics added across them) is still the
    reference's step."""
    hidden, size, l1, l2, _ = CASES[case]
    worst, problems = compare(monkeypatch, hidden, size, 20, shards=2)
    assert problems == [] and worst < TOL


def test_noise_coin_is_taken_from_the_engine(monkeypatch):
    """ratio < 1: minibatches without noise are recorded as such and still agree."""
    hidden = [["noise", {"std": 5.0, "ratio": 0.5}], 20]
    worst, problems = compare(monkeypatch, hidden, 12, 40)
    assert problems == [] and worst < TOL


FLIPS = [(case, quirk) for case, (*_, quirks) in CASES.items() for quirk in quirks]


@pytest.mark.parametrize("case,quirk", FLIPS)
def test_quirk_flip_is_caught(monkeypatch, case, quirk):
    hidden, size, l1, l2, _ = CASES[case]
    corrected = QUIRKS[quirk][1]
    if quirk == "init":
        corrected = "he"        # whatever `corrected` defaults to, the other value
    worst, problems = compare(monkeypatch, hidden, size, 10, l1=l1, l2=l2,
                              overrides={quirk: corrected})
    assert problems or worst > FAIL, \
        f"{case} with {quirk}={corrected} still matches the reference oracle ({worst:.3g})"
