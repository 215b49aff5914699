"""requirements/lock.txt covers pyproject.toml, carries hashes, and agrees with the conda
files, torch.txt and the Snakefile's min_version."""
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
REQ = ROOT / "requirements"
CONDA_NAMES = {"matplotlib-base": "matplotlib"}     # conda name -> PyPI name


def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins(text):
    """{name: (version, number of hashes)} of a pip-compile/uv lock."""
    pins, current = {}, None
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line)
        if m:
            current = _norm(m[1])
            pins[current] = [m[2], 0]
        elif current and line.strip().startswith("--hash=sha256:"):
            pins[current][1] += 1
    return {k: tuple(v) for k, v in pins.items()}


def conda_pins(path):
    pins = {}
    for dep in yaml.safe_load(path.read_text())["dependencies"]:
        if isinstance(dep, str) and "=" in dep:
            name, version = re.split(r"=+", dep.split("#")[0].strip(), maxsplit=1)
            pins[_norm(CONDA_NAMES.get(name, name))] = version
    return pins


LOCK = lock_pins((REQ / "lock.txt").read_text())
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_lock_parser_reads_pins_and_hashes():
    pins = lock_pins("a-b==1.0 \\\n    --hash=sha256:00 \\\n    --hash=sha256:11\n    # via x\n"
                     "c==2.1 \\\n    --hash=sha256:22\n")
    assert pins == {"a-b": ("1.0", 2), "c": ("2.1", 1)}


def test_every_dependency_and_test_extra_is_pinned_with_hashes():
    direct = [Requirement(r) for r in PROJECT["dependencies"]
              + PROJECT["optional-dependencies"]["test"]]
    assert {"scipy", "snakefmt", "pytest", "snakemake"} <= {_norm(r.name) for r in direct}
    for r in direct:
        version, hashes = LOCK[_norm(r.name)]
        assert r.specifier.contains(version), (r, version)
    assert all(n >= 1 for _, n in LOCK.values()), [k for k, (_, n) in LOCK.items() if n == 0]
    # torch's own dependencies are locked (hashed); torch is not, and no CUDA build crept in
    for dep in ("filelock", "sympy", "networkx", "jinja2", "fsspec", "setuptools"):
        assert dep in LOCK
    assert "torch" not in LOCK
    assert not [k for k in LOCK if k.startswith("nvidia")]


def test_torch_is_pinned_to_the_tested_cpu_build():
    assert PROJECT["optional-dependencies"]["torch"] == ["torch==2.13.0"]
    lines = [ln for ln in (REQ / "torch.txt").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert lines == ["torch==2.13.0+cpu"]


def test_conda_environments_pin_the_locked_versions():
    for path in (ROOT / "environment.yml", ROOT / "workflow" / "envs" / "regstudy.yaml"):
        pins = conda_pins(path)
        assert pins.pop("python") == "3.11"
        assert {"numpy", "scipy", "pandas", "pillow", "matplotlib", "pyyaml"} <= set(pins)
        for name, version in pins.items():
            assert LOCK[name][0] == version, (path.name, name, version, LOCK[name][0])


def test_snakefile_min_version_is_the_locked_snakemake_series():
    m = re.search(r'min_version\("([\d.]+)"\)', (ROOT / "workflow" / "Snakefile").read_text())
    locked = Version(LOCK["snakemake"][0])
    assert m and Version(m[1]) <= locked and Version(m[1]).release[:2] == locked.release[:2]
    dep = next(Requirement(r) for r in PROJECT["dependencies"] if r.startswith("snakemake"))
    assert str(dep.specifier) == f">={m[1]}"


def test_ci_installs_the_lock_and_requires_the_torch_tests():
    ci = (ROOT / ".ci" / "run").read_text()
    order = ["pip install --quiet --require-hashes -r requirements/lock.txt",
             "pip install --quiet --no-deps -r requirements/torch.txt",
             "pip install --quiet --no-deps --no-build-isolation -e .",
             "export REGSTUDY_REQUIRE_TORCH=1", "python -m pytest -q"]
    at = [ci.index(s) for s in order]
    assert at == sorted(at)


def test_missing_torch_fails_the_parity_tests_when_required(tmp_path):
    """REGSTUDY_REQUIRE_TORCH=1 turns the parity tests' skip into an error."""
    (tmp_path / "torch.py").write_text(
        'raise ModuleNotFoundError("No module named \'torch\'", name="torch")\n')
    # without the variable (CI exports it for its own pytest run)
    env = {k: v for k, v in os.environ.items() if k != "REGSTUDY_REQUIRE_TORCH"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT / "src")])
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           str(ROOT / "tests" / "test_engine_vs_torch.py")]
    skipped = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert skipped.returncode == 5 and "1 skipped" in skipped.stdout, skipped.stdout  # none ran
    required = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                              env={**env, "REGSTUDY_REQUIRE_TORCH": "1"})
    assert required.returncode == 2 and "1 error" in required.stdout, required.stdout
