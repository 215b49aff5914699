"""Train the same short runs (cnn2..cnn4, the MLP with L1+L2; both protocols; float32)
with the code of a checkout (argv[1], holding src/ and tests/toydata.py) into a folder
(argv[2]). Run it for two checkouts (e.g. `git archive <commit> src tests/toydata.py`
unpacked in /tmp/base) and compare the params.npz, predictions.npz and metrics.json:
how docs/reproduction.md shows float32 results unchanged by the dtype option."""
import sys, json, numpy as np
sys.path.insert(0, sys.argv[1] + "/src"); sys.path.insert(0, sys.argv[1] + "/tests")
from pipeline.train.run import RunSettings, run
from pipeline.engine.nets import NAMED_NETS
from toydata import write_toy_cache
out = sys.argv[2]
toy = str(write_toy_cache(out + "/toy.npz", n=150, size=24))
nets = {"cnn4": NAMED_NETS["cnn4"], "cnn3": NAMED_NETS["cnn3"], "cnn2": NAMED_NETS["cnn2"], "mlp": [30, 10]}
for name, net in nets.items():
    for proto in ("reference", "corrected"):
        kw = {"l1": 0.01, "l2": 0.1} if name == "mlp" else {}
        m = run(RunSettings(data=toy, net=net, epochs=2, seed=3, protocol=proto, report=0, **kw),
                f"{out}/{name}_{proto}", log=lambda _: None)
