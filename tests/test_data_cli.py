"""`regstudy prepare` and `regstudy synth`: every flag documented, exit codes, messages."""
import argparse

import numpy as np
import pytest

from pipeline.data import commands, load_cache
from test_data_helpers import flowers_tree


def parser():
    p = argparse.ArgumentParser(prog="regstudy")
    commands.register(p.add_subparsers(dest="command", required=True))
    return p


def run(argv):
    args = parser().parse_args(argv)
    return args.func(args)


@pytest.mark.parametrize("name", ["prepare", "synth"])
def test_every_flag_has_help(name, capsys):
    sub = parser()._subparsers._group_actions[0].choices[name]
    for action in sub._actions:
        assert action.help, f"{name}: {action.option_strings or action.dest} has no help"
    with pytest.raises(SystemExit):
        parser().parse_args([name, "--help"])
    out = capsys.readouterr().out
    for flag in ("--seed", "--per-class", "--size") if name == "synth" else (
            "--out", "--size", "--resample", "--workers", "--force", "ROOT/<class>/*.jpg",
            "ROOT/<domain>/images/<object>/*.jpg"):
        assert flag in out


def test_synth_then_prepare(tmp_path, capsys):
    assert run(["synth", "flowers", str(tmp_path / "s"), "--seed", "3", "--per-class", "4",
                "--size", "20"]) == 0
    assert run(["prepare", "flowers", str(tmp_path / "s"), "--size", "12",
                "--out", str(tmp_path / "c.npz")]) == 0
    out = capsys.readouterr().out
    assert "20 images" in out and "skipped 0 file(s)" in out
    c = load_cache(tmp_path / "c.npz")
    assert c["x"].shape == (20, 12, 12, 3) and np.bincount(c["y"][:, 0]).tolist() == [4] * 5
    assert run(["prepare", "flowers", str(tmp_path / "s"), "--size", "12",
                "--out", str(tmp_path / "c.npz")]) == 0
    assert "reusing" in capsys.readouterr().out


def test_errors_are_one_line_messages_with_exit_code_1(tmp_path, capsys):
    assert run(["prepare", "flowers", str(tmp_path / "missing"), "--out",
                str(tmp_path / "c.npz")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("regstudy prepare: error: ") and str(tmp_path / "missing") in err
    root = flowers_tree(tmp_path / "fl", per_class=1)
    assert run(["prepare", "office31", str(root), "--out", str(tmp_path / "c.npz")]) == 1
    assert "images" in capsys.readouterr().err
    assert run(["prepare", "flowers", str(root), "--size", "big", "--out",
                str(tmp_path / "c.npz")]) == 1
    assert "image size" in capsys.readouterr().err
    assert run(["synth", "flowers", str(root), "--per-class", "1"]) == 1
    assert "refusing" in capsys.readouterr().err


def test_registered_in_the_console_script():
    cli = pytest.importorskip("pipeline.cli")
    try:
        p = cli.build_parser()
    except ImportError as exc:          # another sub-command's module is not there yet
        pytest.skip(f"regstudy CLI incomplete: {exc}")
    args = p.parse_args(["synth", "office31", "out"])
    assert args.func is commands.run_synth and args.size == 96 and args.seed == 0
