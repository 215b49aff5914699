"""Lines every results page's provenance block states the same way, from a per-run record
and its pieces' table (research/record_runs.py)."""
import pandas as pd


def read(path):
    """A record or pieces CSV, commits and versions as text (31103e7 is not 3.1103e11)."""
    return pd.read_csv(path, dtype={"commit": str, "engine_version": str, "kernel": str})


def num(x):
    """'2.5' of a number, '-' of none."""
    return "-" if x is None or pd.isna(x) else f"{x:.1f}"


def seed_ranges(seeds):
    """'1-20, 23' of sorted seeds."""
    seeds, out = sorted(int(s) for s in seeds), []
    for s in seeds:
        if out and s == out[-1][1] + 1:
            out[-1][1] = s
        else:
            out.append([s, s])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in out)


def provenance_lines(runs, pieces):
    """The BLAS kernels the runs recorded, then each piece's commit, wall time and command."""
    kernels = runs.kernel.fillna("not recorded").value_counts()
    out = ["- **BLAS kernels**: " + "; ".join(f"{k} ({n} runs)" for k, n in kernels.items()) + "."]
    for _, p in pieces.iterrows():
        out.append(f"- **Piece {p.piece}** (seeds {p.seeds}): commit `{p.commit}`, "
                   f"{p.wall_minutes:.0f} min wall on 2 cores ({p.load}): `{p.command}`")
    return out
