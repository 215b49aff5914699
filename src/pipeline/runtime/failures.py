"""Failure records: a training job of the workflow that ended with a fault (disk full,
out of memory, permissions, data cache changed) leaves
results/failures/<protocol>/<experiment>/seed<S>.json beside, never inside, its run
folder. The job itself fails, so Snakemake keeps none of its outputs and runs it again
next time; the record lets the tables show the run as "failed" with its reason (as they
show diverged runs) instead of waiting on it.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from pipeline import atomic, layout


def record_path(run_dir):
    """results/runs/P/E/seedS -> results/failures/P/E/seedS.json"""
    return layout.beside(run_dir, layout.FAILURE)


def write_record(path, code, message):
    """Best effort: on a full disk the record may not fit either (the job fails anyway).
    `path` is record_path(run folder): the run's protocol, experiment and seed come from it."""
    path = Path(path)
    record = {"status": "failed", "protocol": path.parent.parent.name,
              "experiment": path.parent.name, "seed": int(path.stem[4:]),
              "exit_code": code, "error": message.removeprefix("error: "),
              "time": time.strftime("%Y-%m-%d %H:%M:%S")}
    try:
        atomic.write_json(path, record)
    except OSError as exc:
        print(f"(could not write the failure record {path}: {exc.strerror})", flush=True)


def with_failures(run_table, record_paths, described):
    """The run table plus one row per failure record: status "failed" and its error, no
    scores; rows in the table's order (experiment as described, protocol, seed)."""
    import pandas as pd

    info = {d["experiment"]: d for d in described}
    rows = []
    for path in record_paths:
        r = json.loads(Path(path).read_text())
        d = info.get(r["experiment"], {})
        rows.append({"experiment": r["experiment"], "protocol": r["protocol"],
                     "seed": int(r["seed"]), "status": "failed", "dataset": d.get("dataset"),
                     "table": d.get("table"), "regularizer": d.get("regularizer"),
                     "error": r.get("error", "")})
    if not rows:
        return run_table
    df = pd.concat([run_table, pd.DataFrame(rows)], ignore_index=True)
    order = {e: i for i, e in enumerate(info)}
    df["_o"] = df["experiment"].map(lambda e: order.get(e, len(order)))
    return (df.sort_values(["_o", "protocol", "seed"], kind="stable").drop(columns="_o")
            .reset_index(drop=True))
