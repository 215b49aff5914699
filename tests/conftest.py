import sys
from pathlib import Path

# One BLAS thread for the tests and the processes they start: results do not depend on
# it, and on a loaded 2-core machine spinning BLAS threads make runs many times slower.
from pipeline.runtime.threads import limit_blas

limit_blas(1)

sys.path.insert(0, str(Path(__file__).parent))
