"""The cache contract, reuse of an up-to-date cache, rebuilds when sources change, and
CacheError (naming the file) for missing, truncated or foreign caches."""
import json
import os

import numpy as np
import pytest

from pipeline.data import load_cache
from pipeline.data.cache import save_cache
from pipeline.data.errors import CacheError
from pipeline.data.manifest import manifest_path
from pipeline.data.prepare import prepare
from test_data_helpers import Log, flowers_tree, noisy_jpeg, office_tree, write


@pytest.fixture
def tree(tmp_path):
    return flowers_tree(tmp_path / "fl", per_class=3)


def _prep(root, out, size=12, **kw):
    log = Log()
    return prepare("flowers", root, out, size, log=log, **kw), log


def test_cache_follows_the_contract(tmp_path, tree):
    out = tmp_path / "c.npz"
    r, _ = _prep(tree, out, size="12x10")
    assert not r.reused and r.n == 9
    with np.load(out, allow_pickle=False) as z:         # a plain npz, no pickles
        keys = set(z.files)
    assert keys == {"x", "y", "heads", "names_0", "files", "sha1", "dataset", "size", "decoding"}
    c = load_cache(out)
    assert c["x"].dtype == np.uint8 and c["x"].shape == (9, 12, 10, 3)
    assert c["y"].dtype == np.int64 and c["y"].shape == (9, 1)
    assert c["y"][:, 0].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert c.heads == ["class"] and c.names == [["daisy", "rose", "tulip"]]
    assert c.head_sizes == [3] and c.n == 9 and c.dataset == "flowers" and c.size == (12, 10)
    assert c["files"][0] == "daisy/img_0.jpg" and len(c["sha1"][0]) == 40
    m = json.loads(manifest_path(out).read_text())
    assert manifest_path(out).name == "c.manifest.json"
    assert m["root"] == str(tree.resolve()) and m["n_images"] == 9


def test_office31_cache_has_two_heads(tmp_path):
    root = office_tree(tmp_path / "o31")
    r = prepare("office31", root, tmp_path / "o.npz", 8, log=Log())
    c = load_cache(r.path)
    assert c.heads == ["domain", "object"] and c.head_sizes == [2, 3]
    assert c["y"].shape == (12, 2) and c.names[0] == ["amazon", "dslr"]


def test_up_to_date_cache_is_reused(tmp_path, tree):
    out = tmp_path / "c.npz"
    _prep(tree, out)
    before = os.stat(out).st_mtime_ns
    r, log = _prep(tree, out)
    assert r.reused and r.n == 9 and "reusing" in log.text
    assert os.stat(out).st_mtime_ns == before


@pytest.mark.parametrize("change, word", [
    (lambda t: write(t / "rose" / "new.jpg", noisy_jpeg(55)), "added"),
    (lambda t: (t / "tulip" / "img_1.jpg").unlink(), "removed"),
    (lambda t: write(t / "daisy" / "img_0.jpg", noisy_jpeg(77)), "changed"),
])
def test_source_change_rebuilds(tmp_path, tree, change, word):
    out = tmp_path / "c.npz"
    _prep(tree, out)
    change(tree)
    r, log = _prep(tree, out)
    assert not r.reused and "rebuilding" in log.text and word in log.text
    c = load_cache(out)
    assert set(c["files"].tolist()) == {p.relative_to(tree).as_posix() for p in tree.rglob("*.jpg")}


def test_fixing_a_skipped_file_rebuilds(tmp_path, tree):
    write(tree / "rose" / "broken.jpg", b"")
    out = tmp_path / "c.npz"
    r, _ = _prep(tree, out)
    assert r.n == 9 and r.skipped[0][0] == "rose/broken.jpg"
    assert _prep(tree, out)[0].reused
    write(tree / "rose" / "broken.jpg", noisy_jpeg(3))
    r, log = _prep(tree, out)
    assert not r.reused and r.n == 10 and "changed" in log.text


def test_setting_change_or_force_rebuilds(tmp_path, tree):
    out = tmp_path / "c.npz"
    _prep(tree, out)
    r, log = _prep(tree, out, size=8)
    assert not r.reused and "size changed" in log.text and load_cache(out).size == (8, 8)
    r, log = _prep(tree, out, size=8, resample="nearest")
    assert not r.reused and "resample changed" in log.text
    assert not _prep(tree, out, size=8, resample="nearest", force=True)[0].reused


def test_missing_manifest_rebuilds(tmp_path, tree):
    out = tmp_path / "c.npz"
    _prep(tree, out)
    manifest_path(out).unlink()
    r, log = _prep(tree, out)
    assert not r.reused and "manifest" in log.text


@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip"])
def test_corrupt_cache_is_a_cache_error_naming_the_file(tmp_path, tree, damage):
    out = tmp_path / "c.npz"
    _prep(tree, out)
    data = out.read_bytes()
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "garbage":
        data = b"not a zip file at all" * 10
    else:      # flip bytes inside the image array: the zip CRC catches it
        mid = len(data) // 3
        data = data[:mid] + bytes(b ^ 0xFF for b in data[mid:mid + 64]) + data[mid + 64:]
    out.write_bytes(data)
    with pytest.raises(CacheError) as e:
        load_cache(out)
    assert str(out) in str(e.value) and "regstudy prepare" in str(e.value)
    r, log = _prep(tree, out)                      # prepare replaces it
    assert not r.reused and "unreadable" in log.text and load_cache(out).n == 9


def test_missing_cache_and_foreign_npz(tmp_path):
    with pytest.raises(CacheError, match="not found"):
        load_cache(tmp_path / "none.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(CacheError, match="missing keys") as e:
        load_cache(tmp_path / "other.npz")
    assert str(tmp_path / "other.npz") in str(e.value)


def test_inconsistent_cache_is_rejected(tmp_path):
    good = dict(x=np.zeros((2, 4, 4, 3), np.uint8), y=np.array([[0], [1]]), heads=["class"],
                names=[["a", "b"]], files=["a/1.jpg", "b/1.jpg"], sha1=["0" * 40] * 2,
                dataset="flowers", size=(4, 4))
    save_cache(tmp_path / "ok.npz", **good)
    assert load_cache(tmp_path / "ok.npz").n == 2
    for bad in (dict(y=np.array([[0], [2]])), dict(files=["a"]), dict(size=(5, 4)),
                dict(x=np.zeros((2, 4, 4), np.uint8))):
        with pytest.raises(CacheError, match="not a valid data cache"):
            save_cache(tmp_path / "bad.npz", **{**good, **bad})
    assert not (tmp_path / "bad.npz").exists()


def test_write_is_atomic(tmp_path, tree, monkeypatch):
    out = tmp_path / "c.npz"

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        _prep(tree, out)
    assert list(tmp_path.glob("*c.npz*")) == []           # no cache, no temporary left


def test_out_must_be_npz(tmp_path, tree):
    with pytest.raises(ValueError, match=r"\.npz"):
        _prep(tree, tmp_path / "cache.bin")


def test_manifest_says_whether_the_data_is_a_stand_in(tmp_path, tree):
    """The tables judge no stand-in: the manifest records it (and a manifest written
    before the flag still tells, by the synth marker it ignored)."""
    from pipeline.data.manifest import is_standin
    from pipeline.data.synth import synthesize

    _prep(tree, tmp_path / "real.npz")
    real = json.loads(manifest_path(tmp_path / "real.npz").read_text())
    assert real["standin"] is False and not is_standin(real)
    synthesize("flowers", tmp_path / "synth", per_class=1, size=8, workers=1, log=lambda _: None)
    _prep(tmp_path / "synth", tmp_path / "synth.npz")
    fake = json.loads(manifest_path(tmp_path / "synth.npz").read_text())
    assert fake["standin"] is True and is_standin(fake)
    del fake["standin"]
    assert is_standin(fake)
