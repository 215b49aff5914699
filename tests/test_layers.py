"""The package's layers (pyproject.toml, [tool.importlinter]): no module imports one
above it, and an upward import fails this test."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = str(Path(sys.executable).with_name("lint-imports"))


def _lint(src, config):
    return subprocess.run([LINT, "--config", str(config), "--no-cache"], cwd=src.parent,
                          env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=300)


def test_the_layer_contracts_are_kept():
    out = _lint(ROOT / "src", ROOT / "pyproject.toml")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


def test_an_upward_import_breaks_them(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "pipeline", src / "pipeline",
                    ignore=shutil.ignore_patterns("__pycache__"))
    dense = src / "pipeline" / "engine" / "dense.py"
    dense.write_text(dense.read_text() + "\nfrom pipeline.report import tables  # noqa\n")
    out = _lint(src, ROOT / "pyproject.toml")
    assert out.returncode != 0
    assert "BROKEN" in out.stdout and "pipeline.engine.dense" in out.stdout
