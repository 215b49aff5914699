"""Decoding single files: every mode to RGB, the explicit resize filter, and skip reasons
for bad files (which prepare lists in the manifest and counts on the console)."""
import io
import json

import numpy as np
import pytest
from PIL import Image

from pipeline.data.cache import load_cache
from pipeline.data.images import decode, parse_size, read_image
from pipeline.data.manifest import manifest_path
from pipeline.data.prepare import prepare
from test_data_helpers import Log, flowers_tree, image_bytes, noisy_jpeg, write

RED = (200, 30, 30)


def _png(im, **kw):
    buf = io.BytesIO()
    im.save(buf, "PNG", **kw)
    return buf.getvalue()


@pytest.mark.parametrize("mode, fmt", [("L", "PNG"), ("L", "JPEG"), ("P", "PNG"),
                                       ("CMYK", "JPEG"), ("RGBA", "PNG"), ("1", "PNG"),
                                       ("RGB", "PNG")])
def test_every_mode_becomes_rgb_uint8(mode, fmt):
    a = decode(image_bytes(RED, (20, 16), mode, fmt), (8, 10))
    assert a.shape == (8, 10, 3) and a.dtype == np.uint8


def test_grayscale_is_grey_and_cmyk_keeps_its_colour():
    g = decode(image_bytes(RED, mode="L", fmt="PNG"), 8)
    assert np.all(g[..., 0] == g[..., 1]) and np.all(g[..., 1] == g[..., 2])
    c = decode(image_bytes(RED, mode="CMYK", fmt="JPEG", quality=95), 8).astype(int)
    assert np.abs(c.mean((0, 1)) - RED).max() < 25


def test_alpha_is_laid_on_white():
    im = Image.new("RGBA", (10, 10), (0, 0, 255, 255))
    im.paste((0, 0, 0, 0), (0, 0, 5, 10))                 # left half fully transparent
    a = decode(_png(im), 10, "nearest")
    assert a[0, 0].tolist() == [255, 255, 255] and a[0, 9].tolist() == [0, 0, 255]
    la = decode(_png(Image.new("LA", (4, 4), (0, 0))), 4)
    assert la.min() == 255                                # fully transparent black -> white


def test_palette_with_transparency_and_16_bit_grey():
    p = Image.new("P", (6, 6), 1)
    p.putpalette([0, 0, 0, 10, 200, 10] + [0] * 762)
    a = decode(_png(p, transparency=1), 6)
    assert a[0, 0].tolist() == [255, 255, 255]
    g16 = Image.fromarray(np.full((6, 6), 40000, np.uint16))
    b = decode(_png(g16), 6)
    assert abs(int(b[0, 0, 0]) - 40000 // 256) <= 1       # scaled, not clipped to 255


def test_resize_filter_is_explicit():
    data = noisy_jpeg(3, (40, 40))
    near, cubic = decode(data, 17, "nearest"), decode(data, 17, "bicubic")
    assert not np.array_equal(near, cubic)
    assert np.array_equal(cubic, decode(data, 17))         # bicubic is the default
    with pytest.raises(ValueError, match="resampling filter"):
        decode(data, 17, "fancy")


def test_parse_size():
    assert parse_size(96) == (96, 96) and parse_size("48x32") == (48, 32)
    assert parse_size((20, 10)) == (20, 10)
    for bad in ("x", "0", "1x2x3", -3):
        with pytest.raises(ValueError, match="image size"):
            parse_size(bad)


@pytest.mark.parametrize("name, data, reason", [
    ("empty.jpg", b"", "empty file (0 bytes)"),
    ("cut.jpg", noisy_jpeg(1)[:600], "truncated"),
    ("garbage.jpg", b"\xff\xd8\xff\xe0" + b"\x13" * 300, "image"),
    (".DS_Store", b"\x00\x00\x00\x01Bud1" + b"\x00" * 64, "not an image file"),
    ("Thumbs.db", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "not an image file"),
    ("notes.txt", b"hello, not a picture\n", "not an image file"),
    ("text.jpg", b"hello, not a picture\n", "not a readable image"),
])
def test_bad_files_give_a_reason_and_no_exception(tmp_path, name, data, reason):
    arr, sha1, why = read_image(write(tmp_path / name, data), 16)
    assert arr is None and reason in why
    assert sha1 is not None and len(sha1) == 40


def test_accepted_names_fix_quirk_q15(tmp_path):
    """.JPG/.jpeg/.PNG count (the reference kept only exact '.jpg'); so does a PNG named .jpg."""
    root = flowers_tree(tmp_path / "fl", per_class=1)
    write(root / "daisy" / "UPPER.JPG", image_bytes(RED))
    write(root / "daisy" / "b.jpeg", image_bytes(RED))
    write(root / "daisy" / "c.PNG", image_bytes(RED, fmt="PNG"))
    write(root / "daisy" / "d.jpg", image_bytes(RED, fmt="PNG"))
    r = prepare("flowers", root, tmp_path / "c.npz", 16, log=Log())
    assert r.counts["class"]["daisy"] == 5 and not r.skipped


def test_prepare_skips_bad_files_lists_them_and_keeps_the_rest(tmp_path):
    root = flowers_tree(tmp_path / "fl", per_class=3)
    bad = {
        "daisy/empty.jpg": b"",
        "daisy/cut.jpg": noisy_jpeg(7)[:500],
        "rose/.DS_Store": b"\x00\x00\x00\x01Bud1" + b"\x00" * 64,
        "rose/Thumbs.db": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64,
        "tulip/readme.txt": "plain text",
    }
    for rel, data in bad.items():
        write(root / rel, data)
    log, out = Log(), tmp_path / "c.npz"
    r = prepare("flowers", root, out, 16, log=log)
    assert r.n == 9 and sorted(f for f, _ in r.skipped) == sorted(bad)
    assert "skipped 5 file(s)" in log.text
    for rel in bad:
        assert rel in log.text
    m = json.loads(manifest_path(out).read_text())
    assert m["n_skipped"] == 5 and {s["file"] for s in m["skipped"]} == set(bad)
    assert all(s["reason"] for s in m["skipped"])
    assert m["resample"] == "bicubic" and m["counts"]["class"] == {"daisy": 3, "rose": 3, "tulip": 3}
    c = load_cache(out)
    assert not any(f in bad for f in c["files"].tolist())
