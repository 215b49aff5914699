"""Painting primitives shared by the stand-in generators: whole-image NumPy operations on
float32 HxWx3 canvases in [0, 1] (no per-pixel Python loops)."""
from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageFilter


@functools.lru_cache(maxsize=8)
def coords(h, w):
    """Pixel-centre coordinates (ys, xs), float32, in pixels (shared, read-only)."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32) + np.float32(0.5)
    ys.flags.writeable = xs.flags.writeable = False
    return ys, xs


def smooth_noise(rng, h, w, cells):
    """Low-frequency noise in [0, 1]: a cells x cells random grid, bicubic-upsampled."""
    cells = max(2, int(cells))
    g = rng.random((cells, cells), dtype=np.float32)
    up = np.asarray(Image.fromarray(g, "F").resize((w, h), Image.Resampling.BICUBIC))
    lo, hi = up.min(), up.max()
    return (up - lo) / max(hi - lo, 1e-6)


def edge(signed_px):
    """Anti-aliased coverage from a signed distance in pixels (positive = inside)."""
    return np.clip(signed_px + 0.5, 0.0, 1.0)


def paint(img, alpha, color):
    """img <- img + alpha (color - img); color is RGB or an HxWx3 array."""
    color = np.asarray(color, dtype=np.float32)
    img += alpha[..., None] * (color - img)


def gradient_background(rng, h, w, c1, c2, cells=4):
    """Two colours mixed by smooth noise: a soft, out-of-focus background."""
    n = smooth_noise(rng, h, w, cells)[..., None]
    return (np.asarray(c1, np.float32) * (1 - n) + np.asarray(c2, np.float32) * n).astype(np.float32)


def jitter_color(rng, color, amount):
    """A colour moved by up to `amount` per channel, kept in [0, 1]."""
    shift = rng.uniform(-amount, amount, 3).astype(np.float32)
    return np.clip(np.asarray(color, np.float32) + shift, 0, 1)


def to_uint8(img):
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def blur(img_u8, radius):
    """Gaussian blur of a uint8 image (radius in pixels; 0 = unchanged)."""
    if radius <= 0:
        return img_u8
    return np.asarray(Image.fromarray(img_u8).filter(ImageFilter.GaussianBlur(radius)))


def resample_through(img_u8, factor, rng_filter=Image.Resampling.BILINEAR):
    """Down- then up-sample by `factor` (>1): the soft look of a low-resolution sensor."""
    if factor <= 1:
        return img_u8
    h, w = img_u8.shape[:2]
    small = Image.fromarray(img_u8).resize((max(2, round(w / factor)), max(2, round(h / factor))),
                                           Image.Resampling.BOX)
    return np.asarray(small.resize((w, h), rng_filter))


def finish(img, rng, noise_std=0.0, gain=1.0, cast=(1.0, 1.0, 1.0), contrast=1.0):
    """Global lighting (gain, colour cast, contrast) and sensor noise -> uint8."""
    img = img * (np.asarray(cast, np.float32) * gain)
    if contrast != 1.0:
        m = img.mean()
        img = (img - m) * contrast + m
    if noise_std > 0:
        img = img + noise_std * rng.standard_normal(img.shape, dtype=np.float32)
    return to_uint8(img)
