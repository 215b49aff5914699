"""research/benchmarks/reference_timing.py's real-image minibatches: the cache's images as raw
pixels flattened in the reference's H, W, C order, every image once per epoch."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from fakes import make_cache

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "reference_timing.py"


def _script():
    spec = importlib.util.spec_from_file_location("reference_timing", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_real_batches_are_the_cache_images_in_reference_order(tmp_path):
    rt = _script()
    cache = make_cache(tmp_path / "f.npz", n=23, size=96)
    with np.load(cache) as z:
        x, y = z["x"], z["y"][:, 0]
    batches = rt.real_batches(cache, np.random.default_rng(0))
    seen = []
    for _ in range(2):                        # 23 images: two batches of 10 an epoch
        xb, yb = next(batches)
        assert xb.dtype == np.float32 and xb.shape == (10, 96 * 96 * 3) and yb.shape == (10, 5)
        for row, onehot in zip(xb, yb):
            i = int(np.flatnonzero((x.reshape(23, -1) == row).all(axis=1))[0])
            assert onehot.argmax() == y[i] and onehot.sum() == 1
            assert row[:3].tolist() == x[i, 0, 0].tolist()      # pixel (0, 0): its 3 channels first
            seen.append(i)
    assert len(set(seen)) == 20                # no image twice within an epoch


def test_real_batches_refuse_another_image_size(tmp_path):
    cache = make_cache(tmp_path / "small.npz", size=48)
    with pytest.raises(SystemExit, match="small.npz.*96x96"):
        next(_script().real_batches(cache, np.random.default_rng(0)))
