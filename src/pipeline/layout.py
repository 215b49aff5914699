"""Where a study's files live in its results folder: the one spelling of the layout that
the workflow's rules, `regstudy status`, the failure records, the compute accounting and
the run tables share.

Paths are templates relative to the results folder; a run is (protocol, experiment, seed).
"""
from __future__ import annotations

from pathlib import Path

RUN = "runs/{protocol}/{experiment}/seed{seed}"              # a run's folder
TRAIN_LOG = "logs/train/{protocol}/{experiment}/seed{seed}.log"
STATS_LOG = "logs/stats/{protocol}/{experiment}/seed{seed}.log"
TRAIN_BENCHMARK = "benchmarks/train/{protocol}/{experiment}/seed{seed}.tsv"
FAILURE = "failures/{protocol}/{experiment}/seed{seed}.json"
CACHE = "data/{dataset}.npz"
MANIFEST = "data/{dataset}.manifest.json"


def path(results, template, **keys):
    """`template` filled in under the results folder `results`."""
    return Path(results) / template.format(**keys)


def run_of(run_dir):
    """(results folder, {"protocol", "experiment", "seed"}) of a run folder."""
    run = Path(run_dir)
    seed = run.name
    keys = {"protocol": run.parent.parent.name, "experiment": run.parent.name,
            "seed": int(seed[4:]) if seed.startswith("seed") and seed[4:].isdigit() else seed}
    return run.parents[3], keys


def beside(run_dir, template):
    """Another file of the same run: e.g. beside(run folder, TRAIN_LOG)."""
    results, keys = run_of(run_dir)
    return path(results, template, **keys)
