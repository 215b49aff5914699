"""Killed runs resume exactly; outputs are never half-written; failures explain
themselves (real subprocesses, SIGKILL)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from toydata import write_toy_cache

NET = "[[conv, {ksize: 3, chn: 8}], [max, {stride: 2}], [dropout, {keep_prob: 0.8}], " \
      "[conv, {ksize: 3, chn: 8}], [avg, {stride: 2}], [noise, {std: 0.05}], 16]"
TIMING = ("train_seconds", "eval_seconds", "seconds_per_epoch", "test_seconds")


def train_cmd(data, out, protocol, epochs=4):
    return [sys.executable, "-m", "pipeline.cli", "train", "--data", str(data), "--net", NET,
            "--out", str(out), "--protocol", protocol, "--epochs", str(epochs), "--seed", "3",
            "--l2", "0.01", "--experiment", "killme"]


def untimed(path):
    m = json.loads(Path(path).read_text())
    return {k: v for k, v in m.items() if k not in TIMING}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_toy_cache(tmp_path_factory.mktemp("d") / "toy.npz", n=800, size=24)


def epochs_done(out):
    hist = out / "history.csv"
    return len(hist.read_text().splitlines()) - 1 if hist.exists() else 0


@pytest.mark.parametrize("protocol", ["reference", "corrected"])
def test_killed_run_resumes_with_identical_metrics(data, tmp_path, protocol):
    whole = tmp_path / "whole"
    subprocess.run(train_cmd(data, whole, protocol), check=True, capture_output=True)

    cut = tmp_path / "cut"
    proc = subprocess.Popen(train_cmd(data, cut, protocol), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while epochs_done(cut) < 2 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 2 <= epochs_done(cut) < 4, "the run was not killed mid-way"
    assert not (cut / "metrics.json").exists()          # nothing looks complete
    assert (cut / "checkpoint.npz").exists()

    res = subprocess.run(train_cmd(data, cut, protocol), check=True, capture_output=True, text=True)
    assert "Resuming killme (seed 3) from epoch" in res.stdout
    assert untimed(cut / "metrics.json") == untimed(whole / "metrics.json")
    assert untimed(whole / "metrics.json")["shards"] == 2      # a CNN's default: sharded steps
    with np.load(cut / "params.npz") as a, np.load(whole / "params.npz") as b:
        for k in a.files:
            np.testing.assert_array_equal(a[k], b[k])
    assert not (cut / "checkpoint.npz").exists()         # removed once complete


def test_checkpoint_of_other_settings_is_not_resumed(data, tmp_path):
    out = tmp_path / "r"
    cmd = train_cmd(data, out, "corrected", epochs=3)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # the checkpoint, not history.csv (written just before it): waiting for the history
    # could kill the run between the two, leaving nothing to refuse
    deadline = time.time() + 120
    while not (out / "checkpoint.npz").exists() and proc.poll() is None \
            and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (out / "checkpoint.npz").exists() and not (out / "metrics.json").exists()
    cmd[cmd.index("--l2") + 1] = "0.02"                  # different settings
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    assert "written with other settings; starting from scratch" in res.stdout
    assert "Resuming" not in res.stdout


WRITER = """
import sys, numpy as np
from pipeline import atomic
big = np.ones(60_000_000, np.float32)       # 240 MB: takes a while to write
print("start", flush=True)
while True:
    atomic.save_npz(sys.argv[1], a=big)
"""


def test_kill_during_a_write_leaves_no_partial_file(tmp_path):
    """Killed while it rewrites a complete file: the file stays the complete previous
    version, the torn temporary is left aside and removed by the next run."""
    target = tmp_path / "params.npz"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE)
    proc.stdout.readline()
    deadline = time.time() + 120
    # a first write has completed and the next one is under way
    while not (target.exists() and list(tmp_path.glob(".params.npz.*.tmp"))) \
            and time.time() < deadline:
        time.sleep(0.001)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert target.exists(), "no complete write within the deadline"
    with np.load(target) as z:
        assert z["a"].shape == (60_000_000,) and z["a"][-1] == 1.0
    torn = list(tmp_path.glob(".params.npz.*.tmp"))
    assert len(torn) == 1                       # killed mid-write, beside the target
    from pipeline import atomic
    atomic.remove_stale_temporaries(tmp_path)
    assert not list(tmp_path.glob(".*.tmp"))


def test_diverging_cli_run_exits_3_with_the_message(data, tmp_path):
    cmd = train_cmd(data, tmp_path / "d", "reference", epochs=3)
    cmd[cmd.index("--l2") + 1] = "1e7"
    cmd += ["--lr", "1e7"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 3
    assert "killme (seed 3) diverged at epoch 1" in res.stderr
    m = json.loads((tmp_path / "d" / "metrics.json").read_text())
    assert m["status"] == "diverged" and m["diverged_epoch"] == 1
    res = subprocess.run(cmd + ["--on-divergence", "record"], capture_output=True, text=True)
    assert res.returncode == 0 and "diverged" in res.stderr


@pytest.mark.parametrize("args,message", [
    (["--net", "[[conv, {ksize: 3, chn: 4}], [max, {stride: 5}]]"],
     "net[1].stride: [5, 5] does not divide the 24x24 feature map"),
    (["--net", "[[dropout, {keep_prob: 2}]]"], "net[0].keep_prob: must be in (0, 1]"),
    (["--quirk", "decay=sometimes"], "quirk decay: expected one of after_adam, loss_gradient"),
    (["--shards", "0"], "argument --shards: 0 is less than the minimum of 1"),
    (["--train-size", "-5"], "argument --train-size: -5 is less than the minimum of 1"),
])
def test_bad_cli_settings_are_refused_with_the_key(data, tmp_path, args, message):
    cmd = train_cmd(data, tmp_path / "x", "corrected") + args
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 2 and message in res.stderr, res.stderr
    assert not (tmp_path / "x" / "metrics.json").exists()


def test_corrupt_cache_is_a_clear_error(tmp_path):
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    res = subprocess.run(train_cmd(bad, tmp_path / "x", "corrected"), capture_output=True, text=True)
    assert res.returncode == 7                   # the data cache is at fault (docs/troubleshooting.md)
    assert "broken.npz" in res.stderr and "corrupt" in res.stderr
    assert "Traceback" not in res.stderr
