"""The results pages agree with their per-run data (research/results_pages.py): every
generated table and quoted number is recomputed here from docs/data/ and compared."""
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "research"))
import results_pages as rp  # noqa: E402


def test_every_page_agrees_with_its_data():
    assert rp.main(["--check"]) == 0


def test_a_block_is_rewritten_from_the_data_and_the_rest_is_left():
    page = "intro 1.0\n<!-- generated: a -->\nold 1.0\n<!-- end: a -->\ntail\n"
    assert rp.render(page, {"a": ["new 2.0"]}) == \
        "intro 1.0\n<!-- generated: a -->\nnew 2.0\n<!-- end: a -->\ntail\n"
    with pytest.raises(KeyError, match="'b'"):
        rp.render("<!-- generated: b -->\nx\n<!-- end: b -->", {"a": []})


def _runs(diffs, base=60.0):
    """Constructed records: the plain CNN at `base` and cnn2 at base + diffs, per seed."""
    rows = []
    for p in rp.PROTOCOLS:
        for seed, d in enumerate(diffs, start=1):
            for e, acc in ((rp.CNN, base + seed % 3), ("flowers_cnn2", base + seed % 3 + d)):
                rows.append({"data_copy": "x", "protocol": p, "experiment": e, "seed": seed,
                             "status": "ok", "acc": acc})
    return pd.DataFrame(rows)


def test_the_family_holds_every_comparison_and_judges_a_planted_effect():
    runs = _runs([-5.2, -4.8, -5.1, -4.9, -5.0, -5.3])
    fam = rp.family(runs, rp.experiments())
    assert len(fam) == 22 and fam.p.notna().sum() == 2      # only cnn2 has pairs here
    row = fam[(fam.protocol == "corrected") & (fam.experiment == "flowers_cnn2")].iloc[0]
    assert row["diff"] == pytest.approx(-5.05) and row.verdict == "holds"   # study: -18.0
    assert row.study == "not plausible"          # -18 is far outside our single runs
    answer = "\n".join(rp.answer_block(fam))
    assert "| dropout (keep 0.6) hurts the CNN | cnn2 (dropout) | -18.0 | holds, -5.0 [" in answer


def test_the_sensitivity_rows_pair_the_same_seeds_of_both_copies():
    sharp = _runs([-5.0, -4.0, -6.0])
    blurred = sharp.copy()
    blurred["acc"] = blurred["acc"] - 8.0                      # 8 points lower, every run
    blurred = blurred[blurred.seed != 3]                       # seed 3 only on one copy
    for t in (sharp, blurred):
        t["one_class"] = False
    pieces = pd.DataFrame([{"commit": "abc", "wall_minutes": 3.0, "load": "quiet",
                            "command": "snakemake ..."}])
    rows = rp.sensitivity_block(sharp, blurred, pieces)
    cnn1 = next(r for r in rows if r.startswith("| corrected | cnn1 |"))
    assert "| 1-2 (2) |" in cnn1 and "+8.0 [+8.0, +8.0]" in cnn1
    assert rows[-1].endswith("`snakemake ...`")


def test_commits_are_read_as_text(tmp_path):
    (tmp_path / "p.csv").write_text("piece,commit\n1,31103e7\n2,1234567\n")
    assert list(rp.read(tmp_path / "p.csv").commit) == ["31103e7", "1234567"]


def test_the_budget_rows_pair_cnn2_with_cnn1_at_each_epoch():
    rows = []
    for seed in (1, 2, 3):
        for e, base in (("flowers_cnn1_budget", 60.0), ("flowers_cnn2_budget", 50.0)):
            rows.append({"experiment": e, "seed": seed, "status": "ok",
                         "acc_at_5": base + seed, "acc_at_40": base + 8 + seed})
    runs = pd.DataFrame(rows)
    pieces = pd.DataFrame([{"commit": "abc", "wall_minutes": 2.0, "load": "idle",
                            "command": "snakemake ..."}])
    out = rp.budget_block(runs, pieces)
    assert out[2] == "| 5 | 62.0 | 52.0 | -10.0 [-10.0, -10.0] | 3 |"
    assert out[3].startswith("| 40 | 70.0 | 60.0 | -10.0")


def test_the_runs_line_groups_the_seeds_of_one_design():
    assert rp.seed_ranges([3, 1, 2, 5, 7, 8]) == "1-3, 5, 7-8"
    runs = pd.DataFrame([{"seed": s, "protocol": p, "experiment": e, "status": "ok",
                          "kernel": "k", "image_size": 96, "data_copy": "sharp"}
                         for s in range(1, 5) for p in rp.PROTOCOLS for e in ("a", "b")
                         if s <= 2 or (p == "corrected" and e == "a")])
    line = rp.runs_block(runs, pd.DataFrame())[0]
    assert "seeds 1-2: 2 experiments x corrected and reference; " \
           "seeds 3-4: 1 experiments x corrected;" in line
