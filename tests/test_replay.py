"""The study's chapter replayed draw for draw (quirk rng=replay, pipeline.train.replay).

The checks that the stream is the study's depend only on the flowers file list
(class-major, names sorted, 764/1052/784/733/984 images), never on pixels, so they run
on labels built from those counts. The fast-forward is checked against a chapter whose
models really train (small images), and the permutation into the engine's layouts
against the independent oracle (reference_oracle.py, the reference's layouts).
"""
import json

import numpy as np
import pytest

from pipeline.engine import book_draws
from pipeline.engine.config import ConfigError, parse_hidden
from pipeline.engine.nets import NAMED_NETS
from pipeline.engine.network import Network
from pipeline.engine.protocol import resolve
from pipeline.train import replay
from pipeline.train.replay import Model, Replay
from pipeline.train.streams import PURPOSES, load_stream_states, stream_states
from pipeline.train.trainer import Trainer
from reference_oracle import Oracle, layer_list
from toydata import toy_images, write_toy_cache

FLOWERS = ["daisy", "dandelion", "rose", "sunflower", "tulip"]
COUNTS = [764, 1052, 784, 733, 984]
LABELS = np.repeat(np.arange(5), COUNTS)        # the file list, class-major


def shown(name):
    """The class names a chapter model's visualization drew (the stream walked to it)."""
    book = Replay(1234, replay.model_named(name), replay.CHAPTER_SIZES, replay.CHAPTER_IMAGE)
    vi = replay.validation_sample(book.until("show"), book.split[1],
                                  replay.model_named(name).show_cnt)
    return [FLOWERS[k] for k in LABELS[vi]]


def test_the_split_is_the_studys():
    """Its collapsed MLPs print 0.232 and 0.233: 151 dandelions and 152 tulips of 652."""
    book = Replay(1234, replay.model_named("flowers_cnn_1"), replay.CHAPTER_SIZES,
                  replay.CHAPTER_IMAGE)
    book.until("init")
    tr, va, te = book.split
    assert (len(tr), len(va), len(te)) == (3450, 215, 652)
    assert np.bincount(LABELS[te], minlength=5).tolist() == [109, 151, 122, 118, 152]
    assert round(152 / 652, 3) == 0.233 and round(151 / 652, 3) == 0.232
    assert np.bincount(LABELS[tr], minlength=5).max() == 850       # 0.246 of 3450


def test_visualizations_show_the_studys_samples():
    """As printed in the study: flowers_model_1 shows daisy, sunflower, tulip (after its
    reports at epochs 2..10); flowers_cnn_1, after six [30,10] runs, rose, dandelion,
    tulip."""
    assert shown("flowers_model_1") == ["daisy", "sunflower", "tulip"]
    assert shown("flowers_cnn_1") == ["rose", "dandelion", "tulip"]


def test_five_mlp_runs_would_not_give_the_studys_samples():
    without_sixth = [m for m in replay.MODELS if m.name != "flowers_model_unprinted"]
    cnn1 = replay.model_named("flowers_cnn_1")
    book = Replay(1234, cnn1, replay.CHAPTER_SIZES, replay.CHAPTER_IMAGE, models=without_sixth)
    vi = replay.validation_sample(book.until("show"), book.split[1], 3)
    assert [FLOWERS[k] for k in LABELS[vi]] != ["rose", "dandelion", "tulip"]


def test_program_builds_the_office_models_before_training_them():
    events = [(k, getattr(w, "name", w)) for k, w in replay.program()]
    assert events[:4] == [("split", "flowers"), ("split", "office31"),
                          ("init", "flowers_model_1"), ("train", "flowers_model_1")]
    office = [e for e in events if e[1].startswith("office31_")]
    assert office[:5] == [("init", f"office31_cnn_{k}") for k in (1, 2, 3, 4)] + \
        [("train", "office31_cnn_1")]
    assert sum(k == "show" for k, _ in events) == 2


# -- fast-forward against a chapter whose models train --------------------------------

SIZE = 12
TINY = (
    Model("a", "flowers", "mlp", report=1, show_cnt=2, epochs=2),
    Model("b", "flowers", "cnn2", report=1, epochs=2),
    Model("c", "flowers", "cnn3", report=2, epochs=2, show_cnt=3),
    Model("d", "flowers", "cnn2", report=1, epochs=2),
    Model("o1", "office31", "cnn2", epochs=1),
    Model("o2", "office31", "cnn3", epochs=1),
)
SIZES = {"flowers": 80, "office31": 50}


def data(dataset):
    x, y = toy_images(SIZES[dataset], size=SIZE, seed=len(dataset))
    return x, (y[:, None] if dataset == "flowers" else np.stack([y % 3, y], 1))


def network(m):
    return Network(parse_hidden(NAMED_NETS[m.net]), (SIZE, SIZE, 3), replay.HEAD_SIZES[m.dataset],
                   dtype=np.float64)


def played(target):
    """Walk the tiny chapter training every model before `target` for real (engine,
    reference protocol, the stream as its only random source); returns the stream's
    states at the target's init and train events, and its initial weights."""
    rs = np.random.RandomState(1234)
    q = resolve("reference", {"rng": "replay"})
    splits, nets, states = {}, {}, {}
    for kind, what in replay.program(TINY):
        if kind == "split":
            tr, va, _ = replay.split_counts(SIZES[what])
            perm = rs.permutation(SIZES[what])
            splits[what] = (perm[:tr], perm[tr:tr + va])
            continue
        if what is target:
            states[kind] = rs.get_state()
            if kind == "init":
                nets[what.name] = network(what)
                nets[what.name].init_params(rs, 0.03)
                states["weights"] = nets[what.name].flat.copy()
                continue
            if kind == "train":
                return states
        x, y = data(what.dataset)
        tr, va = splits[what.dataset]
        if kind == "init":
            nets[what.name] = network(what)
            nets[what.name].init_params(rs, 0.03)
        elif kind == "train":
            trainer = Trainer(nets[what.name], q, shards=2 if what.net != "mlp" else 1,
                              train_images=x)
            streams = dict.fromkeys(PURPOSES, rs)
            for epoch in range(1, what.epochs + 1):
                trainer.epoch(x, y, tr, streams, epoch)
                if replay.reports(what, epoch):
                    trainer.validation_indices(va, rs)          # its 100-sample draw
            trainer.close()
        elif kind == "show":
            replay.validation_sample(rs, va, what.show_cnt)
    raise AssertionError("target not in the program")


def same_state(a, b):
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and a[2:] == b[2:]


@pytest.mark.parametrize("name", ["d", "o2"])
def test_a_fast_forwarded_model_meets_the_stream_where_training_left_it(name):
    """Same stream state (hence the same everything after) at the model's init and at
    its training; the same initial weights, batch order and first masks."""
    target = next(m for m in TINY if m.name == name)
    want = played(target)
    book = Replay(1234, target, SIZES, (SIZE, SIZE, 3), models=TINY)
    rs = book.until("init")
    assert same_state(rs.get_state(), want["init"])
    net = network(target)
    net.init_params(rs, 0.03)
    assert np.array_equal(net.flat, want["weights"])
    book.until("train")
    assert same_state(rs.get_state(), want["train"])
    # the first epoch's batches and the first step's masks, from both states
    other = np.random.RandomState()
    other.set_state(want["train"])
    assert np.array_equal(rs.permutation(60), other.permutation(60))
    rows = [(0, 5), (5, 10)]
    for ours, theirs in zip(book_draws.step_draws(rs, net.layers, rows),
                            book_draws.step_draws(other, net.layers, rows)):
        for (k1, a), (k2, b) in zip(ours._items, theirs._items):
            assert k1 == k2 and np.array_equal(a, b)


def test_the_office_split_follows_the_flowers_draws():
    """A data set's split is where the chapter draws it: Office-31 after flowers."""
    o1 = next(m for m in TINY if m.name == "o1")
    book = Replay(1234, o1, SIZES, (SIZE, SIZE, 3), models=TINY)
    book.until("init")
    rs = np.random.RandomState(1234)
    rs.permutation(80)
    assert np.array_equal(book.split[0], rs.permutation(50)[:40])


# -- the reference's layouts, permuted -------------------------------------------------

def book_params(hidden, n_out, rs):
    """The reference's parameters drawn as it draws them (its shapes, layer order)."""
    out, shape = [], (SIZE, SIZE, 3)
    for kind, o in layer_list(hidden, n_out):
        p = {}
        if kind == "conv":
            p = {"k": rs.normal(0, 0.03, (*o["ksize"], shape[2], o["chn"])),
                 "b": np.zeros(o["chn"])}
            shape = (shape[0], shape[1], o["chn"])
        elif kind in ("max", "avg"):
            shape = (shape[0] // o["stride"][0], shape[1] // o["stride"][1], shape[2])
        elif kind == "full":
            p = {"w": rs.normal(0, 0.03, (int(np.prod(shape)), o["width"])),
                 "b": np.zeros(o["width"])}
            shape = (o["width"],)
        elif kind == "batch_normal":
            p = {"scale": np.ones(shape[-1]), "shift": np.zeros(shape[-1])}
        out.append(p)
    return out


def book_step_draws(hidden, rs, n):
    """One step's dropout masks and noise, the reference's calls in forward order."""
    out, shape = [], (n, SIZE, SIZE, 3)
    for kind, o in layer_list(hidden, 5)[:-1]:
        if kind == "dropout":
            out.append(rs.binomial(1, o["keep_prob"], shape).astype(bool))
        elif kind == "noise":
            out.append(rs.normal(o["mean"], o["std"], shape) if rs.rand() < o["ratio"]
                       else None)
        elif kind == "conv":
            shape = (*shape[:3], o["chn"])
        elif kind in ("max", "avg"):
            shape = (n, shape[1] // o["stride"][0], shape[2] // o["stride"][1], shape[3])
    return out


@pytest.mark.parametrize("net", ["mlp", "cnn1", "cnn2", "cnn3", "cnn4"])
@pytest.mark.parametrize("shards", [1, 2])
def test_permuted_draws_compute_the_references_steps(net, shards):
    """The engine fed the stream (weights, then each step's masks and noise) and the
    oracle fed the reference's own calls agree step by step, in float64; also in
    evaluation."""
    hidden = NAMED_NETS[net]
    x, y = toy_images(40, size=SIZE, seed=3)
    y = y[:, None]
    ours, theirs = np.random.RandomState(7), np.random.RandomState(7)
    engine = Network(parse_hidden(hidden), (SIZE, SIZE, 3), [5], bn_backward="simplified",
                     dtype=np.float64)
    engine.init_params(ours, 0.03)
    oracle = Oracle(layer_list(hidden, 5), book_params(hidden, 5, theirs), [5], log_floor=0.0)
    trainer = Trainer(engine, resolve("reference", {"rng": "replay"}), shards=shards,
                      train_images=x)
    try:
        for step in range(4):
            xb, yb = x[step * 10:(step + 1) * 10], y[step * 10:(step + 1) * 10]
            cost = trainer.step(xb, yb, ours)[0]
            o_cost = oracle.step(xb, yb, book_step_draws(hidden, theirs, 10))[0]
            assert cost == pytest.approx(o_cost, rel=1e-9)
        assert same_state(ours.get_state(), theirs.get_state())
        np.testing.assert_allclose(trainer.predict_logits(x), oracle.predict(x),
                                   rtol=1e-9, atol=1e-12)
    finally:
        trainer.close()


# -- runs -------------------------------------------------------------------------------

def test_a_replayed_run_needs_its_models_data(tmp_path):
    from pipeline.train.run import RunSettings, run

    data = write_toy_cache(tmp_path / "toy.npz", n=120, size=SIZE)
    s = RunSettings(data=str(data), net=NAMED_NETS["cnn1"], protocol="reference",
                    quirks={"rng": "replay"}, seed=1234, epochs=2, report=0,
                    replay_model="flowers_cnn_1", eval_train_size=20)
    with pytest.raises(ConfigError, match="replay_model: flowers_cnn_1 trains on flowers"):
        run(s, tmp_path / "run", log=lambda _: None)


def test_a_replayed_run(tmp_path):
    from pipeline.data.cache import load_cache, save_cache
    from pipeline.train.run import RunSettings, run

    src = load_cache(write_toy_cache(tmp_path / "toy.npz", n=120, size=SIZE))
    names = [FLOWERS]
    save_cache(tmp_path / "f.npz", x=src["x"], y=src["y"], heads=["class"], names=names,
               files=list(src["files"]), sha1=list(src["sha1"]), dataset="flowers",
               size=(SIZE, SIZE))
    s = RunSettings(data=str(tmp_path / "f.npz"), net=NAMED_NETS["cnn1"],
                    protocol="reference", quirks={"rng": "replay"}, seed=1234, epochs=3,
                    report=0, replay_model="flowers_cnn_1", eval_train_size=20)
    m = run(s, tmp_path / "run", log=lambda _: None)
    assert m["quirks"]["rng"] == "replay" and m["replay"]["model"] == "flowers_cnn_1"
    assert "120 images, the chapter's flowers has 4317" in m["replay"]["differences"]
    assert len(m["replay"]["visualization"]["labels"]) == 3
    hist = (tmp_path / "run" / "history.csv").read_text().splitlines()
    val = [line.split(",")[5] for line in hist[1:]]
    assert val[0] == "nan" and val[1] != "nan" and val[2] == "nan"   # reports at 2, 4, ..
    # the same run again: the same numbers (the stream is the seed's)
    again = run(s, tmp_path / "again", log=lambda _: None)
    assert again["test_accuracy"] == m["test_accuracy"]
    assert again["replay"]["visualization"] == m["replay"]["visualization"]


def test_replay_needs_a_model_and_the_references_init(tmp_path):
    from pipeline.train.run import RunSettings, run

    data = write_toy_cache(tmp_path / "toy.npz", n=60, size=SIZE)
    s = RunSettings(data=str(data), net=[30], protocol="reference", quirks={"rng": "replay"})
    with pytest.raises(ConfigError, match="replay_model: quirk rng=replay"):
        run(s, tmp_path / "a", log=lambda _: None)
    s.replay_model = "flowers_model_9"
    with pytest.raises(ConfigError, match="'flowers_model_9' is not a model of the chapter"):
        run(s, tmp_path / "b", log=lambda _: None)
    s.protocol = "corrected"
    with pytest.raises(ConfigError, match="needs init=normal0.03"):
        run(s, tmp_path / "c", log=lambda _: None)


def test_the_legacy_stream_survives_a_checkpoint():
    rs = np.random.RandomState(5)
    rs.normal(size=3)                      # leaves a cached normal
    streams = dict.fromkeys(PURPOSES, rs)
    saved = json.loads(json.dumps(stream_states(streams)))
    want = rs.normal(size=4)
    load_stream_states(streams, saved)
    assert np.array_equal(rs.normal(size=4), want)
