"""The software environment a run ran in: recorded in each metrics.json ("environment")
and shown in results/summary.md, so a number can be traced to the NumPy/BLAS it came from.

Versions are read from the installed distributions (no import of pandas or Snakemake in a
training job); BLAS from numpy.show_config and threadpoolctl: the library actually loaded,
its version, thread count and the kernel it picked for this CPU (its "architecture").
The kernel matters: float32 products sum in the kernel's order, so a run is bit-identical
only on the same kernel (docs/engine.md#determinism-and-resuming); `kernel()` names it.
"""
from __future__ import annotations

import json
import platform
from collections import Counter
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
    """BLAS NumPy was built against, and the one loaded (threadpoolctl)."""
    out = {}
    try:
        build = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        out.update(name=build.get("name"), version=build.get("version"))
        config = build.get("openblas configuration")
        if config:
            out["config"] = config
    except Exception:          # numpy < 1.26 or an unexpected layout: versions still count
        pass
    from threadpoolctl import threadpool_info

    loaded = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    # NumPy's own: SciPy may load a BLAS of its own beside it, listed first or not
    ours = [p for p in loaded if Path(p.get("filepath") or "").parent.name.startswith("numpy")]
    if ours or loaded:
        p = (ours or loaded)[0]
        out["loaded"] = {k: p.get(k) for k in ("internal_api", "version", "num_threads",
                                               "threading_layer", "architecture")}
    return out


def cpu_model():
    """The CPU's model name (/proc/cpuinfo on Linux), else what platform knows, else None."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def environment():
    """{"python", "platform", "machine", "cpu", "numpy", "blas", "scipy", "pandas",
    "snakemake"}; a package that is not installed is None."""
    env = {"python": f"{platform.python_implementation()} {platform.python_version()}",
           "platform": platform.platform(), "machine": platform.machine(),
           "cpu": cpu_model()}
    for name in PACKAGES:
        env[name] = np.__version__ if name == "numpy" else _version(name)
    env["blas"] = _blas()
    return env


def kernel(env):
    """What decides a run's float32 bits besides the code: the BLAS library, its version
    and the kernel it picked, e.g. "openblas 0.3.31.188.0 Haswell"; None if not recorded
    (runs made before the kernel was recorded)."""
    loaded = ((env or {}).get("blas") or {}).get("loaded") or {}
    if not loaded.get("architecture"):
        return None
    return " ".join(str(loaded[k]) for k in ("internal_api", "version", "architecture")
                    if loaded.get(k))


def describe(env):
    """One Markdown line for a report, e.g. `Python 3.11.7, NumPy 2.4.6 (scipy-openblas
    0.3.31, Haswell kernel, 1 thread), pandas 3.1.1, Snakemake 9.27.1, Linux-...-x86_64,
    AMD EPYC`."""
    if not env:
        return "not recorded"
    blas = env.get("blas") or {}
    loaded = blas.get("loaded") or {}
    b = " ".join(str(v) for v in (blas.get("name"), blas.get("version")) if v)
    if loaded.get("architecture"):
        b += f"{', ' if b else ''}{loaded['architecture']} kernel"
    if loaded.get("num_threads"):
        n = loaded["num_threads"]
        b += f"{', ' if b else ''}{n} thread{'s' if n != 1 else ''}"
    parts = [env.get("python", "Python ?").replace("CPython", "Python"),
             f"NumPy {env.get('numpy')}" + (f" ({b})" if b else "")]
    parts += [f"{label} {env[key]}" for key, label in
              (("scipy", "SciPy"), ("pandas", "pandas"), ("snakemake", "Snakemake"))
              if env.get(key)]
    parts += [env.get("platform", ""), env.get("cpu") or ""]
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


def kernel_lines(run_kernels, here=None):
    """Lines for a report: the BLAS kernel(s) the runs were made on (`run_kernels`: one
    kernel() per run, None where not recorded) and, where it is none of theirs, the kernel
    of this machine (`here`), on which the runs would not repeat their bits."""
    counts = Counter(k or "not recorded" for k in run_kernels)
    if not counts:
        return []
    each = "; ".join(f"{k} ({n} run{'s' if n != 1 else ''})" for k, n in counts.most_common())
    if len(counts) == 1:
        lines = [f"BLAS kernel of the runs: {each}"]
    else:
        lines = [f"BLAS kernels of the runs differ: {each}; float32 results are "
                 f"bit-identical only on the same kernel"]
    recorded = set(counts) - {"not recorded"}
    if here and recorded and here not in recorded:
        lines.append(f"this machine's BLAS kernel ({here}) is not the runs': a run retrained "
                     f"here rounds differently and will not repeat their bits")
    return lines
