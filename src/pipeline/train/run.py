"""One training run, from a cache file to a complete run folder.

Order of work (and of random draws, which matters for the reference's single stream):
split -> initialisation -> epochs (shuffle, steps, validation) -> test. After every
epoch the history and a checkpoint are written, so a killed run resumes from its last
epoch and ends with exactly the metrics of an uninterrupted one. metrics.json is
written last: its presence means the run is complete.

Besides the protocol's own per-epoch numbers (training accuracy measured in training
mode before each update; validation on the protocol's sample), every epoch evaluates
the network in evaluation mode on a fixed subset of the training split and on the whole
validation split (history columns eval_*): the clean train-validation gap. The subset
comes from its own seeded stream, so the training streams draw exactly as before.
"""
from __future__ import annotations

import csv
import io
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from pipeline import atomic, provenance
from pipeline.data.cache import load_cache
from pipeline.data.split import reference_split
from pipeline.data.subset import curve_subset, train_subset
from pipeline.engine.config import ConfigError, parse_hidden
from pipeline.engine.losses import head_slices, probabilities
from pipeline.engine.network import INIT_STD, Network
from pipeline.engine.protocol import resolve
from pipeline.engine.stats import parameter_statistics
from pipeline.version import engine_version

from . import checkpoint, replay, report
from .settings import BY_NAME as SETTINGS
from .settings import RunSettings
from .streams import PURPOSES, load_stream_states, make_streams, stream_states
from .trainer import Diverged, Trainer

SHOW_SAMPLES = 3


class RunDiverged(RuntimeError):
    pass


def _acc_cols(prefix, heads):
    return [prefix if len(heads) == 1 else f"{prefix}_{h}" for h in heads]


def _history_csv(rows, heads):
    cols = ["epoch", "cost", "data_loss", "penalty"]
    acc_cols = _acc_cols("train_acc", heads) + _acc_cols("val_acc", heads)
    eval_cols = [c for split in ("train", "val")
                 for c in [f"eval_{split}_loss", *_acc_cols(f"eval_{split}_acc", heads)]]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols + acc_cols + ["train_seconds", "eval_seconds"] + eval_cols)
    for r in rows:
        w.writerow([r["epoch"], *(repr(float(r[c])) for c in cols[1:]),
                    *(repr(float(a)) for a in r["train_acc"] + r["val_acc"]),
                    repr(r["train_seconds"]), repr(r["eval_seconds"]),
                    *(repr(float(v)) for split in ("train", "val")
                      for v in [r[f"eval_{split}_loss"], *r[f"eval_{split}_acc"]])])
    return buf.getvalue()


def _evaluate_epoch(trainer, x, y, curve, val_idx, eval_rng):
    """The epoch's evaluation: the protocol's validation accuracy (val_acc; the
    reference's 100-image sample, drawn from its stream as before) and the clean
    evaluation-mode loss and accuracy of the curve subset and the whole validation
    split. A full-split validation reuses the clean pass's logits (same chunks as before,
    so val_acc keeps its bits). eval_rng None: no sample is drawn (a replayed epoch the
    chapter did not validate), val_acc is NaN."""
    t0 = time.perf_counter()
    r = {}
    r["eval_train_loss"], r["eval_train_acc"], _ = trainer.evaluate(*curve["train"],
                                                                     chunk=trainer.batch_size)
    r["eval_val_loss"], r["eval_val_acc"], logits = trainer.evaluate(*curve["val"])
    if eval_rng is None and trainer.q["validation"] == "sample100":
        r["val_acc"] = [math.nan] * len(trainer.net.head_sizes)
    else:
        vi = trainer.validation_indices(val_idx, eval_rng)
        r["val_acc"] = (trainer.accuracy(None, y[vi], logits) if vi is val_idx
                        else trainer.accuracy(x[vi], y[vi]))
    r["eval_seconds"] = time.perf_counter() - t0
    return r


def _diverged_row(epoch, n_heads):
    nan = [math.nan] * n_heads
    return {"epoch": epoch, "cost": math.nan, "data_loss": math.nan, "penalty": math.nan,
            "train_acc": nan, "val_acc": nan, "train_seconds": 0.0, "eval_seconds": 0.0,
            "eval_train_loss": math.nan, "eval_train_acc": nan,
            "eval_val_loss": math.nan, "eval_val_acc": nan}


def _test_accuracy(trainer, x, y, test_idx, head_sizes):
    """Per head, the accuracy of the current network on the test split; and the test
    split's probabilities."""
    prob = probabilities(trainer.predict_logits(x[test_idx]), head_sizes)
    return [float((prob[:, sl].argmax(axis=1) == y[test_idx, k]).mean())
            for k, sl in enumerate(head_slices(head_sizes))], prob


def _per_head(values, heads):
    return float(values[0]) if len(heads) == 1 else {h: float(v) for h, v in zip(heads, values)}


def run(s: RunSettings, out_dir, log=print):
    """Train one run into out_dir; returns the metrics dict. Raises RunDiverged when the
    cost stops being finite and s.on_divergence == "fail" (after writing the record)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic.remove_stale_temporaries(out)
    quirks = resolve(s.protocol, s.quirks)
    specs = parse_hidden(s.net)
    cache = load_cache(s.data, check_manifest=True)
    x, y = cache["x"], cache["y"]
    heads, head_sizes = cache.heads, cache.head_sizes

    book = _replay(s, quirks, cache, x.shape[1:]) if quirks["rng"] == "replay" else None
    if book is None:
        streams = make_streams(s.seed, quirks["rng"])
        train_idx, val_idx, test_idx = reference_split(cache.n, streams["split"])
    else:                # the chapter's stream, fast-forwarded to this model's weights
        streams = dict.fromkeys(PURPOSES, book.until("init"))
        train_idx, val_idx, test_idx = book.split
    if s.train_size is not None:     # unset: no draw at all, the run is bit-identical
        try:
            train_idx = train_subset(s.seed, train_idx, s.train_size)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    net = Network(specs, x.shape[1:], head_sizes, bn_backward=quirks["bn_backward"],
                  bn_debias=quirks["bn_running_stats"] == "debiased", dtype=np.dtype(s.dtype))
    net.init_params(streams["init"], init=INIT_STD if quirks["init"] == "normal0.03"
                    else quirks["init"])
    if book is not None:
        book.until("train")      # the weights of the models built after it (Office-31)
    trainer = Trainer(net, quirks, lr=s.learning_rate, l1=s.l1, l2=s.l2, batch_size=s.batch_size,
                      train_images=x, train_index=np.sort(train_idx), shards=s.shards,
                      threads=s.threads, label_smoothing=s.label_smoothing)
    ci = curve_subset(s.seed, train_idx, s.eval_train_size)
    curve = {"train": (x[ci], y[ci]), "val": (x[val_idx], y[val_idx])}

    fp = checkpoint.fingerprint({
        # what decides the arithmetic; a setting at its default is left out, so a new
        # setting leaves the checkpoints of before valid
        **{k: v for k, v in asdict(s).items() if k not in ("epochs", "report", "on_divergence",
                                                           "data", "experiment", "threads",
                                                           "test_epochs")
           and not (k in SETTINGS and v == SETTINGS[k].default)},
        "quirks": quirks, "net": net.config(), "data_n": cache.n,
        "data_sha1": checkpoint.fingerprint(cache["sha1"].tolist()),
        **({"data_decoding": cache.decoding} if cache.decoding else {})})
    history, start, clock = [], 0, 0.0
    resumed, why = checkpoint.load(out, fp)
    if why:
        log(why)
    if resumed:
        meta, net_arrays, tstate = resumed
        net.load_state_arrays(net_arrays)
        trainer.load_state(tstate)
        load_stream_states(streams, meta["rng"])
        history, start, clock = meta["history"], meta["epoch"], meta["clock"]
        log(f"Resuming {s.experiment} (seed {s.seed}) from epoch {start + 1}: "
            f"checkpoint after epoch {start} of {s.epochs}")

    name = f"{s.experiment}/seed{s.seed}"
    log(f"Model {name} train started:")
    last_report = clock
    error = None
    for epoch in range(start + 1, s.epochs + 1):
        try:
            r = trainer.epoch(x, y, train_idx, streams, epoch)
        except Diverged as exc:
            error = (f"{s.experiment} (seed {s.seed}) diverged at epoch {exc.epoch}, step "
                     f"{exc.step}: the cost is {exc.cost} (learning rate {s.learning_rate})")
            history.append(_diverged_row(epoch, len(heads)))
            break
        eval_rng = streams["eval"] if book is None or replay.reports(book.model, epoch) else None
        r.update(_evaluate_epoch(trainer, x, y, curve, val_idx, eval_rng), epoch=epoch)
        if epoch in (s.test_epochs or ()):       # the epoch budget path; draws nothing
            r["test_acc"] = _test_accuracy(trainer, x, y, test_idx, head_sizes)[0]
        history.append(r)
        clock += r["train_seconds"] + r["eval_seconds"]
        atomic.write_text(out / "history.csv", _history_csv(history, heads))
        checkpoint.save(out, fp=fp, epoch=epoch, net_arrays=net.state_arrays(),
                        trainer_state=trainer.state(), rng_states=stream_states(streams),
                        history=history, clock=clock)
        if s.report and (epoch % s.report == 0 or epoch == s.epochs):
            log(report.epoch_line(epoch, r["cost"], r["train_acc"], r["val_acc"],
                                  clock - last_report, clock, s.epochs))
            last_report = clock

    done = [h for h in history if math.isfinite(h["cost"])]
    train_seconds = sum(h["train_seconds"] for h in done)
    eval_seconds = sum(h["eval_seconds"] for h in done)
    stats = parameter_statistics(net.weights)
    metrics = {
        "status": "diverged" if error else "ok",
        **{name: getattr(s, name) for name in SETTINGS if name not in ("shards", "threads")},
        "experiment": s.experiment, "dataset": cache.dataset, "data": str(s.data),
        "net": net.config(), "protocol": s.protocol, "quirks": quirks, "seed": s.seed,
        "heads": heads,
        "n_train": len(train_idx), "n_val": len(val_idx), "n_test": len(test_idx),
        "test_accuracy": None,
        "train_seconds": train_seconds, "eval_seconds": eval_seconds,
        "seconds_per_epoch": [h["train_seconds"] for h in done],
        "params": stats, "flushed_subnormals": trainer.flushed,
        "shards": trainer.sharded.shards, "threads": trainer.sharded.threads,
        "data_decoding": cache.decoding, "eval_train_size": len(ci),
        "engine_version": engine_version(),
        "environment": provenance.environment(),
    }
    if error:
        metrics.update(error=error, diverged_epoch=history[-1]["epoch"])
        prob = np.zeros((0, sum(head_sizes)), np.float32)
    else:
        log(f"Model {name} train ended in {train_seconds + eval_seconds:.1f} secs:")
        t0 = time.perf_counter()
        acc, prob = _test_accuracy(trainer, x, y, test_idx, head_sizes)
        test_seconds = time.perf_counter() - t0
        metrics.update(test_accuracy=_per_head(acc, heads), test_seconds=test_seconds)
        if s.test_epochs:
            metrics["test_accuracy_at"] = {str(h["epoch"]): _per_head(h["test_acc"], heads)
                                           for h in history if "test_acc" in h}
        metrics["eval_seconds"] += test_seconds
        log(report.test_line(name, acc, test_seconds))
        for line in report.sample_lines(prob[:SHOW_SAMPLES], y[test_idx[:SHOW_SAMPLES]],
                                        head_sizes, heads, cache.names):
            log(line)
        log(report.params_line(stats))
        if book is not None:
            metrics["replay"] = _replay_record(book, s, quirks, cache, trainer, x, y, val_idx,
                                               log)

    atomic.write_text(out / "history.csv", _history_csv(history, heads))
    atomic.save_npz(out / "params.npz", **net.state_arrays())
    atomic.save_npz(out / "predictions.npz", index=test_idx[:len(prob)], prob=prob,
                    y=y[test_idx[:len(prob)]], heads=np.asarray(heads),
                    head_sizes=np.asarray(head_sizes))
    atomic.write_json(out / "metrics.json", metrics)
    trainer.close()
    checkpoint.remove(out)
    if error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        if s.on_divergence == "fail":
            raise RunDiverged(error)
    return metrics


def _replay(s, quirks, cache, image_shape):
    """The chapter's stream for this run's model (pipeline.train.replay)."""
    replay.check_quirks(quirks)
    if not s.replay_model:
        raise ConfigError("replay_model: quirk rng=replay replays one model of the study's "
                          "chapter; name it (regstudy train --replay-model, an experiment's "
                          f"replay_model): one of {', '.join(replay.MODEL_NAMES)}")
    model = replay.model_named(s.replay_model)
    if model.dataset != cache.dataset:
        raise ConfigError(f"replay_model: {model.name} trains on {model.dataset}, the data "
                          f"is {cache.dataset}")
    sizes = {**replay.CHAPTER_SIZES, cache.dataset: cache.n}
    return replay.Replay(s.seed, model, sizes, image_shape)


def _replay_record(book, s, quirks, cache, trainer, x, y, val_idx, log):
    """metrics.json's `replay`: the model, how the run departs from the chapter (empty:
    the study's draws), and the samples its visualization drew, if the chapter showed
    any (drawn after the test, as the chapter)."""
    m = book.model
    rec = {"model": m.name, "study": m.study, "seed": s.seed, "sizes": book.sizes,
           "report_every": m.report, "show_cnt": m.show_cnt,
           "differences": replay.differences(
               m, n=cache.n, image_shape=x.shape[1:], net=s.net, epochs=s.epochs,
               batch_size=s.batch_size, quirks=quirks, seed=s.seed)}
    if m.show_cnt:
        vi = replay.validation_sample(book.until("show"), val_idx, m.show_cnt)
        logits = trainer.predict_logits(x[vi])
        names = cache.names
        rec["visualization"] = {
            "index": vi.tolist(),
            "labels": [names[0][k] for k in y[vi, 0]],
            "estimates": [names[0][k] for k in logits[:, :cache.head_sizes[0]].argmax(1)]}
        log(f"Model {m.name} visualization: " + ", ".join(
            f"{e} : {a}" for e, a in zip(rec["visualization"]["estimates"],
                                        rec["visualization"]["labels"])))
    return rec


def run_job(s: RunSettings, out_dir):
    """run() as a command or a workflow job runs it: log lines on stdout, the problem on
    stderr. Returns (exit code, metrics or None): 0 done (a diverged run recorded with
    on_divergence="record" included), 2 bad settings, 3 diverged."""
    from pipeline.engine.protocol import ProtocolError

    try:
        return 0, run(s, out_dir, log=lambda line: print(line, flush=True))
    except (ConfigError, ProtocolError) as exc:   # faults (data cache, disk...): pipeline.runtime.faults
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2, None
    except RunDiverged:
        return 3, None
