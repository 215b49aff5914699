# Configuration: validated before any job runs; the grid of runs; helper functions.
import json
import os
import sys
from pathlib import Path

# This checkout's package first (also without `pip install -e .`). Found from this rule
# file, not workflow.basedir (the folder of the user's Snakefile when this workflow is a
# module); a workflow fetched from GitHub has no src/ beside it and uses the installed one.
_HERE = workflow.current_basedir.get_path_or_uri(secret_free=True)  # workflow/rules
_SRC = Path(_HERE).parents[1] / "src"
if (_SRC / "pipeline").is_dir():
    sys.path.insert(0, str(_SRC))

from pipeline.plan import experiments as ex
from pipeline.runtime import failures
from pipeline.plan import sweeps as sweep_config
from pipeline import layout
from pipeline.version import engine_version

# One validation path (pipeline.plan.config_check): duplicate keys in the config files,
# the JSON schema (which also fills its defaults), the engine's check of each network,
# references between keys. It refuses the config before any job starts. `sweeps` are
# expanded into experiments first, so that check sees the expanded config and a sweep's
# points are checked like any other experiment (pipeline.plan.sweeps).
sweep_config.check_config(
    config,
    schema=workflow.source_path("../schemas/config.schema.yaml"),
    files=workflow.configfiles,
)
sweep_config.expand_in_place(config)

EXPERIMENTS = ex.selected_experiments(config)
PROTOCOLS = list(config["protocols"])
SEEDS = list(config["seeds"])
TABLES = ex.table_names(config)
DATASETS = ex.datasets_used(config)
# A change of engine code changes this string, which is a param of every training job.
ENGINE_VERSION = engine_version()

# The results layout (pipeline.layout), under the workflow's results/ folder.
RUN = f"results/{layout.RUN}"
TRAIN_LOG = f"results/{layout.TRAIN_LOG}"
STATS_LOG = f"results/{layout.STATS_LOG}"
TRAIN_BENCHMARK = f"results/{layout.TRAIN_BENCHMARK}"
CACHE = f"results/{layout.CACHE}"
MANIFEST = f"results/{layout.MANIFEST}"


wildcard_constraints:
    protocol="|".join(ex.PROTOCOLS),
    dataset="|".join(ex.DATASETS),
    seed=r"\d+",
    experiment=r"[A-Za-z0-9][A-Za-z0-9_.\-]*",
    table=r"[A-Za-z0-9][A-Za-z0-9_\-]*",


def res(stage, key):
    return config["resources"][stage][key]


# SLURM site settings (docs/cluster.md), from the environment, as resources of every job
# that can be submitted: a rule's own resources outrank every profile's default-resources,
# so no workflow profile (e.g. workflow/profiles/default) can drop them. Locally they are
# unused strings.
SITE_RESOURCES = {
    key: os.environ[var]
    for var, key in (
        ("REGSTUDY_SLURM_ACCOUNT", "slurm_account"),
        ("REGSTUDY_SLURM_PARTITION", "slurm_partition"),
        ("REGSTUDY_SLURM_QOS", "qos"),
    )
    if os.environ.get(var)
}


def runs(filename, experiments=None, protocols=None, seeds=None):
    """One path per run of the grid (experiment x protocol x seed)."""
    return expand(
        f"{RUN}/{filename}",
        experiment=EXPERIMENTS if experiments is None else experiments,
        protocol=PROTOCOLS if protocols is None else protocols,
        seed=SEEDS if seeds is None else seeds,
    )


def failed(path):
    """Is `path` (a file of results/runs/P/E/seedS/) of a run whose last training job
    failed? Its failure record is there and its metrics.json is not (pipeline.runtime.failures).
    """
    run = os.path.dirname(path)
    return not os.path.exists(f"{run}/metrics.json") and os.path.exists(
        failures.record_path(run)
    )


def waited_for(paths):
    """The tables do not wait on runs that failed last time (Snakemake never runs a job
    whose input failed): they show them from their failure records instead."""
    return [p for p in paths if not failed(p)]


def failure_records():
    return [
        str(failures.record_path(os.path.dirname(p)))
        for p in runs("metrics.json")
        if failed(p)
    ]


def retried_runs():
    """Asked for by the default target as well: the next `snakemake` retries failed runs."""
    return [p for p in runs("metrics.json") if failed(p)]


def table_runs(filename, seeds=None):
    """Input function: the runs of one table's experiments (without those that failed)."""

    def inner(wildcards):
        return waited_for(
            runs(
                filename, ex.experiments_in_table(config, wildcards.table), seeds=seeds
            )
        )

    return inner


def dataset_of(experiment):
    return config["experiments"][experiment]["dataset"]


def data_root(wildcards):
    """The real image folder if configured, else the generated stand-in."""
    real = config[f"{wildcards.dataset}_dir"]
    return real if real else f"results/standin/{wildcards.dataset}"


def train_settings(wildcards):
    """The experiment's resolved settings as canonical JSON (its rerun trigger)."""
    return json.dumps(ex.run_settings(config, wildcards.experiment), sort_keys=True)


def table_experiments(wildcards):
    """What the table and figure jobs print about each experiment of the table."""
    names = ex.experiments_in_table(config, wildcards.table)
    return json.dumps([ex.describe(config, n) for n in names], sort_keys=True)


def all_experiments_described():
    """What the run table records about every experiment (its params: labels, tables)."""
    return json.dumps([ex.describe(config, n) for n in EXPERIMENTS], sort_keys=True)


FIGURES = ["curves", "histograms", "predictions", "accuracy", "effects"]

# The sweeps with a selected point (sweeps.smk): {name: {title, base, vary, dataset, points}}
SWEEPS = sweep_config.sweep_specs(config)
# one overview figure per data set and regularizer family: {"<dataset>_<family>": names}
SWEEP_OVERVIEWS = {
    f"{dataset}_{family}": names
    for (dataset, family), names in sweep_config.overview_groups(SWEEPS).items()
}


def sweep_outputs():
    if not SWEEPS:
        return []
    out = expand("results/tables/sweeps.{ext}", ext=["csv", "md", "html"])
    out += expand("results/figures/sweep_{sweep}.png", sweep=SWEEPS)
    return out + expand("results/figures/sweeps_{group}.png", group=SWEEP_OVERVIEWS)


def all_outputs():
    out = ["results/tables/runs.csv", "results/tables/summary.csv"]
    out += expand(
        "results/tables/{table}.{ext}", table=TABLES, ext=["csv", "md", "html"]
    )
    out += ["results/tables/conclusions.md", "results/tables/conclusions.html"]
    out += ["results/tables/conclusions.csv"]
    out += expand("results/figures/{kind}_{table}.png", kind=FIGURES, table=TABLES)
    out += ["results/summary.md"]
    out += ["results/description.json", "results/description.md"]  # report.smk
    out += sweep_outputs()  # sweeps.smk
    return out + retried_runs()
