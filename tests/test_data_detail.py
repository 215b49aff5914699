"""The detail check of `regstudy prepare` (pipeline.data.detail): how much fine detail
the cached images hold at their size, recorded in the manifest and the results
description, with a warning when it is low."""
import io
import json
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.data import detail
from pipeline.data.manifest import STANDIN_MARKER, read_manifest
from pipeline.data.prepare import prepare
from pipeline.analysis.describe import describe_results, lines
from test_data_helpers import Log, write

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def textured(n, size, seed=0, enlarged_from=None):
    """Smooth random images with detail down to the pixel, or (enlarged_from=s) the same
    drawn at s x s and enlarged bicubically to size (what an upscaled copy holds)."""
    rng = np.random.default_rng(seed)
    src = enlarged_from or size
    out = []
    for _ in range(n):
        a = rng.normal(128, 30, (src, src, 3)).clip(0, 255).astype(np.uint8)
        im = Image.fromarray(a).resize((size, size), Image.Resampling.BICUBIC)
        out.append(np.asarray(im))
    return np.stack(out)


def test_measure_separates_sharp_from_enlarged_images():
    sharp = detail.measure(textured(12, 48))
    blurry = detail.measure(textured(12, 48, enlarged_from=8))
    assert sharp["median"] > 20 and not sharp["low"]
    assert blurry["median"] < 6 and blurry["low"]
    assert blurry["p10"] <= blurry["median"] <= blurry["p90"]
    assert detail.measure(textured(3, 6)) is None            # too small to shrink 4x twice
    text = detail.warning(blurry, [48, 48])
    assert f"{blurry['median']:.1f} grey levels" in text and "48x48" in text
    assert detail.warning(sharp, [48, 48]) is None
    assert detail.warning(blurry, [48, 48], standin=True) is None


def jpeg(a):
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=95)
    return buf.getvalue()


@pytest.mark.parametrize("enlarged", [True, False])
def test_prepare_records_the_detail_and_warns_when_low(tmp_path, enlarged):
    root = tmp_path / "flowers"
    imgs = textured(6, 64, enlarged_from=10 if enlarged else None)
    for i, a in enumerate(imgs):
        write(root / ("daisy", "rose")[i % 2] / f"img_{i}.jpg", jpeg(a))
    log = Log()
    r = prepare("flowers", root, tmp_path / "f.npz", 48, log=log)
    m = read_manifest(r.path)
    assert m["detail"] == r.detail and m["detail"]["low"] is enlarged
    warned = [line for line in log if line.startswith("warning:")]
    assert len(warned) == int(enlarged)
    if enlarged:
        assert f"{m['detail']['median']:.1f} grey levels" in warned[0]
    # reused: the warning again; the description carries the value
    log2 = Log()
    prepare("flowers", root, tmp_path / "f.npz", 48, log=log2)
    assert [line for line in log2 if line.startswith("warning:")] == warned
    d = describe_results([tmp_path / "f.manifest.json"], [])
    assert d["datasets"]["flowers"]["detail"] == m["detail"]
    assert ("LOW" in lines(d)[0]) is enlarged


def test_a_cache_from_before_the_check_gets_its_detail(tmp_path):
    root = tmp_path / "flowers"
    for i, a in enumerate(textured(4, 48, enlarged_from=8)):
        write(root / ("daisy", "rose")[i % 2] / f"img_{i}.jpg", jpeg(a))
    r = prepare("flowers", root, tmp_path / "f.npz", 48, log=Log())
    mpath = tmp_path / "f.manifest.json"
    old = json.loads(mpath.read_text())
    del old["detail"]
    mpath.write_text(json.dumps(old))
    log = Log()
    again = prepare("flowers", root, tmp_path / "f.npz", 48, log=log)
    assert again.reused and read_manifest(r.path)["detail"]["low"]
    assert any(line.startswith("warning:") for line in log)


def test_a_stand_in_is_not_judged(tmp_path):
    root = tmp_path / "flowers"
    for i, a in enumerate(textured(4, 48, enlarged_from=8)):
        write(root / ("daisy", "rose")[i % 2] / f"img_{i}.jpg", jpeg(a))
    write(root / STANDIN_MARKER, "{}")
    log = Log()
    r = prepare("flowers", root, tmp_path / "f.npz", 48, log=log)
    assert r.detail["low"] and not any(line.startswith("warning:") for line in log)


def sample(folder, n=150, size=96):
    files = sorted(Path(folder).glob("*/*.jpg"))
    random.Random(0).shuffle(files)
    return np.stack([np.asarray(Image.open(f).convert("RGB").resize(
        (size, size), Image.Resampling.BICUBIC)) for f in files[:n]])


@pytest.mark.skipif(not ((SHARED / "flowers").is_dir() and (SHARED / "flowers-sharp").is_dir()),
                    reason=f"the two flowers copies are not at {SHARED}")
def test_the_128px_copy_is_flagged_at_96_and_the_sharp_one_not():
    """150 images of each (the whole sets: `regstudy prepare`, docs/data.md)."""
    low = detail.measure(sample(SHARED / "flowers"))
    sharp = detail.measure(sample(SHARED / "flowers-sharp"))
    assert low["low"] and 5 < low["median"] < 8
    assert not sharp["low"] and sharp["median"] > 15
