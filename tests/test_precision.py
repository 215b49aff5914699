"""The run's precision option (`dtype`): CLI, config and schema, metrics, and float64
being float64 throughout."""
import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.engine.network import Network
from pipeline.plan import config_check as cc
from pipeline.plan import experiments as ex
from pipeline.train.run import RunSettings, run
from toydata import write_toy_cache

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
BN_NET = [["batch_normal"], ["conv", {"ksize": 3, "chn": 4}], ["max", {"stride": 2}],
          ["dropout", {"keep_prob": 0.8}], ["noise", {"std": 0.5}], 8]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return str(write_toy_cache(tmp_path_factory.mktemp("d") / "toy.npz", n=120))


def test_float64_run_is_float64_throughout_and_recorded(toy, tmp_path):
    s = RunSettings(data=toy, net=BN_NET, epochs=2, seed=1, protocol="reference",
                    dtype="float64", report=0)
    m64 = run(s, tmp_path / "a", log=lambda _: None)
    assert m64["dtype"] == "float64"
    assert json.loads((tmp_path / "a" / "metrics.json").read_text())["dtype"] == "float64"
    with np.load(tmp_path / "a" / "params.npz") as p:
        assert {p[k].dtype for k in p.files if not k.endswith("steps")} == {np.dtype("float64")}
    s.dtype = "float32"
    m32 = run(s, tmp_path / "b", log=lambda _: None)
    assert m32["dtype"] == "float32"
    with np.load(tmp_path / "b" / "params.npz") as p:
        assert {p[k].dtype for k in p.files if not k.endswith("steps")} == {np.dtype("float32")}
    # the same draws (masks, noise, init, shuffles), other rounding: close, not equal
    assert m32["params"]["std"] == pytest.approx(m64["params"]["std"], rel=1e-4)
    assert m32["params"] != m64["params"]


def test_batch_norm_statistics_follow_the_network_dtype():
    for dt in (np.float32, np.float64):
        net = Network(BN_NET, (12, 12, 3), [5], dtype=dt)
        assert net.layers[0].mavg.dtype == dt and net.layers[0].mvar.dtype == dt


def test_unknown_dtype_is_refused_where_it_enters(toy, tmp_path, capsys):
    """One check, from the setting's one declaration: on the command line and in a config."""
    from pipeline.cli import main
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--data", toy, "--net", "[4]", "--out", str(tmp_path),
              "--dtype", "float16"])
    assert exit_.value.code == 2
    assert "argument --dtype: 'float16' is not one of ['float32', 'float64']" in \
        capsys.readouterr().err
    config = cc.load_yaml_strict(ROOT / "config" / "config.yaml")
    config["experiments"]["flowers_mlp"]["dtype"] = "float16"
    assert cc.config_problems(config, ROOT / "workflow" / "schemas" / "config.schema.yaml") == [
        "experiments.flowers_mlp.dtype: 'float16' is not one of ['float32', 'float64']"]


def test_cli_passes_dtype(toy, tmp_path, capsys):
    from pipeline.cli import main
    assert main(["train", "--data", toy, "--net", "[6]", "--out", str(tmp_path),
                 "--epochs", "1", "--dtype", "float64", "--report", "0"]) == 0
    assert json.loads((tmp_path / "metrics.json").read_text())["dtype"] == "float64"
    with pytest.raises(SystemExit):
        main(["train", "--data", toy, "--net", "[6]", "--out", str(tmp_path),
              "--dtype", "half"])


@pytest.fixture
def config():
    return json.loads(json.dumps(cc.load_yaml_strict(ROOT / "config" / "config.yaml")))


def test_config_dtype_per_training_and_experiment(config):
    config["training"]["dtype"] = "float64"
    config["experiments"]["flowers_mlp"]["dtype"] = "float32"
    assert cc.config_problems(config, schema=SCHEMA) == []
    assert ex.run_settings(config, "flowers_mlp_l2_0.1")["dtype"] == "float64"
    # float32 (the default) is left out: float32 runs keep their rerun trigger
    assert "dtype" not in ex.run_settings(config, "flowers_mlp")


@pytest.mark.parametrize("where", ["training", "experiment"])
def test_config_refuses_other_dtypes(config, where):
    d = config["training"] if where == "training" else config["experiments"]["flowers_mlp"]
    d["dtype"] = "float16"
    p = cc.config_problems(config, schema=SCHEMA)
    key = "training.dtype" if where == "training" else "experiments.flowers_mlp.dtype"
    assert p == [f"{key}: 'float16' is not one of ['float32', 'float64']"]
