"""Run folders and caches shaped exactly as docs/architecture.md describes, made without
the engine: for the tests of tables and figures (test support, not part of the package)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from pipeline.engine.stats import parameter_statistics


def make_cache(path, dataset="flowers", n=40, size=8, seed=0):
    rng = np.random.default_rng(seed)
    if dataset == "flowers":
        heads, names = ["class"], [["daisy", "dandelion", "rose", "sunflower", "tulip"]]
    else:
        heads = ["domain", "object"]
        names = [["amazon", "dslr", "webcam"], [f"obj{i:02d}" for i in range(31)]]
    y = np.stack([rng.integers(0, len(nm), n) for nm in names], axis=1).astype(np.int64)
    arrays = dict(
        x=rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8), y=y, heads=np.array(heads),
        files=np.array([f"f{i}.jpg" for i in range(n)]), sha1=np.array(["0" * 40] * n),
        dataset=np.array(dataset), size=np.array([size, size], dtype=np.int64),
    )
    for k, nm in enumerate(names):
        arrays[f"names_{k}"] = np.array(nm)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def make_run(root, protocol, experiment, seed, dataset="flowers", acc=0.5, status="ok",
             epochs=3, weights_scale=0.03, n_test=6, train_seconds=2.0):
    """A run folder; acc is a number (flowers) or a (domain, object) pair (office31)."""
    d = Path(root) / "results" / "runs" / protocol / experiment / f"seed{seed}"
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    dual = dataset == "office31"
    heads = ["domain", "object"] if dual else ["class"]
    sizes = [3, 31] if dual else [5]
    # history
    cols = ["epoch", "cost", "data_loss", "penalty"]
    per_head = lambda k: [f"{k}_{h}" for h in heads] if dual else [k]  # noqa: E731
    acc_cols = per_head("train_acc") + per_head("val_acc")
    eval_cols = ["eval_train_loss", *per_head("eval_train_acc"),
                 "eval_val_loss", *per_head("eval_val_acc")]
    lines = [",".join(cols + acc_cols + ["train_seconds", "eval_seconds"] + eval_cols)]
    n_ep = epochs if status == "ok" else 2
    for e in range(1, n_ep + 1):
        bad = status != "ok" and e == n_ep
        vals = [e, math.nan if bad else 1.5 / e, math.nan if bad else 1.4 / e, 0.0]
        vals += [math.nan if bad else min(1, 0.3 + 0.1 * e + 0.01 * i) for i in range(len(acc_cols))]
        vals += [train_seconds / epochs, 0.1]
        # clean curves: training accuracy rises to 0.9, validation stays 0.2 lower
        for gap, names in ((0.0, eval_cols[:len(eval_cols) // 2]), (0.2, eval_cols[len(eval_cols) // 2:])):
            vals += [math.nan if bad else (1.2 / e + gap if c.endswith("loss") else 0.9 - 0.3 / e - gap)
                     for c in names]
        lines.append(",".join(repr(float(v)) if not isinstance(v, int) else str(v) for v in vals))
    (d / "history.csv").write_text("\n".join(lines) + "\n")
    # params: a full layer and the output layer (+ biases that must not count)
    w0 = rng.normal(0, weights_scale, (12, 4))
    w0[:3] = 0.0  # 12 near-zero weights
    w1 = rng.normal(0, weights_scale, (4, sum(sizes)))
    if status != "ok":
        w1[0, 0] = np.nan
    with open(d / "params.npz", "wb") as fh:
        np.savez(fh, **{"L0.w": w0, "L0.b": np.ones(4), "L1.w": w1, "L1.b": np.ones(sum(sizes)),
                        "meta": np.array(json.dumps([4]))})
    # predictions
    n = 0 if status != "ok" else n_test
    prob = rng.random((n, sum(sizes)))
    start = 0
    for s in sizes:
        prob[:, start:start + s] /= prob[:, start:start + s].sum(axis=1, keepdims=True)
        start += s
    with open(d / "predictions.npz", "wb") as fh:
        np.savez(fh, index=np.arange(n), prob=prob,
                 y=np.zeros((n, len(sizes)), dtype=np.int64), heads=np.array(heads),
                 head_sizes=np.array(sizes))
    test_acc = ({"domain": acc[0], "object": acc[1]} if dual else acc) if status == "ok" else None
    metrics = {
        "status": status, "experiment": experiment, "dataset": dataset, "net": [4],
        "protocol": protocol, "quirks": {}, "seed": seed, "epochs": epochs, "batch_size": 10,
        "learning_rate": 0.001, "l1": 0.0, "l2": 0.0, "test_accuracy": test_acc,
        "train_seconds": train_seconds, "eval_seconds": 0.3,
        "seconds_per_epoch": [train_seconds / epochs] * n_ep,
        "params": parameter_statistics(np.concatenate([w0.ravel(), w1.ravel()])),
        "flushed_subnormals": 0, "engine_version": "test", "n_train": 30, "n_val": 2, "n_test": n,
    }
    if status != "ok":
        metrics.update(error="cost is nan", diverged_epoch=n_ep)
    (d / "metrics.json").write_text(json.dumps(metrics))
    return d
