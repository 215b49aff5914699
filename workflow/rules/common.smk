# Configuration: validated before any job runs; the grid of runs; helper functions.
import json
import sys
from pathlib import Path

from snakemake.utils import validate

# This checkout's package first (also without `pip install -e .`).
sys.path.insert(0, str(Path(workflow.basedir).parent / "src"))

from pipeline.study import config_check as cc
from pipeline.version import engine_version


# The key-path checks of pipeline.study.config_check (duplicate keys in the config files,
# layer vocabulary, shapes, references between keys), then the JSON schema (which also
# fills defaults). Either refuses the config before any job starts.
cc.check_config(
    config,
    files=workflow.configfiles,
    schema=Path(workflow.basedir) / "schemas" / "config.schema.yaml",
)


validate(config, schema="../schemas/config.schema.yaml")


EXPERIMENTS = cc.selected_experiments(config)
PROTOCOLS = list(config["protocols"])
SEEDS = list(config["seeds"])
TABLES = cc.table_names(config)
DATASETS = cc.datasets_used(config)
# A change of engine code changes this string, which is a param of every training job.
ENGINE_VERSION = engine_version()

RUN = "results/runs/{protocol}/{experiment}/seed{seed}"
RUN_FILES = ("metrics.json", "history.csv", "params.npz", "predictions.npz")


wildcard_constraints:
    protocol="|".join(cc.PROTOCOLS),
    dataset="|".join(cc.DATASETS),
    seed=r"\d+",
    experiment=r"[A-Za-z0-9][A-Za-z0-9_.\-]*",
    table=r"[A-Za-z0-9][A-Za-z0-9_\-]*",


def res(stage, key):
    return config["resources"][stage][key]


def runs(filename, experiments=None, protocols=None, seeds=None):
    """One path per run of the grid (experiment x protocol x seed)."""
    return expand(
        f"{RUN}/{filename}",
        experiment=EXPERIMENTS if experiments is None else experiments,
        protocol=PROTOCOLS if protocols is None else protocols,
        seed=SEEDS if seeds is None else seeds,
    )


def table_runs(filename, seeds=None):
    """Input function: the runs of one table's experiments."""

    def inner(wildcards):
        return runs(filename, cc.experiments_in_table(config, wildcards.table), seeds=seeds)

    return inner


def dataset_of(experiment):
    return config["experiments"][experiment]["dataset"]


def data_root(wildcards):
    """The real image folder if configured, else the generated stand-in."""
    real = config[f"{wildcards.dataset}_dir"]
    return real if real else f"results/standin/{wildcards.dataset}"


def train_settings(wildcards):
    """The experiment's resolved settings as canonical JSON (its rerun trigger)."""
    return json.dumps(cc.run_settings(config, wildcards.experiment), sort_keys=True)


def table_experiments(wildcards):
    """What the table and figure jobs print about each experiment of the table."""
    names = cc.experiments_in_table(config, wildcards.table)
    return json.dumps([cc.describe(config, n) for n in names], sort_keys=True)


def all_experiments_described():
    """What the run table records about every experiment (its params: labels, tables)."""
    return json.dumps([cc.describe(config, n) for n in EXPERIMENTS], sort_keys=True)


FIGURES = ["curves", "histograms", "predictions", "accuracy"]


def all_outputs():
    out = ["results/tables/runs.csv", "results/tables/summary.csv"]
    out += expand("results/tables/{table}.{ext}", table=TABLES, ext=["csv", "md", "html"])
    out += ["results/tables/conclusions.md", "results/tables/conclusions.html"]
    out += ["results/tables/conclusions.csv"]
    out += expand("results/figures/{kind}_{table}.png", kind=FIGURES, table=TABLES)
    out += ["results/summary.md"]
    return out
