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


def photo_like_images(n, size=48, classes=5, seed=0, sky=60, brightness=40, signal=16,
                      noise=12):
    """Wide, photo-like inputs for the initialisation test: every pixel shares most of its
    variation with the others (a fixed bright-top "sky" gradient and a per-image
    brightness), as in photographs, and the class is a faint square in quadrant c % 4
    plus a cast on channel c % 3, under pixel noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    rows = np.linspace(1.0, -1.0, size)[None, :, None, None]
    x = 120 + sky * rows + brightness * rng.standard_normal((n, 1, 1, 1)) \
        + noise * rng.standard_normal((n, size, size, 3))
    h = size // 2
    for c in range(classes):
        sel = y == c
        r, q = divmod(c % 4, 2)
        x[sel, r * h:(r + 1) * h, q * h:(q + 1) * h] += signal
        x[sel, :, :, c % 3] += signal
    return np.clip(x, 0, 255).astype(np.uint8), y


def write_photo_like_cache(path, n=600, size=48, seed=0, **kw):
    x, y = photo_like_images(n, size, seed=seed, **kw)
    save_cache(path, x=x, y=y[:, None], heads=["class"], names=[[f"c{i}" for i in range(5)]],
               files=[f"f{i}.jpg" for i in range(n)], sha1=[f"{i:040x}" for i in range(n)],
               dataset="toy", size=(size, size))
    return path
