"""Procedural stand-in flower photographs, one image per call.

Each class differs by shape more than by colour, so that a CNN has something to find
that an MLP on raw pixels finds only in part: rose and tulip share their colours, so do
sunflower and dandelion, daisy and a dandelion seed head. Size, position, rotation,
companions, background, lighting and noise vary; a few images carry a small flower of
another class, so that no classifier reaches 100%.
"""
from __future__ import annotations

import math

import numpy as np

from .synth_paint import (blur, coords, edge, finish, gradient_background, jitter_color,
                          paint, smooth_noise)

CLASSES = ("daisy", "dandelion", "rose", "sunflower", "tulip")

_YELLOW = (1.0, 0.82, 0.08)
_BLOOM = {   # shared colour families: colour alone does not tell rose from tulip
    "red": (0.78, 0.06, 0.10), "pink": (0.95, 0.45, 0.65), "white": (0.95, 0.93, 0.9),
    "yellow": (0.98, 0.85, 0.15), "orange": (0.98, 0.5, 0.1), "purple": (0.5, 0.2, 0.6),
}
_BACKGROUNDS = (
    ((0.18, 0.38, 0.12), (0.45, 0.6, 0.25)),     # grass
    ((0.08, 0.2, 0.08), (0.25, 0.42, 0.18)),     # dark foliage
    ((0.45, 0.62, 0.85), (0.75, 0.85, 0.95)),    # sky
    ((0.35, 0.25, 0.15), (0.5, 0.42, 0.3)),      # soil
    ((0.3, 0.45, 0.2), (0.6, 0.55, 0.45)),       # garden blur
)


def _polar(ys, xs, cy, cx, rot):
    dy, dx = ys - cy, xs - cx
    return np.hypot(dx, dy), np.arctan2(dy, dx) - rot


def _petals(img, r, th, R, k, inner, sharp, color, shade=0.25):
    """k petals: radius profile R (inner + (1-inner)|cos(k th/2)|^sharp), shaded to the tip."""
    prof = np.abs(np.cos(0.5 * k * th)) ** sharp
    rho = R * (inner + (1 - inner) * prof)
    a = edge(rho - r)
    tone = (1 - shade) + shade * np.clip(r / max(R, 1e-3), 0, 1)
    tone = tone * (0.85 + 0.15 * prof)
    paint(img, a, np.asarray(color, np.float32) * tone[..., None])


def _disc(img, r, R, color, texture=None):
    a = edge(R - r)
    c = np.asarray(color, np.float32)
    if texture is not None:
        c = c * texture[..., None]
    paint(img, a, c)


def _daisy(img, ys, xs, cy, cx, R, rng):
    r, th = _polar(ys, xs, cy, cx, rng.uniform(0, 2 * np.pi))
    petal = jitter_color(rng, (0.97, 0.96, 0.94) if rng.random() < 0.8 else (0.95, 0.8, 0.9), 0.04)
    _petals(img, r, th, R, int(rng.integers(14, 23)), rng.uniform(0.15, 0.3), rng.uniform(2.0, 4.0), petal)
    dots = 0.8 + 0.2 * np.cos(r * 2.2) * np.cos(th * 9)
    _disc(img, r, R * rng.uniform(0.2, 0.3), jitter_color(rng, _YELLOW, 0.06), dots)


def _dandelion(img, ys, xs, cy, cx, R, rng):
    rot = rng.uniform(0, 2 * np.pi)
    r, th = _polar(ys, xs, cy, cx, rot)
    if rng.random() < 0.25:   # seed head: a grey-white puff of fine rays
        rays = np.abs(np.cos(th * int(rng.integers(30, 50)))) ** 12
        a = edge(R * (0.85 + 0.15 * rays) - r) * (0.55 + 0.35 * rays)
        paint(img, a, jitter_color(rng, (0.92, 0.92, 0.9), 0.04))
        _disc(img, r, R * 0.12, (0.55, 0.5, 0.4))
        return
    base = jitter_color(rng, (1.0, 0.8, 0.05), 0.05)
    k = int(rng.integers(36, 60))
    for frac, dark in ((1.0, 1.0), (0.78, 0.93), (0.55, 0.85), (0.32, 0.78)):
        _, th_l = _polar(ys, xs, cy, cx, rot + frac * 1.7)
        _petals(img, r, th_l, R * frac, k, 0.55, 6.0, base * dark, shade=0.15)


def _rose(img, ys, xs, cy, cx, R, rng):
    rot = rng.uniform(0, 2 * np.pi)
    r, th = _polar(ys, xs, cy, cx, rot)
    family = rng.choice(["red", "red", "red", "pink", "pink", "white", "yellow", "orange"])
    c = jitter_color(rng, _BLOOM[family], 0.06)
    outline = R * (0.88 + 0.12 * np.abs(np.cos(2.5 * th)))
    a = edge(outline - r)
    # spiral petal edges: dark where the log-spiral phase wraps
    turns = rng.uniform(2.5, 4.0)
    phase = (turns * np.log(np.maximum(r, 0.5) / R) + th / (2 * np.pi) * int(rng.choice([-1, 1]))) % 1.0
    lines = 1.0 - 0.45 * np.exp(-((phase - 0.5) ** 2) / 0.006)
    tone = (0.6 + 0.4 * np.clip(r / R, 0, 1)) * lines
    paint(img, a, c * tone[..., None])


def _sunflower(img, ys, xs, cy, cx, R, rng):
    r, th = _polar(ys, xs, cy, cx, rng.uniform(0, 2 * np.pi))
    petal = jitter_color(rng, (1.0, 0.78, 0.05), 0.06)
    _petals(img, r, th, R, int(rng.integers(18, 30)), rng.uniform(0.35, 0.5), rng.uniform(0.6, 1.2), petal)
    seeds = 0.75 + 0.25 * np.cos(r * 1.6) * np.cos(th * 21)
    _disc(img, r, R * rng.uniform(0.42, 0.58), jitter_color(rng, (0.32, 0.19, 0.06), 0.05), seeds)


def _tulip(img, ys, xs, cy, cx, R, rng):
    ang = rng.uniform(-0.45, 0.45)
    dy, dx = ys - cy, xs - cx
    u = dx * math.cos(ang) + dy * math.sin(ang)          # across the cup
    v = -dx * math.sin(ang) + dy * math.cos(ang)         # down the stem (positive = down)
    a_w, b_h = R * rng.uniform(0.55, 0.7), R * rng.uniform(0.8, 1.0)
    stem_w = max(0.8, 0.08 * a_w)
    green = jitter_color(rng, (0.2, 0.5, 0.15), 0.06)
    stem = edge(stem_w - np.abs(u)) * edge(v - 0.2 * b_h) * edge(b_h * rng.uniform(2, 3.5) - v)
    paint(img, stem, green)
    leaf_u = u - a_w * float(rng.choice([-0.7, 0.7]))
    leaf_v = v - b_h * rng.uniform(1.3, 2.0)
    leaf = edge(a_w * 0.7 * (1 - (leaf_u / (a_w * 0.35)) ** 2 - (leaf_v / (b_h * 0.9)) ** 2))
    paint(img, leaf, green * 0.85)
    family = rng.choice(["red", "red", "pink", "yellow", "yellow", "purple", "orange", "white"])
    c = jitter_color(rng, _BLOOM[family], 0.06)
    top = b_h * (0.45 + 0.55 * np.cos(1.5 * np.pi * u / a_w) ** 2)    # three pointed lobes
    body = 1 - (u / a_w) ** 2 - (np.maximum(v, 0) / b_h) ** 2
    inside = np.minimum(body * a_w, np.minimum(top + v, a_w - np.abs(u)))
    tone = 0.8 + 0.2 * np.cos(np.pi * u / a_w * 1.5) ** 2
    paint(img, edge(inside), c * tone[..., None])


DRAW = {"daisy": _daisy, "dandelion": _dandelion, "rose": _rose, "sunflower": _sunflower,
        "tulip": _tulip}
# How far each drawing reaches from its centre, in units of R: (up, down, sideways).
_REACH = {"tulip": (1.1, 3.6, 1.7)}


def _window(ys, xs, cy, cx, up, down, side):
    """Slices of the box that a drawing can touch (the rest of the canvas is left alone)."""
    h, w = ys.shape
    y0, y1 = int(np.clip(cy - up - 1, 0, h)), int(np.clip(cy + down + 2, 0, h))
    x0, x1 = int(np.clip(cx - side - 1, 0, w)), int(np.clip(cx + side + 2, 0, w))
    return slice(y0, y1), slice(x0, x1)


def _draw(name, img, ys, xs, cy, cx, R, rng):
    up, down, side = (R * f for f in _REACH.get(name, (1.05, 1.05, 1.05)))
    win = _window(ys, xs, cy, cx, up, down, side)
    DRAW[name](img[win], ys[win], xs[win], cy, cx, R, rng)


def draw_flower(name, rng, size):
    """One stand-in photograph of class `name`: uint8 (size, size, 3)."""
    h = w = int(size)
    ys, xs = coords(h, w)
    bg = _BACKGROUNDS[int(rng.integers(len(_BACKGROUNDS)))]
    img = gradient_background(rng, h, w, jitter_color(rng, bg[0], 0.05),
                              jitter_color(rng, bg[1], 0.05), cells=int(rng.integers(3, 7)))
    # leaves and stems in the background
    for _ in range(int(rng.integers(2, 6))):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ang = rng.uniform(0, np.pi)
        L, W = rng.uniform(0.2, 0.5) * w, rng.uniform(0.03, 0.08) * w
        win = _window(ys, xs, cy, cx, L, L, L)
        dx, dy = xs[win] - cx, ys[win] - cy
        u = dx * math.cos(ang) + dy * math.sin(ang)
        v = -dx * math.sin(ang) + dy * math.cos(ang)
        paint(img[win], edge(W * (1 - (u / L) ** 2 - (v / W) ** 2)) * 0.8,
              jitter_color(rng, (0.15, 0.4, 0.12), 0.08))
    R = rng.uniform(0.22, 0.42) * w
    if rng.random() < 0.15:   # a small flower of another class, behind
        other = rng.choice([c for c in CLASSES if c != name])
        _draw(other, img, ys, xs, rng.uniform(0.1, 0.9) * h, rng.uniform(0.1, 0.9) * w,
                    R * rng.uniform(0.3, 0.5), rng)
    for _ in range(int(rng.integers(0, 3))):   # companions of the same class, smaller
        _draw(name, img, ys, xs, rng.uniform(0, h), rng.uniform(0, w), R * rng.uniform(0.35, 0.7), rng)
    cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
    _draw(name, img, ys, xs, cy, cx, R, rng)
    light = smooth_noise(rng, h, w, 3)[..., None]
    img = img * (0.8 + 0.35 * light)
    out = finish(img, rng, noise_std=rng.uniform(0.01, 0.04), gain=rng.uniform(0.75, 1.15),
                 cast=1 + rng.uniform(-0.06, 0.06, 3), contrast=rng.uniform(0.85, 1.15))
    return blur(out, rng.uniform(0, 0.8) * w / 96 if rng.random() < 0.4 else 0)
