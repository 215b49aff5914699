"""Redraw the sweep study's overview figures (one per regularizer family) from the
per-point tables of docs/sweeps.md, for a study whose results folder is gone: every
number the figures show (test accuracy and the train - validation gap, mean and 95%
interval, the base, the chosen value) is in those tables, rounded to 0.1 points.

    python research/sweeps_figures_from_tables.py docs/sweeps.md docs/figures

writes docs/figures/sweeps_flowers_<family>.png with the workflow's own figure code
(pipeline.report.sweep_figures); a study folder's own figures come from `snakemake`.
"""
import argparse
import re
from pathlib import Path

import pandas as pd

from pipeline.report import sweep_figures
from pipeline.plan import sweeps

SECTION = re.compile(r"^#### Sweep (\S+): (\S+), base (\S+)(?: \(points: .*\))?: (\w+)\s*$")
WITH_CI = re.compile(r"^([-+]?[\d.]+) \[([-+]?[\d.]+), ([-+]?[\d.]+)\]$")


def number(text):
    try:
        return float(text)
    except ValueError:
        return text


def read_tables(text, dataset="flowers"):
    """(points DataFrame as sweep_results.sweep_points makes it, specs) from the page."""
    rows, specs, current = [], {}, None
    for line in text.splitlines():
        if m := SECTION.match(line):
            name, vary, base, protocol = m.groups()
            specs[name] = {"title": name, "base": base, "vary": vary, "dataset": dataset,
                           "points": []}
            current = (name, protocol)
            continue
        if current is None or not line.startswith("| ") or line.startswith(("| value", "|---")):
            if current and not line.strip() == "" and not line.startswith("|"):
                current = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        value, experiment, _, _, test, gap = cells[:6]
        name, protocol = current
        t, g = WITH_CI.match(test).groups(), WITH_CI.match(gap).groups()
        is_base = value == "base"
        if not is_base:
            specs[name]["points"].append({"experiment": experiment, "value": number(value),
                                          "label": value})
        rows.append({"sweep": name, "protocol": protocol, "head": "acc",
                     "experiment": experiment, "is_base": is_base,
                     "chosen": cells[7].startswith("<-"),
                     **{f"test_{k}": float(v) for k, v in zip(("mean", "lo", "hi"), t)},
                     **{f"gap_{k}": float(v) for k, v in zip(("mean", "lo", "hi"), g)}})
    return pd.DataFrame(rows), specs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("page", type=Path)
    ap.add_argument("outdir", type=Path)
    a = ap.parse_args()
    points, specs = read_tables(a.page.read_text())
    protocols = list(dict.fromkeys(points["protocol"]))
    for (dataset, family), names in sweeps.overview_groups(specs).items():
        out = a.outdir / f"sweeps_{dataset}_{family}.png"
        sweep_figures.sweep_figure(points, specs, names, protocols, out,
                                   f"Regularization paths, {dataset}: "
                                   f"{sweep_figures.family_name(family)}")
        print(out, len(names), "sweeps")


if __name__ == "__main__":
    main()
