"""docs/sweeps.md's family (research/sweeps_page.py) on constructed records of the tiny
sweeps (.test/config/sweeps.yaml): the value is chosen on validation, the chosen values are
judged against their bases as one Holm family."""
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "research"))
import sweeps_page as sp  # noqa: E402

from pipeline.analysis import paired  # noqa: E402

TINY = [ROOT / ".test" / "config" / "config.yaml", ROOT / ".test" / "config" / "sweeps.yaml"]
SEEDS = range(1, 7)
BORDERLINE = [1.0, 3.0, 0.5, 2.5, -0.5, 2.0]      # p 0.04 alone


def _record(points):
    """{experiment: (validation %, [test - base per seed])}; bases at 50 % + seed."""
    rows = []
    for e, (val, diffs) in points.items():
        for seed, d in zip(SEEDS, diffs):
            rows.append({"data_copy": "x", "protocol": "corrected", "experiment": e,
                         "seed": seed, "status": "ok", "acc": 50.0 + seed + d,
                         "eval_val_acc": val / 100, "eval_train_acc": (val + 10) / 100,
                         "n_train": 30, "kernel": "k", "epochs": 2, "image_size": 12})
    return pd.DataFrame(rows)


def _judged(record):
    _, runs, pts = sp.paths(record, TINY)
    return sp.family(pts, runs)


ZERO = [0.0] * 6
RECORD = _record({
    "flowers_mlp_n30": (40, ZERO), "flowers_cnn1_n30": (40, ZERO),
    "tiny_l2-0.001": (41, ZERO), "tiny_l2-0.1": (39, [-9.0] * 6),
    "tiny_dropout-0.5": (30, [-20.0] * 6),
    "tiny_dropout-0.9": (45, [9.8, 10.1, 10.0, 9.9, 10.2, 10.0]),    # planted: +10
    "tiny_size-10": (35, [5.0] * 6),              # best on test, not on validation
    "tiny_size-20": (42, BORDERLINE)})


def test_the_chosen_values_come_from_validation_and_a_planted_gain_holds():
    fam = _judged(RECORD).set_index("sweep")
    assert list(fam.value) == ["0.001", "0.9", "20"]      # tiny_size-10 tests better, not chosen
    r = fam.loc["tiny_dropout"]
    assert r["diff"] == pytest.approx(10.0) and sp.verdict(r) == "better than the base"
    assert r.n == 6 and len(fam) == 3


def test_the_family_turns_a_borderline_gain_inconclusive_as_holm_says():
    alone = paired.t_interval(BORDERLINE)
    assert alone.p < 0.05                              # significant on its own
    r = _judged(RECORD).set_index("sweep").loc["tiny_size"]
    # Holm: the planted gain (smallest p) is tested at 0.05/3 and the borderline next, at
    # 0.05/2; the zero-variance tiny_l2 (p = 1) comes last.
    assert r.p_holm == pytest.approx(min(1.0, 2 * alone.p))
    assert r.p_holm > 0.05 and sp.verdict(r) == "inconclusive"


def test_the_blocks_state_the_family_and_every_point():
    pieces = pd.DataFrame([{"piece": 1, "seeds": "1-6", "commit": "abc", "wall_minutes": 1.0,
                            "load": "idle", "command": "snakemake ..."}])
    b = sp.blocks(RECORD, pieces, TINY)
    assert "The family: 3 comparisons" in "\n".join(b["sweeps-family"])
    points = "\n".join(b["sweeps-points"])
    assert "| 0.5 | tiny_dropout-0.5 | 6 | 30.0 |" in points and "-20.0 [-20.0, -20.0]" in points
    assert b["sweeps-gaps"][2].startswith("| flowers_mlp_n30 | 30 | 53.5 [")
