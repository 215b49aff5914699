"""The software environment a run ran in: recorded in each metrics.json ("environment")
and shown in results/summary.md, so a number can be traced to the NumPy/BLAS it came from.

Versions are read from the installed distributions (no import of pandas or Snakemake in a
training job); BLAS from numpy.show_config and, when threadpoolctl happens to be
installed, the library actually loaded with its thread count.
"""
from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path

import numpy as np

PACKAGES = ("numpy", "scipy", "pandas", "snakemake")


def _version(dist):
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _blas():
    """BLAS NumPy was built against, and the one loaded (threadpoolctl, if installed)."""
    out = {}
    try:
        build = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        out.update(name=build.get("name"), version=build.get("version"))
        config = build.get("openblas configuration")
        if config:
            out["config"] = config
    except Exception:          # numpy < 1.26 or an unexpected layout: versions still count
        pass
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return out
    loaded = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    if loaded:
        p = loaded[0]
        out["loaded"] = {k: p.get(k) for k in ("internal_api", "version", "num_threads",
                                               "threading_layer", "architecture")}
    return out


def environment():
    """{"python", "platform", "machine", "numpy", "blas", "scipy", "pandas", "snakemake"};
    a package that is not installed is None."""
    env = {"python": f"{platform.python_implementation()} {platform.python_version()}",
           "platform": platform.platform(), "machine": platform.machine()}
    for name in PACKAGES:
        env[name] = np.__version__ if name == "numpy" else _version(name)
    env["blas"] = _blas()
    return env


def describe(env):
    """One Markdown line for a report, e.g. `Python 3.11.7, NumPy 2.4.6 (scipy-openblas
    0.3.31, 1 thread), pandas 3.1.1, Snakemake 9.27.1, Linux-...-x86_64`."""
    if not env:
        return "not recorded"
    blas = env.get("blas") or {}
    loaded = blas.get("loaded") or {}
    b = " ".join(str(v) for v in (blas.get("name"), blas.get("version")) if v)
    if loaded.get("num_threads"):
        n = loaded["num_threads"]
        b += f"{', ' if b else ''}{n} thread{'s' if n != 1 else ''}"
    parts = [env.get("python", "Python ?").replace("CPython", "Python"),
             f"NumPy {env.get('numpy')}" + (f" ({b})" if b else "")]
    parts += [f"{label} {env[key]}" for key, label in
              (("scipy", "SciPy"), ("pandas", "pandas"), ("snakemake", "Snakemake"))
              if env.get(key)]
    parts.append(env.get("platform", ""))
    return ", ".join(p for p in parts if p)


def summary_lines(metrics):
    """Markdown lines for results/summary.md: the environment of the study's runs (one
    line, or one per distinct environment when runs differ). `metrics`: metrics.json
    paths or their dicts."""
    envs = []
    for m in metrics:
        if not isinstance(m, dict):
            m = json.loads(Path(m).read_text())
        d = describe(m.get("environment"))
        if d not in envs:
            envs.append(d)
    if not envs:
        return ["- environment: no runs"]
    if len(envs) == 1:
        return [f"- environment: {envs[0]}"]
    return [f"- environments ({len(envs)}, the runs differ):"] + [f"  - {e}" for e in envs]
