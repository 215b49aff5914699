"""research/benchmarks/study_vs_torch.py: each run's variant from its network and penalties, and
the PyTorch projection of a study's job seconds (no training: runs and speeds given)."""
import importlib.util
import json
from pathlib import Path

import pytest

from test_compute import make_run

SPEC = importlib.util.spec_from_file_location(
    "study_vs_torch", Path(__file__).resolve().parents[1] / "benchmarks" / "study_vs_torch.py")
study_vs_torch = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(study_vs_torch)

CONV = ["conv", {"ksize": [3, 3], "chn": 6, "actfunc": "relu"}]
FULL = ["full", {"width": 30, "actfunc": "relu"}]


def with_net(path, net, l1=0.0, l2=0.0):
    m = json.loads(path.read_text())
    m.update(net=net, l1=l1, l2=l2)
    path.write_text(json.dumps(m))
    return path


@pytest.mark.parametrize("net, l1, l2, expected", [
    ([CONV, ["max", {}], CONV], 0, 0, ("cnn", "none")),
    ([CONV, ["max", {}], CONV], 0, 0.01, ("cnn", "l2 0.01")),
    ([CONV, ["dropout", {"keep_prob": 0.6}], CONV], 0, 0, ("cnn", "dropout (cnn2)")),
    ([["batch_normal", {}], CONV, CONV], 0, 0, ("cnn", "batch_normal (cnn4)")),
    ([FULL, FULL], 0.1, 0, ("mlp", "l1 0.01")),
    ([FULL, ["noise", {"std": 0.01}], FULL], 0, 0, ("mlp", "noise 0.01")),
    ([FULL, FULL], 0, 0, ("mlp", "none")),
])
def test_variant(net, l1, l2, expected):
    assert study_vs_torch.variant({"net": net, "l1": l1, "l2": l2}) == expected


def test_projection_scales_training_only(tmp_path):
    res = tmp_path / "results"
    paths = [with_net(make_run(res, "corrected", "flowers_cnn1", 1, 100.0, 90.0, 1, 80.0, 8.0),
                      [CONV, CONV]),
             with_net(make_run(res, "reference", "flowers_cnn1", 1, 110.0, 90.0, 1, 90.0, 8.0),
                      [CONV, CONV]),
             with_net(make_run(res, "corrected", "flowers_mlp", 1, 20.0, 18.0, 1, 15.0, 2.0),
                      [FULL, FULL], l2=0.1)]
    speeds = {"cnn": {"none": {"numpy": [2.0, 2.0, 4.0], "torch": [1.0, 3.0, 2.0]}},
              "mlp": {"l2 0.01": {"numpy": [1.0], "torch": [1.5]}}}
    groups = study_vs_torch.project(paths, speeds)
    cnn, mlp = groups[("cnn", "none")], groups[("mlp", "l2 0.01")]
    assert cnn["ratio"] == 0.5                      # median of 0.5, 1.5, 0.5
    assert (cnn["runs"], cnn["job"], cnn["train"]) == (2, 210.0, 170.0)
    assert cnn["torch"] == pytest.approx(210.0 - 170.0 + 0.5 * 170.0)
    assert mlp["torch"] == pytest.approx(5.0 + 1.5 * 15.0)
    with pytest.raises(SystemExit, match="no PyTorch epochs"):
        study_vs_torch.project(paths, {"cnn": {"none": {"numpy": [1.0], "torch": []}}})
