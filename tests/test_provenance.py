"""The environment recorded in metrics.json and shown in results/summary.md."""
import json
import platform
from importlib import metadata

import numpy as np
import pandas as pd

from pipeline import provenance
from pipeline.report import conclusions

ENV = {"python": "CPython 3.11.7", "platform": "Linux-6.1-x86_64-with-glibc2.36",
       "machine": "x86_64", "numpy": "2.4.6", "scipy": "1.17.1", "pandas": "3.1.1",
       "snakemake": "9.27.1", "cpu": "AMD EPYC",
       "blas": {"name": "scipy-openblas", "version": "0.3.31",
                "loaded": {"internal_api": "openblas", "version": "0.3.31", "num_threads": 1,
                           "architecture": "Haswell"}}}


def test_environment_of_this_process():
    env = provenance.environment()
    assert env["python"] == f"{platform.python_implementation()} {platform.python_version()}"
    assert env["numpy"] == np.__version__
    assert env["pandas"] == pd.__version__
    assert env["snakemake"] == metadata.version("snakemake")
    assert env["platform"] == platform.platform() and env["machine"] == platform.machine()
    assert env["blas"]["name"]                       # numpy >= 1.26 reports its BLAS
    import scipy.linalg  # noqa: F401  (SciPy's own BLAS, loaded beside NumPy's)
    from threadpoolctl import threadpool_info
    env = provenance.environment()
    blas = [p for p in threadpool_info() if "numpy" in p["filepath"]][0]     # NumPy's
    assert env["blas"]["loaded"]["version"] == blas["version"]
    assert env["blas"]["loaded"]["architecture"] == blas["architecture"]   # the kernel
    assert env["blas"]["loaded"]["num_threads"] == blas["num_threads"] == 1   # conftest
    assert provenance.kernel(env).endswith(" " + blas["architecture"])
    assert env["cpu"]
    assert json.loads(json.dumps(env)) == env        # goes into metrics.json as is


def test_describe_is_one_readable_line():
    assert provenance.describe(ENV) == (
        "Python 3.11.7, NumPy 2.4.6 (scipy-openblas 0.3.31, Haswell kernel, 1 thread), "
        "SciPy 1.17.1, pandas 3.1.1, Snakemake 9.27.1, Linux-6.1-x86_64-with-glibc2.36, "
        "AMD EPYC")
    no_blas = {**ENV, "blas": {}, "snakemake": None, "cpu": None}
    assert provenance.describe(no_blas) == (
        "Python 3.11.7, NumPy 2.4.6, SciPy 1.17.1, pandas 3.1.1, Linux-6.1-x86_64-with-glibc2.36")
    assert provenance.describe(None) == "not recorded"


def test_summary_lines_one_line_or_each_distinct_environment(tmp_path):
    other = {**ENV, "numpy": "1.26.4"}
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({"environment": ENV}))
    assert provenance.summary_lines([path, {"environment": ENV}]) == [
        f"- environment: {provenance.describe(ENV)}"]
    lines = provenance.summary_lines([{"environment": ENV}, {"environment": other}, path])
    assert lines[0] == "- environments (2, the runs differ):"
    assert lines[1:] == [f"  - {provenance.describe(ENV)}", f"  - {provenance.describe(other)}"]
    assert provenance.summary_lines([]) == ["- environment: no runs"]


def test_summary_md_shows_the_environment(tmp_path):
    (tmp_path / "t.md").write_text("## Table\n")
    (tmp_path / "c.md").write_text("# Which conclusions hold\n")
    out = tmp_path / "summary.md"
    conclusions.write_summary([tmp_path / "t.md"], tmp_path / "c.md", ["corrected"], [1], "0.1.0+x",
                         {"image_size": 12, "training": {"epochs": 2}}, out,
                         metrics=[{"environment": ENV}])
    lines = out.read_text().splitlines()
    assert f"- environment: {provenance.describe(ENV)}" in lines
    assert lines.index(f"- environment: {provenance.describe(ENV)}") < lines.index("## Table")


def test_kernel_lines_name_the_runs_kernels_and_a_different_one_here():
    assert provenance.kernel(ENV) == "openblas 0.3.31 Haswell"
    assert provenance.kernel({**ENV, "blas": {"name": "x"}}) is None    # not recorded
    skx = "openblas 0.3.31 SkylakeX"
    hsw = provenance.kernel(ENV)
    assert provenance.kernel_lines([hsw, hsw], here=hsw) == [
        "BLAS kernel of the runs: openblas 0.3.31 Haswell (2 runs)"]
    lines = provenance.kernel_lines([hsw, skx, hsw, None], here="openblas 0.3.31 Zen")
    assert lines[0] == ("BLAS kernels of the runs differ: openblas 0.3.31 Haswell (2 runs); "
                        "openblas 0.3.31 SkylakeX (1 run); not recorded (1 run); float32 "
                        "results are bit-identical only on the same kernel")
    assert lines[1].startswith("this machine's BLAS kernel (openblas 0.3.31 Zen) is not")
    assert len(provenance.kernel_lines([skx], here=hsw)) == 2
    assert len(provenance.kernel_lines([None], here=hsw)) == 1      # nothing to compare
    assert provenance.kernel_lines([], here=hsw) == []
