"""Full-size data: the real flowers when present beside the clone, and a generated
Office-31 stand-in with the real per-domain counts (no copy of Office-31 exists here)."""
import os
from pathlib import Path

import numpy as np
import pytest

from pipeline.data import load_cache
from pipeline.data.prepare import prepare
from pipeline.data.split import split_counts
from pipeline.data.synth import synthesize
from pipeline.data.synth_office31 import OBJECTS
from test_data_helpers import Log

REPO = Path(__file__).resolve().parents[1]
FLOWERS_COUNTS = {"daisy": 764, "dandelion": 1052, "rose": 784, "sunflower": 733, "tulip": 984}


def flowers_dir():
    env = os.environ.get("REGSTUDY_FLOWERS_DIR")
    return Path(env) if env else REPO.parent / "shared" / "data" / "flowers"


@pytest.mark.skipif(not flowers_dir().is_dir(),
                    reason=f"real flowers not found at {flowers_dir()} "
                           "(set REGSTUDY_FLOWERS_DIR to its folder)")
def test_real_flowers(tmp_path):
    log = Log()
    r = prepare("flowers", flowers_dir(), tmp_path / "flowers.npz", 32, log=log)
    assert r.counts == {"class": FLOWERS_COUNTS} and r.n == 4317 and not r.skipped
    c = load_cache(r.path)
    assert c["x"].shape == (4317, 32, 32, 3) and c.names == [sorted(FLOWERS_COUNTS)]
    assert np.bincount(c["y"][:, 0]).tolist() == [FLOWERS_COUNTS[k] for k in sorted(FLOWERS_COUNTS)]
    assert split_counts(c.n) == (3450, 215, 652)


def test_office31_stand_in_with_the_real_counts(tmp_path):
    root = tmp_path / "office31"
    synthesize("office31", root, seed=0, size=24, log=Log())
    r = prepare("office31", root, tmp_path / "office31.npz", 24, log=Log())
    c = load_cache(r.path)
    assert c.n == 4110 and c.heads == ["domain", "object"]
    assert c.names == [["amazon", "dslr", "webcam"], list(OBJECTS)] and len(OBJECTS) == 31
    assert r.counts["domain"] == {"amazon": 2817, "dslr": 498, "webcam": 795}
    assert np.bincount(c["y"][:, 1], minlength=31).min() > 0
    for f, (d, o) in zip(c["files"][::97], c["y"][::97]):       # labels agree with paths
        dom, images, obj, name = str(f).split("/")
        assert (dom, images, obj) == (c.names[0][d], "images", c.names[1][o])
        assert name.startswith("frame_") and name.endswith(".jpg") and len(name) == 14
    assert split_counts(c.n) == (3280, 205, 625)
