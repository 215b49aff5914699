"""A small learnable image problem for engine tests (no files beyond one .npz cache)."""
import numpy as np

from pipeline.data.cache import save_cache


def toy_images(n, size=12, classes=5, seed=0):
    """Class c: a bright square in quadrant c % 4 plus a colour cast c % 3, on noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = rng.integers(0, 90, (n, size, size, 3)).astype(np.int16)
    h = size // 2
    for c in range(classes):
        sel = y == c
        r, q = divmod(c % 4, 2)
        x[sel, r * h:(r + 1) * h, q * h:(q + 1) * h] += 120
        x[sel, :, :, c % 3] += 40
    return np.clip(x, 0, 255).astype(np.uint8), y


def write_toy_cache(path, n=300, size=12, classes=5, seed=0, dual=False):
    x, y = toy_images(n, size, classes, seed)
    if dual:   # two heads: a coarse one and the class
        ys = np.stack([y % 2, y], axis=1)
        heads, names = ["domain", "object"], [["even", "odd"], [f"c{i}" for i in range(classes)]]
    else:
        ys, heads, names = y[:, None], ["class"], [[f"c{i}" for i in range(classes)]]
    save_cache(path, x=x, y=ys, heads=heads, names=names, files=[f"f{i}.jpg" for i in range(n)],
               sha1=[f"{i:040x}" for i in range(n)], dataset="toy", size=(size, size))
    return path
