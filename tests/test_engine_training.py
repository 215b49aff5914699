"""Training runs end to end: learning, overfitting, determinism, protocols, divergence."""
import json

import numpy as np
import pandas as pd
import pytest

from pipeline.engine.nets import NAMED_NETS
from pipeline.train.run import RunDiverged, RunSettings, run
from toydata import write_toy_cache

SMALL_CNN = [["conv", {"ksize": 3, "chn": 6}], ["max", {"stride": 2}],
             ["conv", {"ksize": 3, "chn": 8}], ["avg", {"stride": 3}]]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return str(write_toy_cache(tmp_path_factory.mktemp("d") / "toy.npz", n=600))


def quiet(_):
    pass


@pytest.mark.parametrize("net", [[30, 10], SMALL_CNN])
def test_mlp_and_cnn_learn_the_toy_problem(toy, tmp_path, net):
    m = run(RunSettings(data=toy, net=net, epochs=4, seed=1), tmp_path, log=quiet)
    assert m["status"] == "ok"
    assert m["test_accuracy"] > 0.9       # chance is 0.2
    hist = np.genfromtxt(tmp_path / "history.csv", delimiter=",", names=True)
    assert hist["cost"][-1] < hist["cost"][0]


def test_twenty_examples_overfit_to_100_percent(tmp_path):
    from pipeline.engine.losses import softmax_cross_entropy
    from pipeline.engine.network import Network
    from pipeline.engine.optim import Adam
    from toydata import toy_images

    x, y = toy_images(20, seed=3)
    y = np.random.default_rng(0).integers(0, 5, (20, 1))    # random labels: memorise
    net = Network([30, 10], x.shape[1:], [5])
    net.init_params(np.random.default_rng(0))
    opt = Adam(net.flat.size, lr=0.01)
    net.set_input_transform(1 / 255)
    xi = net.to_input(x)
    for _ in range(300):
        logits, caches = net.forward(xi, train=True)
        net.backward(softmax_cross_entropy(logits, y, [5])[1], caches)
        opt.step(net.flat, net.grad)
    assert (net.forward(xi)[0].argmax(1) == y[:, 0]).all()


def strip_times(m):
    return {k: v for k, v in m.items()
            if k not in ("train_seconds", "eval_seconds", "seconds_per_epoch", "test_seconds")}


@pytest.mark.parametrize("protocol", ["reference", "corrected"])
def test_same_seed_same_results(toy, tmp_path, protocol):
    s = RunSettings(data=toy, net=NAMED_NETS["cnn2"][:3] + [["noise", {"std": 0.1}]], epochs=2,
                    seed=5, protocol=protocol, l2=0.01)
    a = run(s, tmp_path / "a", log=quiet)
    b = run(s, tmp_path / "b", log=quiet)
    assert strip_times(a) == strip_times(b)
    with np.load(tmp_path / "a" / "params.npz") as pa, np.load(tmp_path / "b" / "params.npz") as pb:
        for k in pa.files:
            np.testing.assert_array_equal(pa[k], pb[k])
    s.seed = 6
    c = run(s, tmp_path / "c", log=quiet)
    assert c["params"] != a["params"]


def test_metrics_record_the_protocol(toy, tmp_path):
    m = run(RunSettings(data=toy, net=[8], epochs=1, protocol="reference",
                        quirks={"validation": "full"}), tmp_path, log=quiet)
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk["quirks"]["input_scale"] == "raw"
    assert on_disk["quirks"]["validation"] == "full"       # the override
    assert on_disk["quirks"]["decay"] == "after_adam"
    assert on_disk["params"]["count"] == 12 * 12 * 3 * 8 + 8 * 5
    assert (on_disk["n_train"], on_disk["n_val"], on_disk["n_test"]) == (480, 30, 90)
    assert len(on_disk["seconds_per_epoch"]) == 1 and m["test_accuracy"] == on_disk["test_accuracy"]
    assert on_disk["environment"]["numpy"] == np.__version__     # pipeline.provenance


def test_dual_head_reports_a_pair(tmp_path):
    data = write_toy_cache(tmp_path / "dual.npz", n=300, dual=True)
    m = run(RunSettings(data=str(data), net=SMALL_CNN, epochs=3), tmp_path / "r", log=quiet)
    assert set(m["test_accuracy"]) == {"domain", "object"}
    assert m["test_accuracy"]["domain"] > 0.6 and m["test_accuracy"]["object"] > 0.5
    header = (tmp_path / "r" / "history.csv").read_text().splitlines()[0]
    assert "train_acc_domain" in header and "val_acc_object" in header
    with np.load(tmp_path / "r" / "predictions.npz") as p:
        assert p["prob"].shape == (m["n_test"], 2 + 5)
        np.testing.assert_allclose(p["prob"][:, :2].sum(1), 1, rtol=1e-5)


def test_reference_penalty_cost_is_unscaled(toy, tmp_path):
    """Q5: the reference adds sum(w^2)/2 to the reported cost whatever lambda is."""
    kw = dict(data=toy, net=[8], epochs=1, l2=0.01)
    ref = run(RunSettings(protocol="reference", **kw), tmp_path / "r", log=quiet)
    cor = run(RunSettings(protocol="corrected", quirks={"init": "normal0.03"}, **kw),
              tmp_path / "c", log=quiet)
    h_ref = np.genfromtxt(tmp_path / "r" / "history.csv", delimiter=",", names=True)
    h_cor = np.genfromtxt(tmp_path / "c" / "history.csv", delimiter=",", names=True)
    # ~ 3500 weights * 0.03^2 / 2 ~ 1.6 unscaled, times 0.01 scaled
    assert h_ref["cost"] - h_ref["data_loss"] > 1.0
    assert 0 < h_cor["cost"] - h_cor["data_loss"] < 0.05
    assert ref["status"] == cor["status"] == "ok"


def test_l1_decay_drives_weights_to_zero(toy, tmp_path):
    kw = dict(data=toy, net=[30], epochs=3, protocol="reference")
    plain = run(RunSettings(**kw), tmp_path / "p", log=quiet)
    l1 = run(RunSettings(l1=0.01, **kw), tmp_path / "l1", log=quiet)
    assert l1["params"]["near_zero"] > 20 * max(1, plain["params"]["near_zero"])


def test_label_smoothing_from_the_command_line_reaches_the_loss(toy, tmp_path, capsys):
    from pipeline.cli import main

    def train(out, *extra):
        assert main(["train", "--data", toy, "--net", "[12]", "--out", str(tmp_path / out),
                     "--epochs", "1", "--seed", "2", "--report", "0", *extra]) == 0
        return (json.loads((tmp_path / out / "metrics.json").read_text()),
                pd.read_csv(tmp_path / out / "history.csv"))

    m0, h0 = train("plain")
    m1, h1 = train("smooth", "--label-smoothing", "0.2")
    assert m0["label_smoothing"] == 0.0 and m1["label_smoothing"] == 0.2   # recorded
    # the smoothed targets raise the training loss (a spread target costs more than the
    # label alone for a network that learns the label), evaluation's loss stays plain
    assert h1["data_loss"][0] > h0["data_loss"][0]
    assert h0["eval_val_loss"][0] != h1["eval_val_loss"][0]        # the weights differ


def test_divergence_stops_with_the_history(toy, tmp_path):
    s = RunSettings(data=toy, net=[30, 10], epochs=3, learning_rate=1e6, l2=1e6, experiment="absurd",
                    seed=4, protocol="reference", on_divergence="record")
    m = run(s, tmp_path / "rec", log=quiet)
    assert m["status"] == "diverged"
    assert "absurd (seed 4) diverged at epoch" in m["error"]
    assert m["test_accuracy"] is None
    hist = (tmp_path / "rec" / "history.csv").read_text().splitlines()
    assert len(hist) == 1 + m["diverged_epoch"] and hist[-1].split(",")[1] == "nan"
    s.on_divergence = "fail"
    with pytest.raises(RunDiverged, match="absurd"):
        run(s, tmp_path / "fail", log=quiet)
    assert json.loads((tmp_path / "fail" / "metrics.json").read_text())["status"] == "diverged"


def test_evaluation_is_deterministic_with_dropout_and_noise(toy):
    from pipeline.engine.network import Network
    from toydata import toy_images

    x, _ = toy_images(8)
    net = Network(NAMED_NETS["cnn2"][:3] + [["noise", {"std": 0.5}], 7], x.shape[1:], [5])
    net.init_params(np.random.default_rng(0))
    a = net.predict_logits(x)
    np.testing.assert_array_equal(a, net.predict_logits(x))
    train_out, _ = net.forward(net.to_input(x), train=True, rng=np.random.default_rng(1))
    assert not np.allclose(train_out, a)


def _rebuild(s, run_dir):
    """A trainer holding a finished run's parameters, and the run's curve images."""
    from pipeline.data.cache import load_cache
    from pipeline.data.split import reference_split
    from pipeline.engine.config import parse_hidden
    from pipeline.engine.network import Network
    from pipeline.engine.protocol import resolve
    from pipeline.data.subset import curve_subset
    from pipeline.train.streams import make_streams
    from pipeline.train.trainer import Trainer

    q = resolve(s.protocol)
    cache = load_cache(s.data)
    x, y = cache["x"], cache["y"]
    tr, va, _ = reference_split(cache.n, make_streams(s.seed, q["rng"])["split"])
    net = Network(parse_hidden(s.net), x.shape[1:], cache.head_sizes, bn_backward=q["bn_backward"],
                  bn_debias=q["bn_running_stats"] == "debiased")
    with np.load(run_dir / "params.npz") as z:
        net.load_state_arrays({k: z[k] for k in z.files})
    trainer = Trainer(net, q, train_images=x[np.sort(tr)])
    ci = curve_subset(s.seed, tr, s.eval_train_size)
    return trainer, (x[ci], y[ci]), (x[va], y[va])


@pytest.mark.parametrize("protocol", ["reference", "corrected"])
def test_clean_curves_are_evaluation_mode(toy, tmp_path, protocol):
    """The eval_* columns exist for both protocols and are evaluation-mode numbers: two
    evaluations of the final parameters (dropout and noise would differ in training mode)
    give each other's and the last history row's values exactly."""
    s = RunSettings(data=toy, net=NAMED_NETS["cnn2"][:3] + [["noise", {"std": 0.3}]],
                    epochs=2, seed=3, protocol=protocol, eval_train_size=50)
    m = run(s, tmp_path, log=quiet)
    h = pd.read_csv(tmp_path / "history.csv")
    cols = ["eval_train_loss", "eval_train_acc", "eval_val_loss", "eval_val_acc"]
    assert set(cols) <= set(h.columns) and h[cols].notna().all().all()
    assert m["eval_train_size"] == 50
    trainer, train_part, val_part = _rebuild(s, tmp_path)
    for part, name, chunk in ((train_part, "train", s.batch_size), (val_part, "val", 200)):
        loss, acc, _ = trainer.evaluate(*part, chunk=chunk)
        again = trainer.evaluate(*part, chunk=chunk)
        assert (loss, acc) == again[:2]
        assert loss == h[f"eval_{name}_loss"].iloc[-1] and acc[0] == h[f"eval_{name}_acc"].iloc[-1]
    trainer.close()
    if protocol == "corrected":    # validation on the whole split: the same pass
        assert (h["val_acc"] == h["eval_val_acc"]).all()


def test_curve_subset_does_not_perturb_training(toy, tmp_path):
    """The subset has its own stream: its size changes no training number."""
    kw = dict(data=toy, net=NAMED_NETS["cnn2"][:3], epochs=2, seed=4, protocol="reference")
    run(RunSettings(eval_train_size=20, **kw), tmp_path / "a", log=quiet)
    run(RunSettings(eval_train_size=300, **kw), tmp_path / "b", log=quiet)
    a, b = (pd.read_csv(tmp_path / d / "history.csv") for d in "ab")
    same = ["cost", "data_loss", "penalty", "train_acc", "val_acc", "eval_val_loss", "eval_val_acc"]
    pd.testing.assert_frame_equal(a[same], b[same])
    assert not a["eval_train_loss"].equals(b["eval_train_loss"])


def test_test_epochs_give_the_budget_path_without_changing_training(toy, tmp_path):
    kw = dict(data=toy, net=[12], epochs=4, seed=5, report=0)
    plain = run(RunSettings(**kw), tmp_path / "p", log=quiet)
    path = run(RunSettings(test_epochs=[2, 4], **kw), tmp_path / "t", log=quiet)
    with np.load(tmp_path / "p" / "params.npz") as a, np.load(tmp_path / "t" / "params.npz") as b:
        assert all(np.array_equal(a[k], b[k]) for k in a.files)   # the same training
    assert path["test_accuracy_at"]["4"] == path["test_accuracy"]
    short = run(RunSettings(**{**kw, "epochs": 2}), tmp_path / "s", log=quiet)
    assert path["test_accuracy_at"]["2"] == short["test_accuracy"]   # epoch 2 of 4 = a 2-epoch run
    assert "test_accuracy_at" not in plain
