"""Generated stand-ins: real layouts and names, determinism, safe replacement, and that
they are learnable but not trivial (NumPy baselines; no engine needed)."""
import hashlib
import json

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

from pipeline.data import load_cache, reference_split
from pipeline.data.errors import DataError
from pipeline.data import synth
from pipeline.data.prepare import prepare
from pipeline.data.synth import MARKER, folder_counts, synthesize
from pipeline.data.synth_office31 import OBJECTS
from test_data_helpers import Log, write

QUIET = Log()


def _digest(root):
    h = hashlib.sha1()
    for p in sorted(root.rglob("*.jpg")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def test_flowers_layout(tmp_path):
    r = synthesize("flowers", tmp_path / "f", seed=0, per_class=3, size=20, log=QUIET)
    assert r.n == 15
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == [
        MARKER, "daisy", "dandelion", "rose", "sunflower", "tulip"]
    files = sorted((tmp_path / "f" / "rose").iterdir())
    assert [f.name for f in files] == ["synth_0000.jpg", "synth_0001.jpg", "synth_0002.jpg"]
    with Image.open(files[0]) as im:
        assert im.format == "JPEG" and im.size == (20, 20) and im.mode == "RGB"


def test_office31_layout_and_names_follow_the_real_archive(tmp_path):
    root = tmp_path / "o"
    synthesize("office31", root, seed=0, per_class=2, size=18, log=QUIET)
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["amazon", "dslr", "webcam"]
    for d in ("amazon", "dslr", "webcam"):
        assert sorted(p.name for p in (root / d / "images").iterdir()) == sorted(OBJECTS)
    assert sorted(p.name for p in (root / "dslr" / "images" / "ruler").iterdir()) == [
        "frame_0001.jpg", "frame_0002.jpg"]
    with Image.open(root / "webcam" / "images" / "mug" / "frame_0001.jpg") as im:
        assert im.size == (24, 18)                           # webcam frames are 4:3
    marker = json.loads((root / MARKER).read_text())
    assert marker["dataset"] == "office31" and marker["images"] == 3 * 31 * 2


def test_default_counts_follow_the_real_data():
    fl = folder_counts("flowers")
    assert fl == {"daisy": 764, "dandelion": 1052, "rose": 784, "sunflower": 733, "tulip": 984}
    of = folder_counts("office31")
    assert len(of) == 93
    for dom, n in (("amazon", 2817), ("dslr", 498), ("webcam", 795)):
        per = [v for k, v in of.items() if k.startswith(dom + "/")]
        assert sum(per) == n and max(per) - min(per) <= 1
    assert set(folder_counts("office31", 4).values()) == {4}
    with pytest.raises(ValueError, match="per-class"):
        folder_counts("flowers", 0)


def test_same_seed_same_files_whatever_the_workers(tmp_path, monkeypatch):
    monkeypatch.setattr(synth, "_SERIAL_BELOW", 0)            # use the pool even for 30
    kw = dict(per_class=6, size=16, log=QUIET)
    synthesize("flowers", tmp_path / "a", seed=4, workers=1, **kw)
    synthesize("flowers", tmp_path / "b", seed=4, workers=2, **kw)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    synthesize("flowers", tmp_path / "c", seed=5, per_class=3, size=16, log=QUIET)
    synthesize("flowers", tmp_path / "d", seed=4, per_class=3, size=16, log=QUIET)
    assert _digest(tmp_path / "c") != _digest(tmp_path / "d")


def test_replaces_an_earlier_stand_in_but_never_another_folder(tmp_path):
    out = tmp_path / "s"
    synthesize("flowers", out, seed=0, per_class=4, size=16, log=QUIET)
    synthesize("flowers", out, seed=0, per_class=2, size=16, log=QUIET)
    assert len(list(out.rglob("*.jpg"))) == 10                # no leftovers from the first
    real = tmp_path / "real"
    write(real / "daisy" / "photo.jpg", b"precious")
    with pytest.raises(DataError, match="refusing"):
        synthesize("flowers", real, seed=0, per_class=2, size=16, log=QUIET)
    assert (real / "daisy" / "photo.jpg").read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["real", "s"]   # no temporaries


def test_bad_options():
    with pytest.raises(ValueError, match="size"):
        synthesize("flowers", "/tmp/unused-regstudy", size=4, log=QUIET)
    with pytest.raises(ValueError, match="unknown data set"):
        synthesize("cifar", "/tmp/unused-regstudy", log=QUIET)


# --- learnable but not trivial ------------------------------------------------------

def _ridge(xtr, ytr, xte, yte, k, lam=10.0):
    """Ridge-regression classifier on standardised features (one-hot targets), solved in
    the dual form: a linear model as strong as logistic regression here, in milliseconds."""
    m, s = xtr.mean(0), xtr.std(0) + 1e-3
    xtr, xte = (xtr - m) / s, (xte - m) / s
    onehot = np.eye(k)[ytr] - 1.0 / k
    alpha = np.linalg.solve(xtr @ xtr.T + lam * np.eye(len(xtr)), onehot)
    return float(((xte @ xtr.T @ alpha).argmax(1) == yte).mean())


def _conv_features(x, filters=24, k=5):
    """Fixed random 5x5 filters, ReLU, pooled per quadrant and globally: a stand-in for
    what a small CNN sees (local, shift-tolerant structure)."""
    x = x.astype(np.float32) / 255
    x -= x.mean((1, 2), keepdims=True)
    p = sliding_window_view(x, (k, k), axis=(1, 2))
    p = p.reshape(*p.shape[:3], -1)
    f = np.random.default_rng(0).standard_normal((p.shape[-1], filters)).astype(np.float32)
    r = np.maximum(p @ (f / np.linalg.norm(f, axis=0)), 0)
    h, w = r.shape[1] // 2, r.shape[2] // 2
    quads = [r[:, :h, :w], r[:, :h, w:], r[:, h:, :w], r[:, h:, w:]]
    return np.concatenate([q.mean((1, 2)) for q in quads] + [r.max((1, 2))], 1)


def _standin(tmp_path, dataset, per_class, size):
    synthesize(dataset, tmp_path / dataset, seed=0, per_class=per_class, size=size, log=QUIET)
    c = load_cache(prepare(dataset, tmp_path / dataset, tmp_path / f"{dataset}.npz", size,
                           log=QUIET).path)
    tr, va, te = reference_split(c.n, np.random.default_rng(0))
    return c, np.concatenate([tr, va]), te


def test_flowers_stand_in_is_learnable_but_not_trivial(tmp_path):
    c, tr, te = _standin(tmp_path, "flowers", 80, 24)
    y = c["y"][:, 0]
    raw = c["x"].reshape(c.n, -1).astype(np.float32) / 255
    pixels = _ridge(raw[tr], y[tr], raw[te], y[te], 5)
    feats = _conv_features(c["x"])
    local = _ridge(feats[tr], y[tr], feats[te], y[te], 5)
    assert pixels > 0.3                   # chance is 0.2
    assert local > 0.5                    # shift-tolerant local features learn more
    assert max(pixels, local) < 0.97      # but 400 small images are not solved


def test_office31_stand_in_is_learnable_but_not_trivial(tmp_path):
    c, tr, te = _standin(tmp_path, "office31", 6, 24)
    raw = c["x"].reshape(c.n, -1).astype(np.float32) / 255
    dom = _ridge(raw[tr], c["y"][tr, 0], raw[te], c["y"][te, 0], 3)
    feats = _conv_features(c["x"])
    obj = _ridge(feats[tr], c["y"][tr, 1], feats[te], c["y"][te, 1], 31)
    assert 0.6 < dom < 0.99               # chance 1/3: the domain styles differ visibly
    assert 0.12 < obj < 0.9               # chance 1/31
