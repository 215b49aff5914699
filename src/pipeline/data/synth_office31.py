"""Procedural stand-in for Office-31: 31 object classes photographed in 3 domain styles.

Objects: each class is a fixed prototype (a body and 2-4 parts: bars, rings, grids of
keys, ...) drawn from a constant seed, so class identities are the same for every
`--seed`; an instance jitters parts, proportions, colour (sometimes another colour),
rotation and scale. Office objects share a small palette, so shape carries the class.

Domains, as in the real data:
- amazon: product shots, large and centred on white, clean;
- dslr: the object in an office scene (wall, desk), sharp, warm light;
- webcam: the same kind of scene through a poor sensor: low resolution, noise, cool
  cast, low contrast, strong JPEG compression, 4:3 frames.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from .synth_paint import (blur, finish, gradient_background, jitter_color, resample_through,
                          smooth_noise, to_uint8)

DOMAINS = ("amazon", "dslr", "webcam")
DOMAIN_COUNTS = {"amazon": 2817, "dslr": 498, "webcam": 795}   # the real release
OBJECTS = (
    "back_pack", "bike", "bike_helmet", "bookcase", "bottle", "calculator", "desk_chair",
    "desk_lamp", "desktop_computer", "file_cabinet", "headphones", "keyboard",
    "laptop_computer", "letter_tray", "mobile_phone", "monitor", "mouse", "mug",
    "paper_notebook", "pen", "phone", "printer", "projector", "punchers", "ring_binder",
    "ruler", "scissors", "speaker", "stapler", "tape_dispenser", "trash_can",
)
_PALETTE = np.array([
    (0.1, 0.1, 0.1), (0.25, 0.25, 0.27), (0.5, 0.5, 0.5), (0.75, 0.75, 0.78),
    (0.92, 0.92, 0.9), (0.85, 0.78, 0.62), (0.1, 0.15, 0.4), (0.15, 0.35, 0.75),
    (0.75, 0.1, 0.1), (0.15, 0.5, 0.25), (0.45, 0.28, 0.12), (0.9, 0.75, 0.15),
], dtype=np.float32)
_BODY = ("rect", "round", "ellipse", "trapezoid")
_PART = ("rect", "ellipse", "ring", "bar", "triangle", "grid", "round")
_PROTO_SEED = 0x0FF1CE


def _prototype(j):
    """The fixed design of object class j (independent of the generation seed)."""
    rng = np.random.default_rng([_PROTO_SEED, j])
    aspect = np.exp(rng.uniform(-1.1, 1.1))
    bw, bh = (1.0, 1 / aspect) if aspect > 1 else (aspect, 1.0)
    main, accent = rng.choice(len(_PALETTE), 2, replace=False)
    parts = []
    for _ in range(rng.integers(2, 5)):
        parts.append(dict(
            kind=_PART[rng.integers(len(_PART))],
            c=(rng.uniform(-0.9, 0.9) * bw, rng.uniform(-0.9, 0.9) * bh),
            s=(rng.uniform(0.12, 0.55) * max(bw, 0.5), rng.uniform(0.12, 0.55) * max(bh, 0.5)),
            angle=rng.uniform(0, np.pi), role=rng.choice(["accent", "dark", "light"]),
            grid=tuple(rng.integers(2, 6, 2)),
        ))
    return dict(body=_BODY[rng.integers(len(_BODY))], w=bw, h=bh, taper=rng.uniform(0.55, 0.85),
                main=int(main), accent=int(accent), parts=parts)


PROTOTYPES = [_prototype(j) for j in range(len(OBJECTS))]


def _rgba(color, alpha=255):
    return tuple(int(v * 255 + 0.5) for v in np.clip(color, 0, 1)) + (alpha,)


def _shape(draw, kind, cx, cy, sw, sh, angle, color, grid, width):
    x0, y0, x1, y1 = cx - sw, cy - sh, cx + sw, cy + sh
    fill = _rgba(color)
    if kind == "rect":
        draw.rectangle((x0, y0, x1, y1), fill=fill)
    elif kind == "round":
        draw.rounded_rectangle((x0, y0, x1, y1), radius=0.4 * min(sw, sh), fill=fill)
    elif kind == "ellipse":
        draw.ellipse((x0, y0, x1, y1), fill=fill)
    elif kind == "ring":
        draw.ellipse((x0, y0, x1, y1), outline=fill, width=max(1, int(0.25 * min(sw, sh))))
    elif kind == "triangle":
        draw.polygon([(cx, y0), (x1, y1), (x0, y1)], fill=fill)
    elif kind == "bar":
        dx, dy = np.cos(angle) * max(sw, sh), np.sin(angle) * max(sw, sh)
        draw.line([(cx - dx, cy - dy), (cx + dx, cy + dy)], fill=fill, width=max(1, int(width)))
    elif kind == "grid":
        rows, cols = grid
        gw, gh = 2 * sw / cols, 2 * sh / rows
        for r in range(rows):
            for c in range(cols):
                draw.rectangle((x0 + c * gw + 0.15 * gw, y0 + r * gh + 0.15 * gh,
                                x0 + (c + 0.85) * gw, y0 + (r + 0.85) * gh), fill=fill)
    elif kind == "trapezoid":
        t = 0.7
        draw.polygon([(cx - t * sw, y0), (cx + t * sw, y0), (x1, y1), (x0, y1)], fill=fill)


def _object_layer(j, rng, centre, half, rotation):
    """One instance of object j -> (RGBA tile, top-left corner on the canvas).

    Drawn 2x supersampled on a tile just large enough for the object (its parts stay
    within 1.6 half-sizes of the centre), rotated premultiplied, then reduced."""
    p = PROTOTYPES[j]
    s = half * 2
    side = int(np.ceil(3.4 * s))
    layer = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    cx = cy = side / 2
    main = _PALETTE[p["main"]] if rng.random() > 0.2 else _PALETTE[rng.integers(len(_PALETTE))]
    main = jitter_color(rng, main, 0.06)
    accent = jitter_color(rng, _PALETTE[p["accent"]], 0.06)
    roles = {"accent": accent, "dark": main * 0.45, "light": np.clip(main * 0.6 + 0.4, 0, 1)}
    bw, bh = p["w"] * np.exp(rng.normal(0, 0.08)) * s, p["h"] * np.exp(rng.normal(0, 0.08)) * s
    _shape(d, p["body"], cx, cy, bw, bh, 0, main, (1, 1), 0)
    for part in p["parts"]:
        if rng.random() < 0.1:       # a part hidden or missing in this view
            continue
        px = cx + (part["c"][0] + rng.normal(0, 0.05)) * s
        py = cy + (part["c"][1] + rng.normal(0, 0.05)) * s
        sw = part["s"][0] * np.exp(rng.normal(0, 0.1)) * s
        sh = part["s"][1] * np.exp(rng.normal(0, 0.1)) * s
        _shape(d, part["kind"], px, py, sw, sh, part["angle"] + rng.normal(0, 0.1),
               roles[part["role"]], part["grid"], 0.12 * s)
    layer = layer.convert("RGBa").rotate(rotation, resample=Image.Resampling.BILINEAR)
    layer = layer.reduce(2).convert("RGBA")
    corner = (int(round(centre[0] - layer.width / 2)), int(round(centre[1] - layer.height / 2)))
    return layer, corner


def _scene(rng, h, w):
    """An office scene: a wall above a desk, soft textures (dslr and webcam)."""
    wall = jitter_color(rng, [(0.85, 0.85, 0.82), (0.8, 0.75, 0.65), (0.7, 0.75, 0.8),
                              (0.6, 0.6, 0.6)][rng.integers(4)], 0.05)
    desk = jitter_color(rng, [(0.45, 0.3, 0.18), (0.35, 0.35, 0.37), (0.15, 0.15, 0.15),
                              (0.7, 0.6, 0.45)][rng.integers(4)], 0.05)
    img = gradient_background(rng, h, w, wall * 0.9, wall * 1.05, cells=4)
    horizon = int(rng.uniform(0.45, 0.8) * h)
    img[horizon:] = gradient_background(rng, h - horizon, w, desk * 0.85, desk * 1.1, cells=5)
    for _ in range(rng.integers(0, 3)):   # out-of-focus clutter
        y0, x0 = int(rng.uniform(0, h)), int(rng.uniform(0, w))
        y1, x1 = y0 + int(rng.uniform(0.1, 0.3) * h), x0 + int(rng.uniform(0.1, 0.3) * w)
        img[y0:y1, x0:x1] = jitter_color(rng, _PALETTE[rng.integers(len(_PALETTE))], 0.05) * 0.8
    return img, horizon


def draw_office(domain, j, rng, size):
    """One stand-in image of object j in `domain` -> (uint8 image, JPEG quality)."""
    S = int(size)
    if domain == "amazon":
        h = w = S
        bg = np.full((h, w, 3), rng.uniform(0.93, 1.0), np.float32)
        bg *= (1 - 0.04 * smooth_noise(rng, h, w, 2))[..., None]
        half, centre = rng.uniform(0.3, 0.42) * S, (w / 2 + rng.normal(0, 0.02 * S),
                                                     h / 2 + rng.normal(0, 0.02 * S))
        rot, quality = rng.uniform(-8, 8), 92
    else:
        h, w = (S, S) if domain == "dslr" else (S, round(S * 4 / 3))
        bg, horizon = _scene(rng, h, w)
        bg_u8 = blur(to_uint8(bg), rng.uniform(1.0, 2.0) * S / 96)
        bg = bg_u8.astype(np.float32) / 255
        half = rng.uniform(0.16, 0.3) * S
        centre = (rng.uniform(0.3, 0.7) * w, min(horizon - 0.3 * half, rng.uniform(0.35, 0.7) * h))
        rot = rng.uniform(-20, 20)
        quality = int(rng.integers(80, 93) if domain == "dslr" else rng.integers(55, 86))
    base = Image.fromarray(to_uint8(bg))
    tile, corner = _object_layer(j, rng, centre, half, rot)
    base.paste(tile, corner, tile)
    img = np.asarray(base, dtype=np.float32) / 255
    if domain == "amazon":
        out = finish(img, rng, noise_std=0.004)
    elif domain == "dslr":
        out = finish(img, rng, noise_std=rng.uniform(0.005, 0.025), gain=rng.uniform(0.75, 1.1),
                     cast=np.array([1.04, 1.0, 0.93]) + rng.uniform(-0.05, 0.05, 3),
                     contrast=rng.uniform(0.8, 1.05))
        out = blur(out, rng.uniform(0.2, 0.8) * S / 96)
    else:   # overlaps dslr at its good end, as the real webcam and dslr shots do
        img = resample_through(to_uint8(img), rng.uniform(1.4, 2.6)).astype(np.float32) / 255
        out = finish(img, rng, noise_std=rng.uniform(0.015, 0.045), gain=rng.uniform(0.65, 1.0),
                     cast=np.array([0.94, 1.0, 1.07]) + rng.uniform(-0.06, 0.06, 3),
                     contrast=rng.uniform(0.65, 0.95))
    return out, quality
