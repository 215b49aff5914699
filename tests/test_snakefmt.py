"""The workflow's rule files are snakefmt-clean (when snakefmt is installed: the `test`
extra and requirements/lock.txt have it)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNAKEFMT = shutil.which("snakefmt", path=str(Path(sys.executable).parent)) or shutil.which("snakefmt")
FILES = [ROOT / "workflow" / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]


@pytest.mark.skipif(SNAKEFMT is None, reason="snakefmt not installed (pip install -e .[test])")
def test_rule_files_are_snakefmt_clean():
    assert len(FILES) >= 8
    r = subprocess.run([SNAKEFMT, "--check", *map(str, FILES)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, (r.stdout + r.stderr
                               + "\nfix with: snakefmt workflow/Snakefile workflow/rules/*.smk")
