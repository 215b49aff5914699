"""End to end: the Snakemake workflow on the tiny config (.test/config/config.yaml).

One full run, then: every expected output exists and holds sane values; a second dry run
has nothing to do; a one-experiment change reruns only that experiment's jobs (and the
aggregates); a seed-list change adds only those runs; the report builds; lint is clean.
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEFILE = ROOT / "workflow" / "Snakefile"
TEST_CONFIG = ROOT / ".test" / "config" / "config.yaml"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))

pytestmark = pytest.mark.slow

PROTOCOLS = ["reference", "corrected"]
SEEDS = [1, 2]
TABLES = ["table1_flowers_mlp", "table2_flowers_cnn", "table3_office31_cnn"]


def snakemake(workdir, *args, config=None, timeout=600):
    """Without the caller's PYTHONPATH: the jobs must find this checkout's package
    themselves (an installed regstudy elsewhere must not stand in for it)."""
    cmd = [SNAKEMAKE, "-s", str(SNAKEFILE), "-d", str(workdir), "--cores", "2",
           "--configfile", str(config or workdir / "config.yaml"), *args]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    return r, r.stdout + r.stderr


def dry_run_jobs(output):
    """[(rule, {wildcards}, reason)] of a dry run's job list."""
    jobs = []
    for line in output.splitlines():
        m = re.match(r"^(?:local)?rule (\w+):", line.strip())
        if m:
            jobs.append((m.group(1), {}, ""))
            continue
        m = re.match(r"^\s+(wildcards|reason): (.*)$", line)
        if m and jobs:
            rule, wildcards, reason = jobs[-1]
            if m.group(1) == "wildcards":
                wildcards.update(dict(kv.split("=", 1) for kv in m.group(2).split(", ")))
            else:
                jobs[-1] = (rule, wildcards, m.group(2))
    return jobs


def planned_jobs(output):
    """[(rule, {wildcards})] of a dry run's job list."""
    return [(rule, wildcards) for rule, wildcards, _ in dry_run_jobs(output)]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    wd = tmp_path_factory.mktemp("wf")
    shutil.copy(TEST_CONFIG, wd / "config.yaml")
    t0 = time.perf_counter()
    r, out = snakemake(wd)
    seconds = time.perf_counter() - t0
    assert r.returncode == 0, out[-5000:]
    print(f"first run: {seconds:.1f} s")
    return wd


def test_every_output_exists(study):
    cfg = yaml.safe_load(TEST_CONFIG.read_text())
    res = study / "results"
    for e in cfg["experiments"]:
        for p in PROTOCOLS:
            for s in SEEDS:
                run = res / "runs" / p / e / f"seed{s}"
                for f in ("metrics.json", "history.csv", "params.npz", "predictions.npz", "stats.json"):
                    assert (run / f).is_file(), run / f
                assert (res / "logs/train" / p / e / f"seed{s}.log").stat().st_size > 0
                bench = pd.read_csv(res / "benchmarks/train" / p / e / f"seed{s}.tsv", sep="\t")
                assert bench["s"].iloc[0] > 0
    for t in TABLES:
        for ext in ("csv", "md", "html"):
            assert (res / "tables" / f"{t}.{ext}").stat().st_size > 200
    for ds in ("flowers", "office31"):
        with np.load(res / "data" / f"{ds}.npz") as z:
            assert z["x"].shape[1:] == (12, 12, 3) and z["x"].dtype == np.uint8
            assert str(z["dataset"]) == ds


def test_runs_and_metrics(study):
    from pipeline.version import engine_version

    runs = pd.read_csv(study / "results/tables/runs.csv")
    assert len(runs) == 5 * 2 * 2
    assert set(runs.protocol) == set(PROTOCOLS) and set(runs.seed) == set(SEEDS)
    div = runs[runs.experiment == "flowers_mlp_diverge"]
    assert (div.status == "diverged").all() and div.acc.isna().all()
    ok = runs[runs.experiment != "flowers_mlp_diverge"]
    assert (ok.status == "ok").all()
    flowers = ok[ok.dataset == "flowers"]
    assert flowers.acc.between(0, 1).all() and flowers.acc.notna().all()
    office = ok[ok.dataset == "office31"]
    assert office.acc_domain.between(0, 1).all() and office.acc_object.between(0, 1).all()
    assert (ok.epochs_done == 2).all() and (ok.train_seconds > 0).all()
    # parameter counts at 12x12: MLP 432*30 + 30*10 + 10*5; CNN outputs 24 -> 5 or 34
    mlp = ok[ok.experiment == "flowers_mlp"].iloc[0]
    assert mlp.param_count == 12 * 12 * 3 * 30 + 30 * 10 + 10 * 5
    cnn = ok[ok.experiment == "office31_cnn4"].iloc[0]
    assert cnn.param_count == 3 * 3 * 3 * 6 + 3 * 3 * 6 * 12 + 3 * 3 * 12 * 24 + 24 * 34
    # reference: N(0, 0.03) initialisation; corrected: U(+-1/sqrt(fan_in)), whose std
    # 1/sqrt(3 fan_in) is 0.028..0.11 here (every weight together: 0.03..0.1 at the start)
    ref = ok.protocol == "reference"
    assert ok[ref]["std"].between(0.01, 0.1).all() and ok[~ref]["std"].between(0.02, 0.5).all()
    assert ok["near_zero_frac"].between(0, 1).all()
    m = json.loads((study / "results/runs/corrected/flowers_cnn2/seed2/metrics.json").read_text())
    assert m["engine_version"] == engine_version() and m["protocol"] == "corrected"
    assert m["seed"] == 2 and m["epochs"] == 2 and m["batch_size"] == 10
    assert m["shards"] == 1          # a one-thread job trains unsharded
    assert m["net"] and m["status"] == "ok"
    h = pd.read_csv(study / "results/runs/corrected/flowers_cnn2/seed2/history.csv")
    assert list(h.epoch) == [1, 2] and h.train_acc.between(0, 1).all()
    # the clean curves, both protocols: evaluation mode on the training subset and validation
    for p in PROTOCOLS:
        h = pd.read_csv(study / f"results/runs/{p}/office31_cnn4/seed1/history.csv")
        for col in ("eval_train_acc_domain", "eval_train_acc_object", "eval_val_acc_object"):
            assert h[col].between(0, 1).all(), (p, col)
        assert (h.eval_train_loss > 0).all() and (h.eval_val_loss > 0).all()
    s = json.loads((study / "results/runs/reference/flowers_mlp/seed1/stats.json").read_text())
    assert s["count"] == mlp.param_count and len(s["histogram"]["density"]) == 100
    assert s["std"] == pytest.approx(math.sqrt(s["var"]))


def test_summary_and_tables(study):
    summary = pd.read_csv(study / "results/tables/summary.csv")
    assert len(summary) == 5 * 2
    S = summary.set_index(["experiment", "protocol"])
    runs = pd.read_csv(study / "results/tables/runs.csv")
    r = runs[(runs.experiment == "flowers_cnn2") & (runs.protocol == "reference")]
    assert S.loc[("flowers_cnn2", "reference"), "acc_mean"] == pytest.approx(r.acc.mean(), rel=1e-5)
    assert S.loc[("flowers_cnn2", "reference"), "acc_std"] == pytest.approx(r.acc.std(ddof=1), rel=1e-5)
    assert S.loc[("flowers_mlp_diverge", "corrected"), "n_diverged"] == 2
    md = (study / "results/tables/table1_flowers_mlp.md").read_text()
    assert "diverged (2/2)" in md and "31.1" in md and "556,584 (67.1%)" in md
    t1 = pd.read_csv(study / "results/tables/table1_flowers_mlp.csv").set_index("experiment")
    assert list(t1.index) == ["flowers_mlp", "flowers_mlp_l1_0.01", "flowers_mlp_diverge"]
    assert t1.loc["flowers_mlp", "reference_acc_mean"] == pytest.approx(
        100 * S.loc[("flowers_mlp", "reference"), "acc_mean"])
    assert t1.loc["flowers_mlp_diverge", "corrected_status"] == "diverged (2/2)"
    t3 = (study / "results/tables/table3_office31_cnn.md").read_text()
    assert "89.4+39.0" in t3 and " + " in t3
    concl = (study / "results/tables/conclusions.md").read_text()
    assert "## Table 1" in concl and "flowers_mlp_diverge" in concl
    # every data set of the tiny config is a generated stand-in: numbers, no verdicts
    c = pd.read_csv(study / "results/tables/conclusions.csv")
    assert len(c) and (c.verdict == "stand-in: not judged").all() and not c.judged.any()
    assert "GENERATED STAND-IN" in md
    summary_md = (study / "results/summary.md").read_text()
    assert summary_md.count("\n## Table") == 3 and "engine version" in summary_md


def test_figures(study):
    import matplotlib.image as mpimg

    for kind in ("curves", "histograms", "predictions", "accuracy", "effects"):
        for t in TABLES:
            img = mpimg.imread(study / "results/figures" / f"{kind}_{t}.png")
            assert img.shape[0] > 200 and img.shape[1] > 300, (kind, t, img.shape)
            assert img[..., :3].std() > 0.01  # not a blank canvas


def test_second_run_has_nothing_to_do(study):
    r, out = snakemake(study, "-n")
    assert r.returncode == 0, out
    assert "Nothing to be done" in out
    assert planned_jobs(out) == []


def test_one_experiment_change_reruns_only_it(study, tmp_path):
    cfg = yaml.safe_load((study / "config.yaml").read_text())
    cfg["experiments"]["flowers_cnn2"]["net"][2][1]["keep_prob"] = 0.5
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(cfg, sort_keys=False))
    r, out = snakemake(study, "-n", config=changed)
    assert r.returncode == 0, out
    jobs = planned_jobs(out)
    train = [w for rule, w in jobs if rule == "train"]
    assert sorted((w["protocol"], w["seed"]) for w in train) == sorted(
        (p, str(s)) for p in PROTOCOLS for s in SEEDS)
    assert {w["experiment"] for w in train} == {"flowers_cnn2"}
    assert {w["experiment"] for rule, w in jobs if rule == "run_stats"} == {"flowers_cnn2"}
    rules = {rule for rule, _ in jobs}
    assert not rules & {"standin", "prepare"}
    # the figures of the other tables do not rerun; the aggregate tables do
    assert [w["table"] for rule, w in jobs if rule == "figures"] == ["table2_flowers_cnn"]
    assert {"collect_runs", "study_tables"} <= rules
    train_reasons = [why for rule, _, why in dry_run_jobs(out) if rule == "train"]
    assert len(train_reasons) == len(train)
    assert all(why.startswith("Params have changed since last execution") for why in train_reasons)


def test_seed_list_change_adds_or_drops_only_those_runs(study, tmp_path):
    cfg = yaml.safe_load((study / "config.yaml").read_text())
    cfg["seeds"] = [1, 2, 3]
    more = tmp_path / "more.yaml"
    more.write_text(yaml.safe_dump(cfg, sort_keys=False))
    r, out = snakemake(study, "-n", config=more)
    assert r.returncode == 0, out
    train = [w for rule, w in planned_jobs(out) if rule == "train"]
    assert len(train) == 5 * 2 and {w["seed"] for w in train} == {"3"}
    cfg["seeds"] = [2]
    fewer = tmp_path / "fewer.yaml"
    fewer.write_text(yaml.safe_dump(cfg, sort_keys=False))
    r, out = snakemake(study, "-n", config=fewer)
    assert r.returncode == 0, out
    rules = [rule for rule, _ in planned_jobs(out)]
    assert "train" not in rules and "run_stats" not in rules
    assert "collect_runs" in rules


def test_report(study):
    r, out = snakemake(study, "--report", str(study / "results" / "report.html"))
    assert r.returncode == 0, out[-3000:]
    html = (study / "results" / "report.html").read_text(errors="replace")
    assert len(html) > 200_000
    for name in ("curves_table1_flowers_mlp.png", "histograms_table3_office31_cnn.png",
                 "predictions_table2_flowers_cnn.png", "accuracy_table1_flowers_mlp.png",
                 "table1_flowers_mlp.html", "conclusions.html", "summary.md"):
        assert name in html, name
    assert "min-max band" in html            # a figure caption
    assert "seed study's single run" in html  # a table caption
    assert not re.search(r"<script[^>]+src=[\"']https?://", html)  # self-contained


def test_lint_is_clean():
    r = subprocess.run([SNAKEMAKE, "-s", str(SNAKEFILE), "-d", str(ROOT), "--lint"],
                       capture_output=True, text=True, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "Lints for" not in out


def test_real_data_option(study, tmp_path):
    """`--config flowers_dir=...` reads that folder instead of generating a stand-in."""
    real = tmp_path / "flowers"
    shutil.copytree(study / "results" / "standin" / "flowers", real)
    r, out = snakemake(study, "-n", "--config", f"flowers_dir={real}")
    assert r.returncode == 0, out
    jobs = planned_jobs(out)
    assert not [w for rule, w in jobs if rule == "standin"]
    assert [w["dataset"] for rule, w in jobs if rule == "prepare"] == ["flowers"]
    assert f"input: {real}" in out
    trained = {w["experiment"] for rule, w in jobs if rule == "train"}
    assert trained == {"flowers_mlp", "flowers_mlp_l1_0.01", "flowers_mlp_diverge", "flowers_cnn2"}
    r, out = snakemake(study, "-n", "--config", f"office31_dir={tmp_path / 'missing'}")
    assert r.returncode != 0 and "office31_dir: no such directory" in out
