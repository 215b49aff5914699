"""`regstudy status`: the state of every planned run from a run-folder tree."""
import json
import os
import time
from types import SimpleNamespace

import pytest
import yaml

from pipeline.cli import main
from pipeline.report import status
from pipeline.train import checkpoint

NOW = time.time()      # the tree's clock; the CLI test sets the status module's to it
CONFIG = {
    "protocols": ["corrected"], "seeds": [1, 2], "select": [],
    "training": {"epochs": 10, "batch_size": 10, "learning_rate": 0.001},
    "experiments": {
        "fl_a": {"dataset": "flowers", "net": [8]},
        "fl_b": {"dataset": "flowers", "net": [8], "epochs": 4},
        "of_a": {"dataset": "office31", "net": [8]},
    },
}


def _run(root, exp, seed):
    d = root / "runs" / "corrected" / exp / f"seed{seed}"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _log(root, exp, seed, text, mtime):
    p = root / "logs" / "train" / "corrected" / exp / f"seed{seed}.log"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    os.utime(p, (mtime, mtime))
    return p


def _checkpoint(run_dir, epoch, clock, mtime):
    history = [{"epoch": e, "train_seconds": clock / epoch - 0.5, "eval_seconds": 0.5}
               for e in range(1, epoch + 1)]
    checkpoint.save(run_dir, fp="x", epoch=epoch, net_arrays={}, trainer_state={},
                    rng_states={}, history=history, clock=clock)
    os.utime(run_dir / checkpoint.NAME, (mtime, mtime))


@pytest.fixture
def tree(tmp_path):
    """fl_a 1 done (2 s/epoch), fl_a 2 running (epoch 3 of 10, 6 s), fl_b 1 diverged,
    fl_b 2 failed after epoch 1, of_a 1 stopped at epoch 2 (10 s/epoch), of_a 2 missing."""
    root = tmp_path / "results"
    (_run(root, "fl_a", 1) / "metrics.json").write_text(json.dumps({
        "status": "ok", "seconds_per_epoch": [1.5] * 10, "train_seconds": 15.0,
        "eval_seconds": 5.0, "test_accuracy": 0.625,
        "environment": {"blas": {"loaded": {"internal_api": "openblas", "version": "0.3.31",
                                            "architecture": "Zen9"}}}}))
    _checkpoint(_run(root, "fl_a", 2), epoch=3, clock=6.0, mtime=NOW - 5)
    _log(root, "fl_a", 2, "$ regstudy train ...\n    Epoch 3/10: ...\n", NOW - 5)
    (_run(root, "fl_b", 1) / "metrics.json").write_text(json.dumps({
        "status": "diverged", "seconds_per_epoch": [1.0], "train_seconds": 1.0,
        "eval_seconds": 0.0, "diverged_epoch": 2, "test_accuracy": None}))
    _checkpoint(_run(root, "fl_b", 2), epoch=1, clock=3.0, mtime=NOW - 30)
    _log(root, "fl_b", 2, "$ regstudy train ...\nTraceback (most recent call last):\n"
         "  ...\nMemoryError\n$ regstudy train ...\nTraceback (most recent call last):\n"
         "MemoryError\n", NOW - 30)
    _checkpoint(_run(root, "of_a", 1), epoch=2, clock=20.0, mtime=NOW - 3600)
    _log(root, "of_a", 1, "$ regstudy train ...\nTraceback (most recent call last):\n"
         "$ regstudy train ...\n    Epoch 2/10: ...\n", NOW - 3600)   # an earlier error
    return root


def test_states_and_numbers(tree):
    runs = status.study_status(tree, CONFIG, now=NOW)
    got = {(r.experiment, r.seed): r for r in runs}
    assert [(r.experiment, r.seed, r.state) for r in runs] == [
        ("fl_a", 1, "done"), ("fl_a", 2, "running"), ("fl_b", 1, "diverged"),
        ("fl_b", 2, "failed"), ("of_a", 1, "stopped"), ("of_a", 2, "not started")]
    done, running = got["fl_a", 1], got["fl_a", 2]
    assert (done.epoch, done.epochs, done.seconds_per_epoch, done.note) == (10, 10, 2.0, "test 0.625")
    assert (running.epoch, running.epochs, running.seconds_per_epoch, running.seconds_left) == \
        (3, 10, 2.0, 14.0)
    assert got["fl_b", 1].note == "diverged at epoch 2" and got["fl_b", 1].epoch == 2
    failed = got["fl_b", 2]
    assert (failed.epoch, failed.epochs, failed.seconds_left) == (1, 4, 9.0)
    assert failed.note.endswith("logs/train/corrected/fl_b/seed2.log")
    stopped = got["of_a", 1]
    assert (stopped.epoch, stopped.seconds_per_epoch, stopped.seconds_left) == (2, 10.0, 80.0)
    assert stopped.note == "no progress for 1 h 00 min; resumes from epoch 3"
    missing = got["of_a", 2]           # estimated from of_a seed 1 (same experiment)
    assert (missing.epoch, missing.seconds_per_epoch, missing.seconds_left, missing.estimated) == \
        (0, 10.0, 100.0, True)

    tot = status.totals(runs)
    assert tot["counts"] == {"done": 1, "running": 1, "stopped": 1, "failed": 1,
                             "diverged": 1, "not started": 1}
    assert tot["seconds_left"] == 14.0 + 9.0 + 80.0 + 100.0 and tot["unknown"] == 0
    assert status.totals(runs, jobs=2)["wall_left"] == 203.0 / 2


def test_running_becomes_stopped_when_progress_is_old(tree):
    later = NOW + status.MIN_STALE + 10        # 2 s/epoch: the 120 s floor decides
    got = {(r.experiment, r.seed): r.state for r in status.study_status(tree, CONFIG, now=later)}
    assert got["fl_a", 2] == "stopped"


def test_estimate_falls_back_to_the_data_set(tree):
    (tree / "runs" / "corrected" / "of_a").rename(tree / "gone")
    (tree / "logs" / "train" / "corrected" / "of_a").rename(tree / "gone_logs")
    runs = {(r.experiment, r.seed): r for r in status.study_status(tree, CONFIG, now=NOW)}
    # fl_b: no measured fl_b epoch time of its own besides the failed run's 3 s
    assert runs["fl_b", 2].seconds_per_epoch == 3.0 and not runs["fl_b", 2].estimated
    # of_a: nothing of office31 measured -> the mean over all measured runs (2, 2, 3)
    assert runs["of_a", 1].state == "not started" and runs["of_a", 1].estimated and runs["of_a", 1].seconds_per_epoch == pytest.approx(7 / 3)
    assert runs["of_a", 1].seconds_left == pytest.approx(70 / 3)


def test_cli_prints_every_run_and_totals(tree, tmp_path, capsys, monkeypatch):
    # the CLI reads the clock: NOW, not minutes later when a whole suite gets here
    monkeypatch.setattr(status, "time", SimpleNamespace(time=lambda: NOW))
    cfg = tmp_path / "a.yaml"
    cfg.write_text(yaml.safe_dump({**CONFIG, "seeds": [9]}))
    over = tmp_path / "b.yaml"                # merged like snakemake: seeds replaced
    over.write_text(yaml.safe_dump({"seeds": [1, 2], "training": {"epochs": 10}}))
    assert main(["status", "--configfile", str(cfg), str(over), str(tree), "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert f"{tree}: 6 planned runs" in out
    line = next(ln for ln in out.splitlines() if ln.startswith("corrected  fl_a") and "running" in ln)
    assert line.split()[2:7] == ["2", "running", "3/10", "2.0", "14"]
    assert "done 1, running 1, stopped 1, failed 1, diverged 1, not started 1 (of 6 planned)" in out
    assert "time left: 3 min 23 s of training, about 1 min 42 s with 2 runs side by side" in out
    # the done run's BLAS kernel, and this machine's, which is not it
    assert "BLAS kernel of the runs: openblas 0.3.31 Zen9 (1 run)" in out
    assert "this machine's BLAS kernel (openblas " in out


def test_merge_configs_is_deep(tmp_path):
    (tmp_path / "a.yaml").write_text("training: {epochs: 10, batch_size: 10}\nseeds: [1]\n")
    (tmp_path / "b.yaml").write_text("training: {epochs: 3}\n")
    assert status.merge_configs([tmp_path / "a.yaml", tmp_path / "b.yaml"]) == {
        "training": {"epochs": 3, "batch_size": 10}, "seeds": [1]}


def test_epoch_line_says_epoch_k_of_n_and_time_left():
    from pipeline.train.report import epoch_line
    assert epoch_line(3, 0.5, [0.5], [0.25], 2.0, 6.0, 10) == \
        "    Epoch 3/10: cost=0.500, accuracy=0.500/0.250 (2.0/6.0 secs, 14.0 secs left)"
    assert epoch_line(3, 0.5, [0.5], [0.25], 2.0, 6.0) == \
        "    Epoch 3: cost=0.500, accuracy=0.500/0.250 (2.0/6.0 secs)"
