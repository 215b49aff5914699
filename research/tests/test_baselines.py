"""research/benchmarks/baselines.py's table: paired seeds only, the interval and the seed count
(no training: the runs are given)."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

SPEC = importlib.util.spec_from_file_location(
    "baselines", Path(__file__).resolve().parents[1] / "benchmarks" / "baselines.py")
baselines = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(baselines)


def key(net, seed, side):
    return f"{net}|{seed}|{side}"


def test_table_pairs_the_seeds_both_sides_have():
    diffs = np.array([0.01, -0.02, 0.03, 0.00, 0.02, -0.01])
    done = {}
    for k, d in enumerate(diffs, 1):
        done[key("mlp", k, "engine")] = 0.40 + d
        done[key("mlp", k, "torch std")] = 0.40
        if k <= 3:                                   # /255 only for seeds 1-3
            done[key("mlp", k, "torch /255")] = 0.30
    rows = baselines.table(done, key, ["mlp", "cnn1"], list(range(1, 8)), "engine")
    assert len(rows) == 4                            # head, rule, mlp /255, mlp std; no cnn1
    unit, std = rows[2].split(" | "), rows[3].split(" | ")
    assert unit[1:6] == ["/255", "3", f"{100 * (0.40 + diffs[:3].mean()):.1f}", "30.0",
                         baselines.paired(diffs[:3] + 0.10)]
    sd, n = 100 * diffs.std(ddof=1), 6
    half = stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n)
    assert std[5] == f"{100 * diffs.mean():+.1f} [{100 * diffs.mean() - half:+.1f}, " \
                     f"{100 * diffs.mean() + half:+.1f}]"
    need = int(std[6].rstrip(" |"))
    assert need == baselines.seeds_for_width(diffs)
    t = stats.t.ppf(0.975, [need - 2, need - 1])
    assert t[1] * sd / np.sqrt(need) <= 1.0 < t[0] * sd / np.sqrt(need - 1)


@pytest.mark.parametrize("net", ["mlp", "cnn1"])
def test_twin_starts_from_the_engines_weights(net):
    """The twin's PyTorch network computes the engine's initial function: same logits."""
    torch = pytest.importorskip("torch")
    from torch_nets import build

    from pipeline.engine.nets import NAMED_NETS
    from pipeline.engine.network import Network
    from pipeline.engine.protocol import resolve
    from pipeline.train.streams import make_streams

    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 96, 96, 3)).astype(np.float32)
    y = np.array([0, 4, 2, 1])
    model = build(torch, net, "none", size=96)
    baselines.copy_engine_init(torch, model, net, x.shape[1:], y,
                               make_streams(7, "separate_streams")["init"])
    eng = Network(NAMED_NETS[net], x.shape[1:], [5])
    eng.init_params(make_streams(7, "separate_streams")["init"],
                    init=resolve("corrected")["init"])
    want = eng.predict_logits(x)
    with torch.no_grad():
        got = model(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert np.abs(want).max() > 0.05       # not a trivially small function
