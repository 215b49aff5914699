"""The SLURM profile keeps its settings whatever workflow profile Snakemake also loads.

Snakemake reads `--profile` first and the workflow profile (workflow/profiles/default
unless `--workflow-profile none`) after it; a key of the later file replaces the same key
of the earlier one as a whole (configargparse), e.g. default-resources."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ROOT / "workflow" / "profiles"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))

def _local_rules():
    """The Snakefile's `localrules:` list (these run on the submit host, not sbatch)."""
    text = (ROOT / "workflow" / "Snakefile").read_text()
    block = re.search(r"^localrules:\n((?:[ \t]+\w+,?\n)+)", text, re.M).group(1)
    return set(re.findall(r"\w+", block))


LOCAL_RULES = _local_rules()
# Keys a workflow profile may add to a SLURM run (the SLURM profile leaves them unset):
# cores caps a job's threads at the submit host's cores (the study's jobs use 1-2);
# rerun-triggers are Snakemake's defaults.
MAY_ADD = {"cores", "rerun-triggers"}


def load(path):
    return yaml.safe_load(Path(path).read_text())


def merged(*profiles):
    """Profile settings as Snakemake combines them: later files win, key by key."""
    out = {}
    for p in profiles:
        out.update(p)
    return out


def test_merge_replaces_whole_keys():
    slurm = {"default-resources": {"mem_mb": 2000, "slurm_account": "a"}, "jobs": 100}
    local = {"default-resources": {"mem_mb": 1000}}
    assert merged(slurm, local) == {"default-resources": {"mem_mb": 1000}, "jobs": 100}


@pytest.mark.parametrize("workflow_profile", sorted(
    p.name for p in PROFILES.iterdir() if p.name != "slurm" and (p / "config.yaml").exists()))
def test_no_workflow_profile_changes_a_slurm_setting(workflow_profile):
    slurm = load(PROFILES / "slurm" / "config.yaml")
    wf = load(PROFILES / workflow_profile / "config.yaml")
    both = merged(slurm, wf)
    assert {k: both[k] for k in slurm} == slurm
    assert set(both) - set(slurm) <= MAY_ADD
    # the site settings are not profile keys at all (they are rule resources)
    assert not re.search(r"slurm_account|slurm_partition|qos",
                         yaml.safe_dump(slurm.get("default-resources", {})))


def _job_resources(out):
    """[(rule, {resource: value})] of a dry run's job listing."""
    jobs, rule = [], None
    for line in out.splitlines():
        m = re.match(r"^(?:local)?rule (\w+):", line)
        if m:
            rule = m[1]
        m = re.match(r"^\s+resources: (.*)$", line)
        if m and rule:
            jobs.append((rule, dict(kv.split("=", 1) for kv in m[1].split(", "))))
            rule = None
    return jobs


@pytest.mark.parametrize("workflow_profile", ["default", "none"])
def test_site_settings_reach_every_submitted_job(tmp_path, workflow_profile):
    """Dry run with the SLURM profile (minus its executor, whose plugin need not be
    installed) and the local workflow profile active: every job that would go to sbatch
    carries the account, partition and QOS."""
    profile = tmp_path / "slurm"
    profile.mkdir()
    settings = load(PROFILES / "slurm" / "config.yaml")
    assert settings.pop("executor") == "slurm"
    (profile / "config.yaml").write_text(yaml.safe_dump(settings))
    shutil.copy(ROOT / ".test" / "config" / "config.yaml", tmp_path / "config.yaml")
    env = {**os.environ, "REGSTUDY_SLURM_ACCOUNT": "acct7",
           "REGSTUDY_SLURM_PARTITION": "part7", "REGSTUDY_SLURM_QOS": "qos7"}
    cmd = [SNAKEMAKE, "-s", str(ROOT / "workflow" / "Snakefile"), "-d", str(tmp_path),
           "--configfile", str(tmp_path / "config.yaml"), "--profile", str(profile), "-n"]
    if workflow_profile == "none":
        cmd += ["--workflow-profile", "none"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    if workflow_profile == "default":
        assert re.search(r"workflow specific profile \S*workflow/profiles/default", out), out
    jobs = _job_resources(out)
    submitted = [(rule, res) for rule, res in jobs if rule not in LOCAL_RULES]
    assert {rule for rule, _ in submitted} == {"standin", "prepare", "train", "run_stats"}
    assert len(submitted) == 2 + 2 + 20 + 20
    for rule, res in submitted:
        assert (res["slurm_account"], res["slurm_partition"], res["qos"]) == \
            ("acct7", "part7", "qos7"), rule
        assert res["mem_mb"] == "500" and res["runtime"] == "10", rule   # the config's
