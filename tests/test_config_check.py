"""Bad workflow configuration is refused before any job starts, with the key path named."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.plan import config_check as cc
from pipeline.plan import experiments as ex

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "config.yaml"
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


@pytest.fixture
def config():
    # a JSON round trip: YAML aliases (the Office-31 nets reuse the flowers nets) become
    # independent copies, so a test changes one experiment only
    return json.loads(json.dumps(cc.load_yaml_strict(CONFIG)))


def problems(config):
    return cc.config_problems(config, schema=SCHEMA)


def one(config):
    p = problems(config)
    assert len(p) == 1, p
    return p[0]


def test_default_configs_are_valid(config):
    assert problems(config) == []
    assert cc.config_problems(cc.load_yaml_strict(ROOT / ".test/config/config.yaml"), schema=SCHEMA) == []
    from snakemake.utils import update_config

    study = config
    update_config(study, cc.load_yaml_strict(ROOT / "config/study.yaml"))
    assert cc.config_problems(study, schema=SCHEMA) == []


def test_command_line_seeds_become_integers(config):
    # `snakemake --config seeds=[4,5]` hands the list's items over as strings
    config["seeds"] = ["4", "5"]
    assert problems(config) == [] and config["seeds"] == [4, 5]
    config["seeds"] = ["4", "x"]
    assert one(config) == "seeds[1]: 'x' is not of type 'integer'"


def test_sharp_overlay_runs_both_decay_forms(config):
    from snakemake.utils import update_config

    for overlay in ("config/study.yaml", "config/sharp.yaml"):
        update_config(config, cc.load_yaml_strict(ROOT / overlay))
    assert problems(config) == []
    chosen = ex.selected_experiments(config)
    decays = {config["experiments"][n]["quirks"]["decay"] for n in chosen if n.startswith("flowers_mlp_l")}
    assert decays == {"after_adam", "loss_gradient"} and len(chosen) == 13


def test_seeds10_is_the_flowers_matrix_over_ten_seeds(config):
    from snakemake.utils import update_config

    for overlay in ("config/study.yaml", "config/seeds10.yaml"):
        update_config(config, cc.load_yaml_strict(ROOT / overlay))
    assert cc.config_problems(config, schema=SCHEMA) == []
    assert config["seeds"] == list(range(1, 11)) and config["image_size"] == 96
    assert config["protocols"] == ["reference", "corrected"]
    assert ex.table_names(config) == ["table1_flowers_mlp", "table2_flowers_cnn"]
    assert ex.datasets_used(config) == ["flowers"]
    assert len(ex.selected_experiments(config)) == 9


def test_default_matrix_is_the_seed_study(config):
    exps = config["experiments"]
    assert len(exps) == 13 and config["protocols"] == ["reference", "corrected"]
    assert len(config["seeds"]) >= 3
    mlp = [n for n, e in exps.items() if e["net"] == [30, 10]]
    assert sorted((exps[n].get("l1", 0), exps[n].get("l2", 0)) for n in mlp) == [
        (0, 0), (0, 0.01), (0, 0.1), (0.01, 0), (0.1, 0)]
    from pipeline.engine.nets import NAMED_NETS

    for ds in ("flowers", "office31"):
        for i in range(1, 5):
            assert exps[f"{ds}_cnn{i}"]["net"] == NAMED_NETS[f"cnn{i}"], (ds, i)
    assert config["training"]["batch_size"] == 10 and config["training"]["learning_rate"] == 0.001


def test_unknown_layer_type(config):
    config["experiments"]["flowers_cnn1"]["net"][2] = ["convolution", {"ksize": 3, "chn": 12}]
    msg = one(config)
    assert msg == ("experiments.flowers_cnn1.net[2]: unknown layer type 'convolution' "
                   "(known: full, conv, max, avg, dropout, noise, batch_normal)")


def test_unknown_layer_option(config):
    config["experiments"]["flowers_cnn2"]["net"][2] = ["dropout", {"keep": 0.5}]
    assert one(config) == "experiments.flowers_cnn2.net[2].keep: unknown option for 'dropout' (known: keep_prob)"


@pytest.mark.parametrize("where", ["top", "experiment", "layer"])
def test_missing_key(config, where):
    if where == "top":
        del config["seeds"]
        assert one(config) == "seeds: missing key"
    elif where == "experiment":
        del config["experiments"]["office31_cnn3"]["dataset"]
        assert one(config) == "experiments.office31_cnn3.dataset: missing key"
    else:
        del config["experiments"]["flowers_cnn1"]["net"][0][1]["chn"]
        assert one(config) == "experiments.flowers_cnn1.net[0].chn: missing required option of 'conv'"


@pytest.mark.parametrize("keep_prob", [0, -0.1, 1.5])
def test_keep_prob_outside_0_1(config, keep_prob):
    config["experiments"]["flowers_cnn2"]["net"][5] = ["dropout", {"keep_prob": keep_prob}]
    assert one(config) == f"experiments.flowers_cnn2.net[5].keep_prob: must be in (0, 1], got {float(keep_prob)}"


def test_keep_prob_one_is_fine(config):
    config["experiments"]["flowers_cnn2"]["net"][5] = ["dropout", {"keep_prob": 1}]
    assert problems(config) == []


def test_negative_std(config):
    config["experiments"]["office31_cnn3"]["net"][3] = ["noise", {"type": "normal", "mean": 0, "std": -0.01}]
    assert one(config) == "experiments.office31_cnn3.net[3].std: must be >= 0, got -0.01"


def test_unknown_experiment_name(config):
    config["select"] = ["flowers_cnn1", "flowers_cnn5"]
    msg = one(config)
    assert msg.startswith("select[1]: unknown experiment name 'flowers_cnn5'")


def test_unknown_table(config):
    config["experiments"]["flowers_cnn1"]["table"] = "table9"
    assert one(config).startswith("experiments.flowers_cnn1.table: unknown table 'table9'")


def test_even_kernel(config):
    config["experiments"]["flowers_cnn1"]["net"][0] = ["conv", {"ksize": 4, "chn": 6}]
    assert one(config) == ("experiments.flowers_cnn1.net[0].ksize: only odd kernel sizes are supported "
                           "('same' padding), got [4, 4]")


@pytest.mark.parametrize("stride,pair", [(0, [0, 0]), (-2, [-2, -2]), ([2, 0], [2, 0])])
def test_zero_or_negative_stride(config, stride, pair):
    config["experiments"]["flowers_cnn4"]["net"][2] = ["max", {"stride": stride}]
    assert one(config) == f"experiments.flowers_cnn4.net[2].stride: must be positive, got {pair}"


def test_stride_must_divide_the_feature_map(config):
    # 48 -> max 2 -> 24 -> max 2 -> 12 -> avg 5 does not divide 12
    config["experiments"]["office31_cnn1"]["net"][5] = ["avg", {"stride": 5}]
    assert one(config) == ("experiments.office31_cnn1.net[5].stride: [5, 5] does not divide "
                           "the 12x12 feature map")


def test_image_size_that_no_cnn_fits(config):
    config["image_size"] = 50
    p = problems(config)
    assert len(p) == 8 and all("does not divide the 25x25 feature map" in m for m in p)


@pytest.mark.parametrize("key,value,expected", [
    ("protocols", ["reference", "fixed"], "protocols[1]: 'fixed' is not one of ['reference', 'corrected']"),
    ("seeds", [1, 1], "seeds: [1, 1] has non-unique elements"),
    ("seeds", [], "seeds: [] should be non-empty"),
    ("image_size", 0, "image_size: 0 is less than the minimum of 4"),
    ("flowers_dir", "/no/such/folder", "flowers_dir: no such directory: '/no/such/folder'"),
    ("statistics", {"equivalence_margin": 0},
     "statistics.equivalence_margin: 0 is less than or equal to the minimum of 0"),
    ("statistics", {"margin": 2}, "statistics.margin: unknown key (allowed: equivalence_margin)"),
])
def test_top_level_values(config, key, value, expected):
    config[key] = value
    assert one(config) == expected


def test_training_values(config):
    config["training"]["learning_rate"] = -1
    config["experiments"]["flowers_mlp_l1_0.1"]["l1"] = -0.1
    config["experiments"]["flowers_mlp"]["epochs"] = 0
    assert problems(config) == [
        "experiments.flowers_mlp.epochs: 0 is less than the minimum of 1",
        "experiments.flowers_mlp_l1_0.1.l1: -0.1 is less than the minimum of 0",
        "training.learning_rate: -1 is less than or equal to the minimum of 0",
    ]


@pytest.mark.parametrize("value,why", [(0, "is less than the minimum of 1"),
                                       (-5, "is less than the minimum of 1"),
                                       (2.5, "is not of type 'integer'"),
                                       ("all", "is not of type 'integer'")])
def test_eval_train_size_must_be_a_positive_int(config, value, why):
    config["training"]["eval_train_size"] = value
    assert one(config) == f"training.eval_train_size: {value!r} {why}"


def test_equivalence_margin_default_and_override(config):
    assert ex.equivalence_margin(config) == 2.0
    del config["statistics"]
    assert problems(config) == [] and ex.equivalence_margin(config) == 2.0
    config["statistics"] = {"equivalence_margin": 1.5}
    assert problems(config) == [] and ex.equivalence_margin(config) == 1.5


def test_eval_train_size_reaches_the_runs(config):
    # a setting at its default is left out of the run's settings (its rerun trigger)
    assert "eval_train_size" not in ex.run_settings(config, "flowers_mlp")
    config["training"]["eval_train_size"] = 200
    assert problems(config) == []
    assert ex.run_settings(config, "flowers_cnn2")["eval_train_size"] == 200


def test_unknown_key_is_a_typo(config):
    config["experiments"]["flowers_mlp"]["l3"] = 0.1
    config["trainng"] = {}
    p = problems(config)
    assert any(m.startswith("trainng: unknown key") for m in p)
    assert any(m.startswith("experiments.flowers_mlp.l3: unknown key") for m in p)


def test_each_rule_is_checked_once(config):
    """Layer options are the engine's to check, keys and ranges the schema's: a bad value
    gives one message, not one per checker."""
    config["experiments"]["flowers_cnn2"]["net"][2] = ["dropout", {"keep_prob": 0}]
    assert cc.schema_problems(config, SCHEMA) == []
    assert cc.net_problems(config) == ["experiments.flowers_cnn2.net[2].keep_prob: must be in (0, 1], got 0.0"]
    assert problems(config) == cc.net_problems(config)
    config["experiments"]["flowers_cnn2"]["net"][2] = ["dropout", {"keep_prob": 0.5}]
    config["training"]["learning_rate"] = 0
    assert problems(config) == ["training.learning_rate: 0 is less than or equal to the minimum of 0"]


def test_the_schema_fills_its_defaults(config):
    del config["training"]["eval_train_size"]
    config.pop("resample", None)
    assert problems(config) == []
    assert config["training"]["eval_train_size"] == 500 and config["resample"] == "bicubic"


DUPLICATE = """\
experiments:
  flowers_cnn1:
    dataset: flowers
    net: [30]
  flowers_cnn2:
    dataset: flowers
    net: [10]
  flowers_cnn1:
    dataset: flowers
    net: [20]
"""


def test_duplicate_experiment_names(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text(DUPLICATE)
    with pytest.raises(cc.ConfigError) as e:
        cc.load_yaml_strict(f)
    assert str(e.value) == (f"{f}: experiments.flowers_cnn1: duplicate key (first at line 2, again "
                            "at line 8); YAML would silently keep only the last one")
    assert cc.check_files([f]) == [str(e.value)]


def test_duplicate_keys_in_a_layer_and_anchors_are_fine(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("a: &x {k: 1}\nb: *x\nc: [[conv, {ksize: 3, chn: 4, chn: 5}]]\n")
    with pytest.raises(cc.ConfigError, match=r"c\[0\]\[1\]\.chn: duplicate key"):
        cc.load_yaml_strict(f)


# --- through snakemake itself: refused before any job, the key named --------------------

def _snakemake(workdir, *args):
    return subprocess.run([SNAKEMAKE, "-s", str(ROOT / "workflow" / "Snakefile"), "-d", str(workdir),
                           "--cores", "1", "-n", *args], capture_output=True, text=True, timeout=120)


def test_snakemake_refuses_a_bad_config_before_any_job(tmp_path, config):
    config["experiments"]["flowers_cnn3"]["net"][0] = ["noise", {"type": "normal", "std": -1}]
    bad = tmp_path / "bad.yaml"
    import yaml

    bad.write_text(yaml.safe_dump(config))
    r = _snakemake(tmp_path, "--configfile", str(bad))
    assert r.returncode != 0
    out = r.stdout + r.stderr
    assert "experiments.flowers_cnn3.net[0].std: must be >= 0, got -1.0" in out
    assert not (tmp_path / "results").exists()


def test_snakemake_refuses_duplicate_experiments(tmp_path):
    text = CONFIG.read_text()
    start = text.index("  flowers_cnn1:\n")
    end = text.index("  flowers_cnn2:\n")
    dup = tmp_path / "dup.yaml"
    dup.write_text(text + text[start:end].replace("chn: 6", "chn: 8").replace("net: &cnn1", "net:"))
    r = _snakemake(tmp_path, "--configfile", str(dup))
    assert r.returncode != 0
    assert "experiments.flowers_cnn1: duplicate key" in r.stdout + r.stderr
    assert not (tmp_path / "results").exists()


def test_snakemake_refuses_unknown_selected_experiment(tmp_path):
    r = _snakemake(tmp_path, "--configfile", str(CONFIG), "--config", "select=[flowers_cnn9]")
    assert r.returncode != 0
    assert "select[0]: unknown experiment name 'flowers_cnn9'" in r.stdout + r.stderr


def test_unknown_protocol_option(config):
    config["training"]["quirks"] = {"decay": "sometimes"}
    assert one(config) == ("training.quirks: quirk decay: expected one of after_adam, "
                           "loss_gradient, got 'sometimes'")
    config["training"]["quirks"] = {}
    config["experiments"]["flowers_cnn1"]["quirks"] = {"no_such_option": "x"}
    assert one(config).startswith("experiments.flowers_cnn1.quirks: quirk 'no_such_option' is unknown (known: ")
