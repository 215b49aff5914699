"""Helpers for the data tests: tiny image folders written by the tests themselves."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image


def image_bytes(color=(200, 30, 30), size=(20, 16), mode="RGB", fmt="JPEG", **save):
    """Bytes of a small uniform image (size = (W, H)) in the given mode and format."""
    im = Image.new("RGB", size, color)
    if mode != "RGB":
        im = im.convert(mode)
    buf = io.BytesIO()
    im.save(buf, fmt, **save)
    return buf.getvalue()


def write(path, data):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def noisy_jpeg(seed, size=(24, 24)):
    """A JPEG of random pixels (large enough that truncating it leaves a broken file)."""
    a = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def flowers_tree(root, classes=("daisy", "rose", "tulip"), per_class=3):
    """ROOT/<class>/img_<i>.jpg with a colour per class; returns root."""
    root = Path(root)
    for c, name in enumerate(classes):
        for i in range(per_class):
            write(root / name / f"img_{i}.jpg", noisy_jpeg(100 * c + i))
    return root


def office_tree(root, domains=("amazon", "dslr"), objects=("bike", "mug", "pen"), per_class=2):
    root = Path(root)
    for d, dom in enumerate(domains):
        for o, obj in enumerate(objects):
            for i in range(1, per_class + 1):
                write(root / dom / "images" / obj / f"frame_{i:04d}.jpg",
                      noisy_jpeg(1000 * d + 100 * o + i))
    return root


class Log(list):
    """A `log` callable that keeps the lines (joined by .text)."""

    def __call__(self, *parts):
        self.append(" ".join(str(p) for p in parts))

    @property
    def text(self):
        return "\n".join(self)
