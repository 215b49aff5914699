"""The results layout is spelled in one module (pipeline.layout), and its helpers agree."""
import re
from pathlib import Path

from pipeline import layout

ROOT = Path(__file__).resolve().parents[1]


def test_a_run_folder_and_its_files_round_trip(tmp_path):
    run = layout.path(tmp_path / "results", layout.RUN, protocol="corrected",
                      experiment="flowers_cnn1", seed=3)
    assert run == tmp_path / "results/runs/corrected/flowers_cnn1/seed3"
    results, keys = layout.run_of(run)
    assert results == tmp_path / "results"
    assert keys == {"protocol": "corrected", "experiment": "flowers_cnn1", "seed": 3}
    assert layout.beside(run, layout.TRAIN_LOG) == \
        tmp_path / "results/logs/train/corrected/flowers_cnn1/seed3.log"
    assert layout.beside(run, layout.FAILURE) == \
        tmp_path / "results/failures/corrected/flowers_cnn1/seed3.json"


def test_no_other_code_spells_the_per_run_layout():
    spelled = re.compile(r"seed\{seed\}|parents\[3\]|/ f\"seed\{")
    code = [p for d in ("src", "workflow") for p in (ROOT / d).rglob("*")
            if p.suffix in (".py", ".smk") or p.name == "Snakefile"]
    found = [str(p.relative_to(ROOT)) for p in code
             if p.name != "layout.py" and spelled.search(p.read_text())]
    assert found == []
