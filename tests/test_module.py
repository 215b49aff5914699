"""The workflow used as a Snakemake module from a folder holding only a Snakefile and a
config (the catalog's way), and the report's description of what the results are.

One lean run (3 experiments of the tiny config, 1 seed, --cores 1) in such a folder; then
its tables and results/description.json, and reports asked for with the run's config and
with another one (the front page must describe the results and state the mismatch).
About 45 s on 2 busy cores, hence `slow`; the mismatch wording is also checked without a run.
"""
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline.analysis import describe

ROOT = Path(__file__).resolve().parents[1]
SNAKEFILE = ROOT / "workflow" / "Snakefile"
TEST_CONFIG = ROOT / ".test" / "config" / "config.yaml"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
SELECT = ["flowers_mlp", "flowers_mlp_l1_0.01", "office31_cnn4"]

USER_SNAKEFILE = f"""\
configfile: "config.yaml"


module regstudy:
    snakefile:
        "{SNAKEFILE}"
    config:
        config


use rule * from regstudy
"""


def snakemake(wd, *args):
    r = subprocess.run([SNAKEMAKE, *args], cwd=wd, capture_output=True, text=True,
                       timeout=600)
    return r, r.stdout + r.stderr


@pytest.fixture(scope="module")
def user_dir(tmp_path_factory):
    wd = tmp_path_factory.mktemp("user")
    (wd / "Snakefile").write_text(USER_SNAKEFILE)
    cfg = yaml.safe_load(TEST_CONFIG.read_text())
    cfg.update(select=SELECT, seeds=[1])
    (wd / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    t0 = time.perf_counter()
    r, out = snakemake(wd, "--cores", "1")
    assert r.returncode == 0, out[-5000:]
    print(f"module run: {time.perf_counter() - t0:.1f} s")
    return wd


@pytest.mark.slow
def test_module_run_makes_the_tables(user_dir):
    res = user_dir / "results"
    assert sorted(p.name for p in user_dir.iterdir()) == [
        ".snakemake", "Snakefile", "config.yaml", "results"]
    t1 = pd.read_csv(res / "tables/table1_flowers_mlp.csv")
    assert list(t1.experiment) == ["flowers_mlp", "flowers_mlp_l1_0.01"]
    t3 = pd.read_csv(res / "tables/table3_office31_cnn.csv")
    assert list(t3.experiment) == ["office31_cnn4"]
    assert not (res / "tables/table2_flowers_cnn.csv").exists()
    runs = pd.read_csv(res / "tables/runs.csv")
    assert sorted(zip(runs.experiment, runs.protocol)) == sorted(
        (e, p) for e in SELECT for p in ("reference", "corrected"))
    assert (runs.status == "ok").all() and (runs.epochs_done == 2).all()
    for kind in ("curves", "accuracy"):
        assert (res / f"figures/{kind}_table3_office31_cnn.png").stat().st_size > 1000


@pytest.mark.slow
def test_description_is_read_from_the_results(user_dir):
    from pipeline.version import engine_version

    d = json.loads((user_dir / "results/description.json").read_text())
    fl, of = d["datasets"]["flowers"], d["datasets"]["office31"]
    assert fl["source"] == of["source"] == "generated stand-in"
    assert fl["image_size"] == of["image_size"] == [12, 12]
    assert fl["images"] == 5 * 12 and of["images"] == 3 * 31 * 1
    assert d["runs"] == 6 and d["status"] == {"ok": 6}
    assert d["protocols"] == ["corrected", "reference"] and d["seeds"] == [1]
    assert sorted(d["experiments"]) == sorted(SELECT)
    assert d["experiments"]["flowers_mlp_l1_0.01"]["l1"] == [0.01]
    assert d["engine_versions"] == [engine_version()]
    assert len(d["environments"]) == 1 and "NumPy" in d["environments"][0]
    from pipeline import provenance
    here = provenance.kernel(provenance.environment())
    assert d["blas_kernels"] == [f"BLAS kernel of the runs: {here} (6 runs)"]
    md = (user_dir / "results/description.md").read_text()
    assert "- flowers: a generated stand-in from" in md and "60 images of 12 x 12" in md


def front_page(html):
    """The report's front page (the rendered workflow.rst), as stored in the HTML."""
    start = html.index("This report reruns the seed study")
    return html[start:html.index("</script>", start)]


@pytest.mark.slow
def test_report_describes_the_results(user_dir):
    r, out = snakemake(user_dir, "--report", "results/report.html")
    assert r.returncode == 0, out[-3000:]
    page = front_page((user_dir / "results/report.html").read_text())
    assert "60 images of 12 x 12 pixels" in page and "93 images of 12 x 12 pixels" in page
    assert "seeds 1" in page and "generated stand-in" in page
    assert "do not match" not in page


@pytest.mark.slow
def test_report_with_another_config_states_the_mismatch(user_dir, tmp_path):
    cfg = yaml.safe_load((user_dir / "config.yaml").read_text())
    real = tmp_path / "flowers"   # the stand-in's images, now given as a real folder
    shutil.copytree(user_dir / "results/standin/flowers", real)
    cfg.update(image_size=24, flowers_dir=str(real))
    cfg["training"]["epochs"] = 5
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(cfg, sort_keys=False))
    r, out = snakemake(user_dir, "--report", "results/report-other.html",
                       "--configfile", str(other))
    assert r.returncode == 0, out[-3000:]
    assert "flowers image size: results 12 x 12, configuration 24 x 24" in out  # console
    page = front_page((user_dir / "results/report-other.html").read_text())
    assert "these results do not match the configuration" in page
    assert "flowers image size: results 12 x 12, configuration 24 x 24" in page
    assert "office31 image size: results 12 x 12, configuration 24 x 24" in page
    assert (f"flowers data: results from a generated stand-in "
            f"({user_dir / 'results/standin/flowers'}), configuration the real folder {real}"
            in page)
    assert "flowers_mlp epochs: results 2, configuration 5" in page
    # the description is the results', not the other config's
    assert "60 images of 12 x 12 pixels" in page and "24 x 24 pixels" not in page
    assert "<li>epochs: 2</li>" in page


def test_mismatches_names_each_difference():
    described = {
        "datasets": {"flowers": {"source": "real", "root": "/data/flowers",
                                 "image_size": [96, 96]}},
        "protocols": ["corrected", "reference"], "seeds": [1, 2, 3],
        "experiments": {"a": {"epochs": [10], "batch_size": [10], "learning_rate": [0.001],
                              "l1": [0.0], "l2": [0.0]}},
        "engine_versions": ["0.1.0+aaa"],
    }
    expected = json.loads(json.dumps(described))
    assert describe.mismatches(described, expected) == []
    expected["datasets"]["flowers"].update(source="generated stand-in", root=None,
                                           image_size=[48, 48])
    expected["seeds"] = [1, 2]
    expected["experiments"]["b"] = expected["experiments"]["a"]
    expected["engine_versions"] = ["0.1.0+bbb"]
    assert describe.mismatches(described, expected) == [
        "flowers image size: results 96 x 96, configuration 48 x 48",
        "flowers data: results from the real folder /data/flowers, configuration a "
        "generated stand-in",
        "seeds: results 1, 2, 3, configuration 1, 2",
        "experiments without runs in the results: b",
        "engine version: results 0.1.0+aaa, this code 0.1.0+bbb",
    ]
