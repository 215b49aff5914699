"""How much fine detail a data set's images hold at the size they are trained at
(docs/data.md#detail-check).

The measure: shrink an image FACTOR times and enlarge it back (bicubic both ways), and
take the RMS change, in grey levels over every pixel and channel; the data set's value is
the median over its images. What the round trip removes is the detail finer than
FACTOR pixels. Photographs resized down to 48-128 pixels from larger originals hold a
median of 17-24 grey levels (the flowers photographs from 227x227: 24.3 at 48, 19.3 at
96, 17.3 at 128). Images enlarged from a smaller copy, or blurred or compressed before,
hold much less: the 128x128 flowers copy holds 6.6 at 96 and 3.2 at 128, about its JPEG
noise. Below LOW_BELOW the cache is flagged: a run on it learns from blurrier images than
the size says.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

FACTOR = 4
LOW_BELOW = 9.0           # grey levels: about half of what photographs hold at 48-128 px
MEASURE = f"median RMS change (grey levels) of a {FACTOR}x bicubic down-and-up round trip"


def roundtrip_rms(img, factor=FACTOR):
    """RMS change of one uint8 (H, W, C) image through a factor-times smaller copy."""
    h, w = img.shape[:2]
    im = Image.fromarray(img)
    small = im.resize((max(1, w // factor), max(1, h // factor)), Image.Resampling.BICUBIC)
    back = np.asarray(small.resize((w, h), Image.Resampling.BICUBIC), np.float64)
    return float(np.sqrt(np.mean((back - img) ** 2)))


def measure(x, factor=FACTOR):
    """The detail of a stack of uint8 images (N, H, W, C): the median and 10th/90th
    percentiles of roundtrip_rms, or None when the images are too small to shrink
    `factor` times twice over."""
    if len(x) == 0 or min(x.shape[1:3]) < 2 * factor:
        return None
    v = np.array([roundtrip_rms(img, factor) for img in x])
    p10, med, p90 = np.percentile(v, [10, 50, 90])
    return {"measure": MEASURE, "factor": factor, "median": round(float(med), 2),
            "p10": round(float(p10), 2), "p90": round(float(p90), 2),
            "low_below": LOW_BELOW, "low": bool(med < LOW_BELOW)}


def warning(detail, size, standin=False):
    """The warning for a cache whose images hold little detail at `size` (None: no
    warning; a generated stand-in is drawn at its size and not judged)."""
    if detail is None or not detail["low"] or standin:
        return None
    px = "x".join(str(s) for s in size)
    return (f"the images hold little detail at {px}: a {detail['factor']}x round trip "
            f"changes them by {detail['median']:.1f} grey levels RMS (median), where "
            f"photographs resized to this size from larger originals hold about 17-24 "
            f"(flagged below {detail['low_below']:g}). They were probably enlarged from a "
            f"smaller copy, or blurred or compressed before; runs on them learn from "
            f"blurrier images than {px} (docs/data.md#detail-check)")
