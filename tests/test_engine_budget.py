"""A training run keeps to its declared threads (--threads, a workflow job's `threads:`)
and to bounded memory, with results bit-identical to the unbounded way."""
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline.engine.config import ConfigError
from pipeline.engine.dense import Dense
from pipeline.engine.network import EVAL_IMAGES, Network
from pipeline.engine.shards import ShardedNetwork
from pipeline.train.trainer import input_transform

from float_bounds import assert_sums_close, sum_length, twins
from toydata import write_toy_cache

SRC = str(Path(__file__).resolve().parents[1] / "src")
# an unsplit conv net (run in 2 shards) and an MLP whose first layer is split in slices
CNN = "[[conv, {ksize: 3, chn: 4}], [max, {stride: 2}], [dropout, {keep_prob: 0.8}], 8]"
MLP = "[300, 10]"      # 12*12*3*300 = 129,600 weights: above Dense.SPLIT_ABOVE


def _train(data, out, net, threads, shards):
    """`regstudy train` in a child process; returns the most OS threads it had at once
    (/proc/PID/task, sampled while it runs: BLAS and pool threads live as long as it)."""
    env = {**os.environ, "PYTHONPATH": SRC, "OPENBLAS_NUM_THREADS": "2",
           "OMP_NUM_THREADS": "2"}          # the command must pin BLAS to 1 itself
    args = ["train", "--data", str(data), "--net", net, "--out", str(out), "--epochs", "3",
            "--seed", "4", "--l1", "0.001", "--l2", "0.01", "--report", "0",
            "--shards", str(shards), "--threads", str(threads)]
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    most, samples = 0, 0
    while proc.poll() is None:
        try:
            most = max(most, len(os.listdir(f"/proc/{proc.pid}/task")))
            samples += 1
        except FileNotFoundError:
            break
        time.sleep(0.005)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert samples > 20
    return most


def _same_run(a, b):
    for name in ("params.npz", "predictions.npz"):
        with np.load(a / name) as za, np.load(b / name) as zb:
            assert sorted(za.files) == sorted(zb.files)
            for k in za.files:
                assert np.array_equal(za[k], zb[k]), (name, k)
    ma, mb = (json.loads((d / "metrics.json").read_text()) for d in (a, b))
    assert ma["test_accuracy"] == mb["test_accuracy"] and ma["params"] == mb["params"]


@pytest.mark.parametrize("net,shards", [(CNN, 2), (MLP, 1)])
def test_a_one_thread_run_uses_one_thread_and_matches_a_two_thread_run(tmp_path, net, shards):
    data = write_toy_cache(tmp_path / "toy.npz", n=200)
    one = _train(data, tmp_path / "one", net, threads=1, shards=shards)
    two = _train(data, tmp_path / "two", net, threads=2, shards=shards)
    assert one == 1                     # no pool thread, no BLAS thread
    assert two == 2                     # the count sees threads: the pool's one
    _same_run(tmp_path / "one", tmp_path / "two")
    m = json.loads((tmp_path / "one" / "metrics.json").read_text())
    assert m["threads"] == 1 and m["shards"] == shards


def test_batch_norm_shards_need_as_many_threads():
    net = Network([["batch_normal", {}], ["conv", {"ksize": 3, "chn": 2}], 4], (6, 6, 3), [4])
    with pytest.raises(ConfigError, match=r"shards: 2 > threads 1.*--shards 1.*--threads 2"):
        ShardedNetwork(net, 2, threads=1)
    ShardedNetwork(net, 2, threads=2).close()
    ShardedNetwork(net, 1, threads=1).close()
    with pytest.raises(ConfigError, match="threads: must be >= 1"):
        ShardedNetwork(Network([4], (6, 6, 3), [4]), 1, threads=0)


def test_standardization_without_a_copy_is_bit_identical():
    """Statistics of x[index] read chunk by chunk from x equal those of the copy; 96x96
    images, so the 2**20-pixel chunks cut through images."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (300, 96, 96, 3), dtype=np.uint8)
    index = np.sort(rng.permutation(300)[:240])
    gain, offset = input_transform("standardize", x, index)
    want_gain, want_offset = input_transform("standardize", x[index])
    assert np.array_equal(gain, want_gain) and np.array_equal(offset, want_offset)
    assert not np.array_equal(gain, input_transform("standardize", x[index[1:]])[0])


def test_uint8_statistics_from_counts_equal_the_float_sums():
    """uint8 images are standardized from per-channel histograms; float64 sums of
    integers are exact, so the float path (taken for float images) gives the same bits."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, (200, 40, 40, 3), dtype=np.uint8)
    x[:50, ..., 1] = rng.integers(200, 256, (50, 40, 40), dtype=np.uint8)   # skewed channel
    index = np.sort(rng.permutation(200)[:150])
    for idx in (index, None):
        gain, offset = input_transform("standardize", x, idx)
        sub = x if idx is None else x[idx]
        want_gain, want_offset = input_transform("standardize", sub.astype(np.float32))
        assert np.array_equal(gain, want_gain) and np.array_equal(offset, want_offset)
        mean = sub.reshape(-1, 3).astype(np.float64).mean(0)
        np.testing.assert_allclose(-offset / gain, mean, rtol=1e-12)


def test_evaluation_in_small_passes_equals_whole_chunks():
    """The layers before the first full layer see EVAL_IMAGES images at a time: layer by
    layer, from the same input, both ways are within the rounding bound of the exact
    outputs (bit for bit on the BLAS kernels tried, as each output's sum runs over the
    layer's inputs in the kernel's order whatever the batch; a BLAS may let the batch's
    size decide the order)."""
    net = Network([["conv", {"ksize": 3, "chn": 4}], ["batch_normal", {}], ["max", {"stride": 2}],
                   ["dropout", {"keep_prob": 0.5}], ["conv", {"ksize": 5, "chn": 6}],
                   ["avg", {"stride": 2}], 16], (24, 24, 3), [5])
    net.init_params(np.random.default_rng(2), init="he")
    net.set_input_transform(1 / 64.0, -2.0)
    x = np.random.default_rng(3).integers(0, 256, (2 * EVAL_IMAGES + 237, 24, 24, 3), np.uint8)
    exact_net, magnitude_net = twins(net, 1 / 64.0, -2.0)
    a = net.to_input(x[:200])
    first = next(i for i, layer in enumerate(net.layers) if isinstance(layer, Dense))
    for i in range(first):
        whole = net.layers[i].forward(a, net.params[i], False, None)[0]
        small = np.concatenate([net.layers[i].forward(a[:, j:j + EVAL_IMAGES], net.params[i],
                                                      False, None)[0]
                                for j in range(0, 200, EVAL_IMAGES)], axis=1)
        exact = exact_net.layers[i].forward(a.astype(np.float64), exact_net.params[i],
                                            False, None)[0]
        magnitude = magnitude_net.layers[i].forward(np.abs(a).astype(np.float64),
                                                    magnitude_net.params[i], False, None)[0]
        for got in (whole, small):
            assert_sums_close(got, exact, magnitude, sum_length(net.layers[i]), what=f"layer {i}")
        a = whole
    # predict_logits is that small-pass path, then the full layers on the whole chunk
    passes = [net.to_input(x[j:j + EVAL_IMAGES]) for j in range(0, 200, EVAL_IMAGES)]
    for i in range(len(net.layers)):
        if i == first:
            passes = [np.concatenate(passes, axis=1)]
        passes = [net.layers[i].forward(p, net.params[i], False, None)[0] for p in passes]
    np.testing.assert_array_equal(net.predict_logits(x)[:200], passes[0])   # same order


# The peak resident memory of this process image: VmHWM (ru_maxrss would carry over the
# peak of the pytest process that forked it).
MEMORY_SCRIPT = textwrap.dedent("""
    import sys
    from pipeline.cli import main
    rc = main(sys.argv[1:])
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
    print("MAXRSS_MB", int(hwm.split()[1]) // 1024)
    sys.exit(rc)
""")


def test_a_96x96_cnn_run_stays_under_its_memory_bound(tmp_path):
    """2,000 96x96 images (55 MB as uint8): a cnn1 epoch and its evaluation stay under
    300 MB max_rss (before the evaluation passes and the copy-free standardization:
    about 650 MB; flowers' 4,317 images: 780 -> 290 MB)."""
    data = write_toy_cache(tmp_path / "big.npz", n=2000, size=96)
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, "train", "--data", str(data), "--net", "cnn1",
         "--out", str(tmp_path / "run"), "--epochs", "1", "--report", "0", "--threads", "2"],
        env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    rss = int(proc.stdout.split("MAXRSS_MB")[1].split()[0])
    assert rss < 300, rss
