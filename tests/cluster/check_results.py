#!/usr/bin/env python3
"""Checks of tests/cluster/run_cluster_test.sh (standard library + NumPy only).

compare CLUSTER_DIR LOCAL_DIR
    The run folders of the cluster run and of the local run hold the same
    results: every metrics.json field by field (exact equality, floats
    included) except timings (any key containing "seconds"), every
    history.csv except its timing columns, every params.npz /
    predictions.npz array by array. Both trees must have the same files.

resources SNAKEMAKE_LOG [--account A] [--partition P] [--qos Q]
    Every job that Snakemake submitted (log lines "Job N has been submitted
    with SLURM jobid M") reached SLURM with its rule's resources: in the
    accounting record (sacct) and, while slurmctld still holds the job
    (MinJobAge), in `scontrol show job`:
        threads -> AllocCPUS / NumCPUs (--cpus-per-task, one task)
        mem_mb  -> ReqMem / MinMemoryNode (--mem, MB)
        runtime -> Timelimit / TimeLimit (-t, minutes)
    plus state COMPLETED 0:0, the comment rule_<rule>..., and account,
    partition and QOS when given.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import re
import subprocess
import sys
import time
from pathlib import Path

RESULT_FILES = ("metrics.json", "history.csv", "params.npz", "predictions.npz")
SKIP_DIRS = {".snakemake"}


def is_timing(key: str) -> bool:
    return "seconds" in key.lower()


# --------------------------------------------------------------------------- compare
def result_files(root: Path) -> dict[str, Path]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.name in RESULT_FILES and p.is_file():
            rel = p.relative_to(root)
            if not SKIP_DIRS.intersection(rel.parts):
                out[str(rel)] = p
    return out


def diff_json(a, b, path: str, diffs: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if is_timing(k):
                continue
            if k not in a or k not in b:
                diffs.append(f"{path}.{k}: only in {'cluster' if k in a else 'local'} run")
                continue
            diff_json(a[k], b[k], f"{path}.{k}", diffs)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            diffs.append(f"{path}: length {len(a)} != {len(b)}")
            return
        for i, (x, y) in enumerate(zip(a, b)):
            diff_json(x, y, f"{path}[{i}]", diffs)
    elif isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return
    elif type(a) is not type(b) or a != b:
        diffs.append(f"{path}: cluster {a!r} != local {b!r}")


def diff_csv(pa: Path, pb: Path, diffs: list[str]) -> None:
    with open(pa, newline="") as fa, open(pb, newline="") as fb:
        ra, rb = list(csv.DictReader(fa)), list(csv.DictReader(fb))
    if len(ra) != len(rb):
        diffs.append(f"rows {len(ra)} != {len(rb)}")
        return
    for i, (x, y) in enumerate(zip(ra, rb)):
        if set(x) != set(y):
            diffs.append(f"row {i}: columns differ")
            return
        for k in x:
            if not is_timing(k) and x[k] != y[k]:
                diffs.append(f"row {i} {k}: cluster {x[k]} != local {y[k]}")


def diff_npz(pa: Path, pb: Path, diffs: list[str]) -> None:
    import numpy as np

    with np.load(pa, allow_pickle=False) as A, np.load(pb, allow_pickle=False) as B:
        if set(A.files) != set(B.files):
            diffs.append(f"keys {sorted(A.files)} != {sorted(B.files)}")
            return
        for k in A.files:
            x, y = A[k], B[k]
            if x.shape != y.shape or x.dtype != y.dtype:
                diffs.append(f"{k}: {x.dtype}{x.shape} != {y.dtype}{y.shape}")
            elif x.dtype.kind in "fc":
                if not np.array_equal(x, y, equal_nan=True):
                    diffs.append(f"{k}: max |diff| {np.nanmax(np.abs(x - y))}")
            elif not np.array_equal(x, y):
                diffs.append(f"{k}: arrays differ")


def cmd_compare(args) -> int:
    ca, cb = Path(args.cluster), Path(args.local)
    fa, fb = result_files(ca), result_files(cb)
    n_metrics = sum(1 for k in fa if k.endswith("metrics.json"))
    print(f"compare: {len(fa)} result files in the cluster run ({n_metrics} metrics.json), {len(fb)} in the local run")
    bad = 0
    if not n_metrics:
        print("FAIL: no metrics.json in the cluster run")
        return 1
    for rel in sorted(set(fa) ^ set(fb)):
        print(f"FAIL: {rel} only in the {'cluster' if rel in fa else 'local'} run")
        bad += 1
    for rel in sorted(set(fa) & set(fb)):
        diffs: list[str] = []
        if rel.endswith(".json"):
            diff_json(json.loads(fa[rel].read_text()), json.loads(fb[rel].read_text()), "", diffs)
        elif rel.endswith(".csv"):
            diff_csv(fa[rel], fb[rel], diffs)
        else:
            diff_npz(fa[rel], fb[rel], diffs)
        if diffs:
            bad += 1
            print(f"FAIL: {rel}")
            for d in diffs[:20]:
                print(f"    {d}")
    if bad:
        print(f"compare: {bad} file(s) differ")
        return 1
    print(f"compare: OK, all {len(fa)} result files identical (timings excluded)")
    return 0


# --------------------------------------------------------------------------- resources
JOB_HEAD = re.compile(r"^(?:local)?rule (\S+):\s*$")
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\S+) ")


def parse_log(text: str) -> list[dict]:
    """Snakemake's job blocks (rule, jobid, threads, resources) and the SLURM
    job id each job was submitted as."""
    blocks: dict[str, dict] = {}
    cur = None
    for line in text.splitlines():
        m = JOB_HEAD.match(line)
        if m:
            cur = {"rule": m.group(1), "threads": 1, "resources": {}}
            continue
        if cur is not None and line.startswith("    "):
            key, _, val = line.strip().partition(": ")
            if key == "jobid":
                cur["jobid"] = val.strip()
                blocks[cur["jobid"]] = cur
            elif key == "threads":
                cur["threads"] = int(val)
            elif key == "resources":
                for item in val.split(", "):
                    k, _, v = item.partition("=")
                    cur["resources"][k.strip()] = v.strip()
            continue
        cur = None
    jobs = []
    for m in SUBMITTED.finditer(text):
        block = blocks.get(m.group(1))
        if block is None:
            raise SystemExit(f"no job block for Snakemake job {m.group(1)} in the log")
        jobs.append(dict(block, slurm_jobid=m.group(2)))
    return jobs


def minutes(t: str) -> float:
    """SLURM time 'D-HH:MM:SS', 'HH:MM:SS' or 'MM:SS' -> minutes."""
    days = 0
    if "-" in t:
        d, t = t.split("-", 1)
        days = int(d)
    parts = [int(p) for p in t.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    h, m, s = parts
    return days * 1440 + h * 60 + m + s / 60


def mem_mb(v: str) -> float:
    """SLURM memory '300M', '2G', '300Mn' (per node), '1500K' -> MB."""
    m = re.fullmatch(r"([\d.]+)([KMGT]?)[nc]?", v.strip())
    if not m:
        raise ValueError(v)
    scale = {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024 * 1024}[m.group(2)]
    return float(m.group(1)) * scale


SACCT_FIELDS = "JobIDRaw,JobName,Partition,Account,QOS,AllocCPUS,ReqCPUS,ReqMem,Timelimit,State,ExitCode,Elapsed,Comment"


def sacct_records(ids: list[str], wait: float = 60) -> dict[str, dict]:
    """Accounting records of the jobs; slurmctld sends them to slurmdbd
    asynchronously, so wait until all are there with a final state."""
    deadline = time.time() + wait
    while True:
        out = subprocess.run(
            ["sacct", "-X", "-P", "-n", "-j", ",".join(ids), "-o", SACCT_FIELDS],
            check=True, capture_output=True, text=True,
        ).stdout
        recs = {}
        names = SACCT_FIELDS.split(",")
        for line in out.splitlines():
            vals = line.split("|", len(names) - 1)
            if len(vals) == len(names):
                recs[vals[0]] = dict(zip(names, vals))
        done = all(i in recs and recs[i]["State"] not in ("PENDING", "RUNNING", "COMPLETING") for i in ids)
        if done or time.time() > deadline:
            return recs
        time.sleep(2)


def scontrol_record(jobid: str) -> dict | None:
    r = subprocess.run(["scontrol", "-o", "show", "job", jobid], capture_output=True, text=True)
    if r.returncode != 0 or "Invalid job id" in r.stderr:
        return None
    rec = {}
    for tok in r.stdout.split():
        k, sep, v = tok.partition("=")
        if sep:
            rec[k] = v
    return rec


def cmd_resources(args) -> int:
    jobs = parse_log(Path(args.log).read_text(errors="replace"))
    if not jobs:
        print("FAIL: the log shows no job submitted to SLURM")
        return 1
    recs = sacct_records([j["slurm_jobid"] for j in jobs])
    problems = []
    rows = []
    n_sc = 0
    for j in jobs:
        sid, res = j["slurm_jobid"], j["resources"]
        want_cpus = int(res.get("cpus_per_task") or j["threads"])
        want_mem = float(res["mem_mb"]) if "mem_mb" in res else None
        want_min = float(res["runtime"]) if "runtime" in res else None
        tag = f"SLURM job {sid} (rule {j['rule']}, Snakemake job {j['jobid']})"
        rec = recs.get(sid)
        if rec is None:
            problems.append(f"{tag}: no sacct record")
            continue
        rows.append(rec)
        checks = [
            ("State", rec["State"], "COMPLETED", rec["State"] == "COMPLETED"),
            ("ExitCode", rec["ExitCode"], "0:0", rec["ExitCode"] == "0:0"),
            ("AllocCPUS", rec["AllocCPUS"], want_cpus, int(rec["AllocCPUS"]) == want_cpus),
            ("ReqCPUS", rec["ReqCPUS"], want_cpus, int(rec["ReqCPUS"]) == want_cpus),
            ("Comment", rec["Comment"], f"rule_{j['rule']}*", rec["Comment"].startswith(f"rule_{j['rule']}")),
        ]
        if want_mem is not None:
            checks.append(("ReqMem", rec["ReqMem"], f"{want_mem:g}M", mem_mb(rec["ReqMem"]) == want_mem))
        if want_min is not None:
            checks.append(("Timelimit", rec["Timelimit"], f"{want_min:g} min", minutes(rec["Timelimit"]) == want_min))
        for field, want in (("Account", args.account), ("Partition", args.partition), ("QOS", args.qos)):
            if want:
                checks.append((field, rec[field], want, rec[field] == want))
        sc = scontrol_record(sid)
        if sc is not None:
            n_sc += 1
            checks.append(("scontrol NumCPUs", sc.get("NumCPUs"), want_cpus, sc.get("NumCPUs") == str(want_cpus)))
            if want_mem is not None:
                got = sc.get("MinMemoryNode")
                checks.append(("scontrol MinMemoryNode", got, f"{want_mem:g}M", got is not None and mem_mb(got) == want_mem))
            if want_min is not None:
                got = sc.get("TimeLimit")
                checks.append(("scontrol TimeLimit", got, f"{want_min:g} min", got is not None and minutes(got) == want_min))
        for field, got, want, ok in checks:
            if not ok:
                problems.append(f"{tag}: {field} is {got!r}, expected {want!r}")
    print("resources: sacct records of the cluster run")
    cols = ["JobIDRaw", "Partition", "Account", "QOS", "AllocCPUS", "ReqMem", "Timelimit", "State", "Elapsed", "Comment"]
    print("  " + " | ".join(cols))
    for r in rows:
        print("  " + " | ".join(r[c] for c in cols))
    if problems:
        for p in problems:
            print(f"FAIL: {p}")
        return 1
    rules = sorted({j["rule"] for j in jobs})
    print(
        f"resources: OK, {len(jobs)} SLURM jobs of rules {', '.join(rules)}: threads/mem_mb/runtime "
        f"match sacct ({len(jobs)} jobs) and scontrol ({n_sc} jobs still held by slurmctld)"
    )
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compare")
    c.add_argument("cluster")
    c.add_argument("local")
    c.set_defaults(func=cmd_compare)
    r = sub.add_parser("resources")
    r.add_argument("log")
    r.add_argument("--account")
    r.add_argument("--partition")
    r.add_argument("--qos")
    r.set_defaults(func=cmd_resources)
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
