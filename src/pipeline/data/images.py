"""One image file -> a uint8 RGB array of the study's size, or the reason it was skipped.

Fixes reference quirk Q15 explicitly: every image is converted to RGB (the reference
assumed 3-channel files) and resized with a named filter (the reference used Pillow's
version-dependent default: NEAREST before Pillow 7, BICUBIC since). The default here is
BICUBIC, the modern default, so results match the reference as run on current Pillow.
EXIF orientation is not applied, as in the reference.
"""
from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

# Names the loaders expect (case-insensitive; the reference kept only exact ".jpg", Q15).
# Other files are still tried: anything Pillow decodes is used, the rest is skipped.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")

RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "box": Image.Resampling.BOX,
    "bilinear": Image.Resampling.BILINEAR,
    "hamming": Image.Resampling.HAMMING,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}
DEFAULT_RESAMPLE = "bicubic"
JPEG_QUALITIES = range(1, 101)      # Pillow's JPEG quality scale


def check_jpeg_quality(q):
    """None (no re-encode) or an int 1..100; anything else raises ValueError."""
    if q is None or (isinstance(q, (int, np.integer)) and not isinstance(q, bool)
                     and int(q) in JPEG_QUALITIES):
        return None if q is None else int(q)
    raise ValueError(f"JPEG quality {q!r}: expected an integer from 1 to 100 (or none)")


def reencode_jpeg(im, quality):
    """The RGB image saved as a JPEG at `quality` and decoded again (what a second
    round of JPEG compression does to it)."""
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as again:
        again.load()
        return again.convert("RGB")

# Transparent areas are laid on white (product shots, Office-31 amazon, sit on white);
# dropping alpha instead would expose whatever colour hides under it.
ALPHA_BACKGROUND = (255, 255, 255)


def parse_size(size):
    """96, "96", "96x64" or (96, 64) -> (H, W) ints, both positive."""
    if isinstance(size, str):
        parts = size.lower().split("x")
        try:
            size = tuple(int(p) for p in parts)
        except ValueError:
            raise ValueError(f"image size {size!r}: expected N or HxW, e.g. 96 or 96x96") from None
    elif isinstance(size, (int, np.integer)):
        size = (int(size),)
    size = tuple(int(s) for s in size)
    if len(size) == 1:
        size = size * 2
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"image size {size!r}: expected N or HxW with positive numbers")
    return size


def resample_filter(name):
    try:
        return RESAMPLE[name.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"resampling filter {name!r}: expected one of {', '.join(RESAMPLE)}") from None


def to_rgb(im):
    """Any Pillow mode -> RGB: grayscale, 16-bit, palette, CMYK, and alpha laid on white."""
    mode = im.mode
    if mode == "RGB":
        return im
    if mode.startswith("I;16") or mode == "I":
        a = np.asarray(im)
        a = a >> 8 if a.max(initial=0) > 255 else a      # 16-bit range -> 8-bit
        return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "L").convert("RGB")
    if mode == "F":
        a = np.nan_to_num(np.asarray(im, dtype=np.float32))
        return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "L").convert("RGB")
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode in ("PA", "LA", "La", "RGBa") or (mode in ("L", "1") and "transparency" in im.info):
        im = im.convert("RGBA")
    if im.mode == "RGBA":
        out = Image.new("RGB", im.size, ALPHA_BACKGROUND)
        out.paste(im, mask=im.getchannel("A"))
        return out
    return im.convert("RGB")


def decode(data, size, resample=DEFAULT_RESAMPLE, jpeg_quality=None):
    """Bytes of one image -> uint8 (H, W, 3), resized with `resample` and then, with a
    `jpeg_quality`, re-encoded once as JPEG at that quality. Raises what Pillow raises on
    bad input."""
    h, w = parse_size(size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # e.g. palette transparency notes; errors still raise
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            im = to_rgb(im)
            if im.size != (w, h):
                im = im.resize((w, h), resample=resample_filter(resample))
            if jpeg_quality is not None:
                im = reencode_jpeg(im, jpeg_quality)
            return np.asarray(im, dtype=np.uint8)


def skip_reason(path, data, exc):
    """A short, human reason for a file that could not be used."""
    name = Path(path).name
    if data is not None and len(data) == 0:
        return "empty file (0 bytes)"
    looks_like_image = Path(name).suffix.lower() in IMAGE_SUFFIXES
    if isinstance(exc, UnidentifiedImageError):
        if looks_like_image:
            return "not a readable image (Pillow cannot identify its format)"
        return "not an image file (Pillow cannot identify it)"
    if isinstance(exc, Image.DecompressionBombError):
        return f"image too large to decode safely: {exc}"
    msg = str(exc) or type(exc).__name__
    if isinstance(exc, (OSError, SyntaxError, EOFError)):
        return f"corrupt or truncated image: {msg}"
    return f"cannot decode ({type(exc).__name__}): {msg}"


def read_image(path, size, resample=DEFAULT_RESAMPLE, jpeg_quality=None):
    """One file -> (array or None, sha1 of the bytes or None, skip reason or None).

    Never raises for a bad file: the caller lists the reason and goes on. An unreadable
    one (permissions) is not bad data but a fault to fix: PermissionError, no skip."""
    try:
        data = Path(path).read_bytes()
    except PermissionError:
        raise
    except OSError as exc:
        return None, None, f"cannot read file: {exc.strerror or exc}"
    sha1 = hashlib.sha1(data).hexdigest()
    if not data:
        return None, sha1, skip_reason(path, data, None)
    try:
        return decode(data, size, resample, jpeg_quality), sha1, None
    except Exception as exc:   # any decoder failure is a skip, never a crash
        return None, sha1, skip_reason(path, data, exc)


def file_sha1(path):
    """Content hash of one source file (None if it cannot be read; permissions: raises)."""
    try:
        return hashlib.sha1(Path(path).read_bytes()).hexdigest()
    except PermissionError:
        raise
    except OSError:
        return None
