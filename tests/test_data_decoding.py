"""prepare's decoding options: the resize filter and an extra JPEG re-encode, recorded in
the manifest and the cache, part of the cache's identity, and configurable."""
import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.data import load_cache
from pipeline.data.images import decode
from pipeline.data.manifest import read_manifest
from pipeline.data.prepare import prepare
from pipeline.plan import config_check as cc
from pipeline.plan import experiments as ex
from test_data_helpers import Log, flowers_tree, noisy_jpeg

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


@pytest.fixture
def tree(tmp_path):
    return flowers_tree(tmp_path / "fl", per_class=2)


def _prep(root, out, **kw):
    log = Log()
    return prepare("flowers", root, out, 12, log=log, workers=1, **kw), log


def test_each_filter_gives_its_own_pixels():
    data = noisy_jpeg(1, size=(40, 40))
    out = {f: decode(data, 12, f) for f in ("nearest", "bilinear", "bicubic", "lanczos")}
    names = list(out)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not np.array_equal(out[a], out[b]), (a, b)


def test_jpeg_reencode_changes_pixels_more_at_lower_quality():
    data = noisy_jpeg(2, size=(40, 40))
    plain = decode(data, 24).astype(int)
    err = {q: np.abs(decode(data, 24, jpeg_quality=q).astype(int) - plain).mean()
           for q in (95, 50, 10)}
    assert 0 < err[95] < err[50] < err[10]
    assert np.array_equal(decode(data, 24, jpeg_quality=50), decode(data, 24, jpeg_quality=50))


def test_recorded_in_manifest_and_cache_and_part_of_identity(tmp_path, tree):
    out = tmp_path / "c.npz"
    r, _ = _prep(tree, out, resample="lanczos", jpeg_quality=40)
    assert not r.reused
    m = read_manifest(out)
    assert m["resample"] == "lanczos" and m["jpeg_quality"] == 40
    assert load_cache(out).decoding == {"resample": "lanczos", "jpeg_quality": 40}
    assert _prep(tree, out, resample="lanczos", jpeg_quality=40)[0].reused
    r, log = _prep(tree, out, resample="lanczos", jpeg_quality=80)
    assert not r.reused and "jpeg_quality changed: 40 -> 80" in log.text
    r, log = _prep(tree, out, resample="lanczos")
    assert not r.reused and "jpeg_quality changed: 80 -> None" in log.text
    assert load_cache(out).decoding == {"resample": "lanczos", "jpeg_quality": None}


def test_cache_from_before_the_options_is_reused(tmp_path, tree):
    """A cache without `decoding` and a manifest without `jpeg_quality` or the cache's
    identity (as written before) with the default settings is up to date."""
    out = tmp_path / "c.npz"
    _prep(tree, out)
    with np.load(out) as z:
        arrays = {k: z[k] for k in z.files if k != "decoding"}
    np.savez(out, **arrays)
    mpath = out.with_name("c.manifest.json")
    m = json.loads(mpath.read_text())
    del m["jpeg_quality"], m["cache"]
    mpath.write_text(json.dumps(m))
    r, _ = _prep(tree, out)
    assert r.reused and load_cache(out).decoding == {}


@pytest.mark.parametrize("q", [0, 101, 2.5, True, "75"])
def test_bad_quality_is_refused(tmp_path, tree, q):
    with pytest.raises(ValueError, match="JPEG quality"):
        _prep(tree, tmp_path / "c.npz", jpeg_quality=q)


def test_cli_options(tmp_path, tree):
    from pipeline.cli import main
    out = tmp_path / "c.npz"
    assert main(["prepare", "flowers", str(tree), "--out", str(out), "--size", "12",
                 "--resample", "nearest", "--jpeg-quality", "60", "--workers", "1"]) == 0
    assert load_cache(out).decoding == {"resample": "nearest", "jpeg_quality": 60}
    assert main(["prepare", "flowers", str(tree), "--out", str(out), "--size", "12",
                 "--jpeg-quality", "0"]) == 1


@pytest.fixture
def config():
    return json.loads(json.dumps(cc.load_yaml_strict(ROOT / "config" / "config.yaml")))


def test_config_keys_and_rerun_trigger(config):
    assert cc.config_problems(config, schema=SCHEMA) == []
    assert ex.prepare_decoding(config) == config["image_size"]     # defaults: as before
    del config["resample"], config["jpeg_quality"]                 # optional keys
    assert cc.config_problems(config, schema=SCHEMA) == []
    assert ex.prepare_decoding(config) == config["image_size"]
    config.update(resample="nearest", jpeg_quality=75)
    assert cc.config_problems(config, schema=SCHEMA) == []
    assert ex.prepare_decoding(config) == {"size": config["image_size"],
                                           "resample": "nearest", "jpeg_quality": 75}


@pytest.mark.parametrize("key,value", [("resample", "cubic"), ("jpeg_quality", 0),
                                       ("jpeg_quality", "high")])
def test_config_refuses_bad_values(config, key, value):
    config[key] = value
    p = cc.config_problems(config, schema=SCHEMA)
    assert len(p) == 1 and p[0].startswith(f"{key}: {value!r} ")
