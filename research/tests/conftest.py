import sys
from pathlib import Path

# As the product tests (tests/conftest.py): one BLAS thread, and their helpers (fakes,
# toydata, test_compute's run builder) importable.
from pipeline.runtime.threads import limit_blas

limit_blas(1)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
