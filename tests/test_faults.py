"""Faults as users meet them: a full disk, too little memory, permissions, a cache replaced
mid-study. Each ends with one message naming the file or setting at fault, its own exit
code (docs/troubleshooting.md), no traceback, nothing half-written; after the fix
the same command finishes as if nothing had happened.

Over 300 lines on purpose: every fault kind through each way in (the command line, the
workflow's training child, a whole workflow run), so their messages are read side by
side and stay one wording."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_data_helpers import flowers_tree
from toydata import write_toy_cache

from pipeline.runtime import faults
from pipeline.cli import main

SRC = str(Path(__file__).resolve().parents[1] / "src")
MLP = "[40, [dropout, {keep_prob: 0.7}], 20]"
TIMING = ("train_seconds", "eval_seconds", "seconds_per_epoch", "test_seconds")


def train_args(data, out, net=MLP, epochs=3):
    return ["train", "--data", str(data), "--net", net, "--out", str(out), "--epochs",
            str(epochs), "--seed", "3", "--experiment", "faulty"]


def env(**extra):
    e = {k: v for k, v in os.environ.items() if not k.startswith("REGSTUDY_")}
    return {**e, "PYTHONPATH": SRC, **extra}


def cli(args, prefix=(), **kw):
    return subprocess.run([*prefix, sys.executable, "-m", "pipeline.cli", *map(str, args)],
                          capture_output=True, text=True, env=kw.pop("env", env()), **kw)


def leftovers(folder):
    """Files that would pass for results, or temporaries, in `folder`."""
    folder = Path(folder)
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir()
                  if p.name.endswith(".tmp") or p.name in ("metrics.json", "params.npz",
                                                           "predictions.npz"))


def untimed(path):
    return {k: v for k, v in json.loads(Path(path).read_text()).items() if k not in TIMING}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_toy_cache(tmp_path_factory.mktemp("d") / "toy.npz", n=200, size=12)


# --- disk full -------------------------------------------------------------------------


@pytest.fixture
def tiny_fs(tmp_path):
    """A 3 MB tmpfs (root only); skipped where mounting is not allowed."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()}); "
                    "test_enospc_at_a_checkpoint_then_resume injects ENOSPC instead")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_full_names_the_file_and_the_space_needed(data, tiny_fs):
    out = tiny_fs / "run"
    # a 1000-unit layer: 1.7 MB of weights, 5 MB of checkpoint with Adam's moments
    res = cli(train_args(data, out, net="[1000]", epochs=2))
    assert res.returncode == faults.DISK_FULL == 4, res.stderr
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in res.stderr, res.stderr
    msg = err[0]
    assert msg.startswith(f"error: no space left on the device writing {out}/checkpoint.npz (")
    needed = float(msg.split("(")[1].split(" MiB to write")[0])
    assert 4.5 < needed < 6.0, msg
    assert "MiB free there" in msg and f"free at least {needed:.1f} MiB there" in msg
    assert leftovers(out) == []                         # no torn checkpoint, no temporary
    assert not (out / "checkpoint.npz").exists()
    # space freed: the same command finishes
    subprocess.run(["mount", "-o", "remount,size=30m", str(tiny_fs)], check=True)
    res = cli(train_args(data, out, net="[1000]", epochs=2))
    assert res.returncode == 0, res.stderr
    assert json.loads((out / "metrics.json").read_text())["status"] == "ok"


INJECT_ENOSPC = """
import errno, sys, numpy as np
real, calls = np.savez, []
def savez(fh, **arrays):
    if "meta" in arrays:                       # a checkpoint: the Nth write finds the disk full
        calls.append(1)
        if len(calls) == int(sys.argv[1]):
            fh.write(b"half a checkpoint")
            raise OSError(errno.ENOSPC, "No space left on device")
    return real(fh, **arrays)
np.savez = savez
from pipeline.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_enospc_at_a_checkpoint_then_resume_gives_the_uninterrupted_results(data, tmp_path):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert cli(train_args(data, whole, epochs=4)).returncode == 0
    res = subprocess.run([sys.executable, "-c", INJECT_ENOSPC, "3",
                          *train_args(data, cut, epochs=4)], capture_output=True, text=True,
                         env=env())
    assert res.returncode == 4, res.stderr
    assert res.stderr.startswith(f"error: no space left on the device writing {cut}/checkpoint.npz")
    assert "Traceback" not in res.stderr
    assert leftovers(cut) == []
    rerun = cli(train_args(data, cut, epochs=4))
    assert rerun.returncode == 0, rerun.stderr
    assert "Resuming faulty (seed 3) from epoch 3" in rerun.stdout
    assert untimed(cut / "metrics.json") == untimed(whole / "metrics.json")
    with np.load(cut / "params.npz") as a, np.load(whole / "params.npz") as b:
        assert a.files == b.files
        for k in a.files:
            np.testing.assert_array_equal(a[k], b[k])
    untimed_history = lambda p: pd.read_csv(p).drop(columns=["train_seconds", "eval_seconds"])  # noqa: E731
    pd.testing.assert_frame_equal(untimed_history(cut / "history.csv"),
                                  untimed_history(whole / "history.csv"))


# --- out of memory ---------------------------------------------------------------------

CAPPED = """
import resource, sys
import pipeline.cli, pipeline.train.run, yaml
# the cap: what this process has mapped now plus 200 MB, so that only the run's big
# arrays (a 100000-unit layer: 345 MB of float64 draws) do not fit
vm = int(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmSize"))) * 1024
resource.setrlimit(resource.RLIMIT_AS, (vm + 200 * 2**20, resource.RLIM_INFINITY))
sys.exit(pipeline.cli.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("job", [None, "500"], ids=["command", "workflow-job"])
def test_out_of_memory_says_which_setting_to_raise(data, tmp_path, job):
    out = tmp_path / "run"
    extra = {faults.RULE_ENV: "train", faults.MEM_ENV: job} if job else {}
    res = subprocess.run([sys.executable, "-c", CAPPED, *train_args(data, out, net="[100000]")],
                         capture_output=True, text=True, env=env(**extra))
    assert res.returncode == faults.OUT_OF_MEMORY == 5, res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert res.stderr.startswith("error: out of memory: Unable to allocate ")
    if job:
        assert ("raise `resources.train.mem_mb` in the config (this job had 500 MB), or rerun "
                "with `snakemake --set-resources train:mem_mb=1000`") in res.stderr
    else:
        assert "`ulimit -v`" in res.stderr and "resources.train.mem_mb" in res.stderr
    assert leftovers(out) == []


def test_debug_shows_the_traceback_too(data, tmp_path):
    res = subprocess.run([sys.executable, "-c", CAPPED, *train_args(data, tmp_path, net="[100000]")],
                         capture_output=True, text=True, env=env(REGSTUDY_DEBUG="1"))
    assert res.returncode == 5
    assert "Traceback" in res.stderr and "MemoryError" in res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("error: out of memory")


# --- permissions -----------------------------------------------------------------------
# Root ignores permission bits: the command runs as root without the capabilities that
# override them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), on folders owned by `nobody`.
NO_DAC = ("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--")


@pytest.fixture(scope="module")
def unprivileged(tmp_path_factory):
    probe = tmp_path_factory.mktemp("probe")
    locked = probe / "locked"
    locked.mkdir(mode=0o500)
    shutil.chown(locked, "nobody")
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) is not installed: cannot drop root's override")
    r = subprocess.run([*NO_DAC, "touch", str(locked / "x")], capture_output=True)
    if r.returncode == 0 and os.getuid() == 0:
        pytest.skip("dropping CAP_DAC_OVERRIDE did not take effect here")
    return NO_DAC if os.getuid() == 0 else ()


def lock(path, mode):
    shutil.chown(path, "nobody", "nogroup")
    os.chmod(path, mode)


def test_a_failed_write_names_the_file_not_its_temporary(tmp_path, monkeypatch):
    """Also for a relative path (the workflow's run folders), although mkstemp names its
    temporary with an absolute one."""
    import errno
    import tempfile

    from pipeline import atomic

    def denied(prefix, suffix, dir):
        raise PermissionError(errno.EACCES, "Permission denied",
                              os.path.join(os.path.abspath(dir), f"{prefix}x1y2{suffix}"))

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(PermissionError) as e:
        atomic.write_text(Path("run") / "history.csv", "epoch\n")
    assert e.value.filename == os.path.join("run", "history.csv")


@pytest.mark.parametrize("where", ["results folder", "run folder"])
def test_unwritable_results_folder(data, tmp_path, unprivileged, where):
    results = tmp_path / "results"
    out = results / "run"
    if where == "run folder":
        out.mkdir(parents=True)
        lock(out, 0o555)
        at_fault = out / "history.csv"          # the first file the run writes
    else:
        results.mkdir()
        lock(results, 0o555)
        at_fault = out
    res = cli(train_args(data, out), prefix=unprivileged)
    assert res.returncode == faults.PERMISSION == 6, res.stderr
    assert res.stderr.startswith(f"error: permission denied: {at_fault} ("), res.stderr
    assert "dr-xr-xr-x nobody:nogroup" in res.stderr and "fix the permissions" in res.stderr
    assert "Traceback" not in res.stderr
    assert leftovers(out) == []
    assert not (out / "history.csv").exists()


def test_unreadable_data_folder(tmp_path, unprivileged):
    root = flowers_tree(tmp_path / "flowers", per_class=2)
    lock(root / "rose", 0o000)
    out = tmp_path / "cache" / "flowers.npz"
    res = cli(["prepare", "flowers", root, "--out", out, "--size", "12", "--workers", "1"],
              prefix=unprivileged)
    assert res.returncode == 6, res.stderr
    assert res.stderr.startswith(f"error: permission denied: {root / 'rose'} (")
    assert "d--------- nobody:nogroup" in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()


def test_unreadable_image_and_cache_are_permission_faults_not_bad_data(tmp_path, unprivileged):
    root = flowers_tree(tmp_path / "flowers", per_class=2)
    lock(root / "rose" / "img_1.jpg", 0o000)    # not skipped as a bad file: fixed and kept
    out = tmp_path / "flowers.npz"
    res = cli(["prepare", "flowers", root, "--out", out, "--size", "12", "--workers", "1"],
              prefix=unprivileged)
    assert res.returncode == 6 and f"permission denied: {root}/rose/img_1.jpg" in res.stderr
    assert not out.exists()
    os.chmod(root / "rose" / "img_1.jpg", 0o644)
    assert cli(["prepare", "flowers", root, "--out", out, "--size", "12", "--workers", "1"],
               prefix=unprivileged).returncode == 0
    lock(out, 0o000)
    res = cli(train_args(out, tmp_path / "run"), prefix=unprivileged)
    assert res.returncode == 6 and f"permission denied: {out} (" in res.stderr, res.stderr


# --- a cache replaced or removed mid-study ------------------------------------------------


def test_cache_replaced_or_removed_mid_study(tmp_path, capsys):
    root = flowers_tree(tmp_path / "flowers", per_class=5)
    cache = tmp_path / "data" / "flowers.npz"
    prepare = ["prepare", "flowers", str(root), "--out", str(cache), "--size", "12",
               "--workers", "1"]
    assert main(prepare) == 0
    assert main(train_args(cache, tmp_path / "a", epochs=1)) == 0
    capsys.readouterr()

    write_toy_cache(cache, n=15, size=12)       # another cache over it; manifest unchanged
    assert main(train_args(cache, tmp_path / "b", epochs=1)) == faults.DATA_CHANGED == 7
    err = capsys.readouterr().err
    assert err.startswith(f"error: {cache}: the cache was replaced or changed after "
                          "`regstudy prepare` wrote it (")
    assert err.strip().endswith("rerun `regstudy prepare` (in the workflow: `snakemake "
                                "--forcerun prepare`, which retrains on the new cache)")
    assert leftovers(tmp_path / "b") == []

    cache.unlink()
    assert main(train_args(cache, tmp_path / "b", epochs=1)) == 7
    assert f"error: {cache}: cache file not found; build it with `regstudy prepare`" \
        in capsys.readouterr().err

    write_toy_cache(cache, n=15, size=12)
    assert main(prepare) == 0                   # prepare notices and rebuilds it
    assert "the cache file changed since it was prepared" in capsys.readouterr().out
    assert main(train_args(cache, tmp_path / "b", epochs=1)) == 0


# --- the workflow's training job: its child, its failure record, the tables ---------------


def test_job_killed_for_memory_says_raise_mem_mb_and_leaves_a_record(tmp_path):
    """SIGKILL (a cluster's or the kernel's memory limit) cannot be caught by the run: the
    job's own process, left alive, names the setting."""
    import signal

    from pipeline.runtime import jobs
    from pipeline.runtime import failures

    run = tmp_path / "results" / "runs" / "corrected" / "flowers_cnn1" / "seed2"
    record, log = failures.record_path(run), tmp_path / "train.log"
    with pytest.raises(SystemExit) as e:
        jobs.run_child(lambda: os.kill(os.getpid(), signal.SIGKILL), "regstudy train", log,
                       rule="train", mem_mb=2000, record=record)
    assert e.value.code == 5
    assert record == tmp_path / "results" / "failures" / "corrected" / "flowers_cnn1" / "seed2.json"
    r = json.loads(record.read_text())
    assert (r["status"], r["protocol"], r["experiment"], r["seed"], r["exit_code"]) == \
        ("failed", "corrected", "flowers_cnn1", 2, 5)
    assert r["error"].startswith("out of memory: regstudy train was killed by SIGKILL")
    assert ("raise `resources.train.mem_mb` in the config (this job had 2000 MB), or rerun "
            "with `snakemake --set-resources train:mem_mb=4000`") in r["error"]
    assert log.read_text().splitlines()[-1] == "error: " + r["error"]


def test_job_fault_in_the_child_leaves_its_record(tmp_path, capsys):
    from pipeline.runtime import jobs
    from pipeline.runtime import failures
    from pipeline.train.run import RunSettings, run_job

    run = tmp_path / "results" / "runs" / "reference" / "flowers_mlp" / "seed1"
    record = failures.record_path(run)
    settings = RunSettings(data=str(tmp_path / "gone.npz"), net=[40, 20], epochs=3)
    with pytest.raises(SystemExit) as e:
        jobs.run_child(lambda: run_job(settings, run)[0], "regstudy train", tmp_path / "t.log",
                       rule="train", mem_mb=500, record=record)
    assert e.value.code == 7
    r = json.loads(record.read_text())
    assert r["exit_code"] == 7 and r["error"].startswith(f"{tmp_path}/gone.npz: cache file not found")
    assert f"failed with exit code 7: error: {tmp_path}/gone.npz: cache file not found" \
        in capsys.readouterr().err
    assert leftovers(run) == []


def test_tables_show_failed_runs_with_their_reason(tmp_path):
    from fakes import make_run
    from pipeline.runtime import failures
    from pipeline.analysis import runs as run_tables

    described = [{"experiment": "base", "dataset": "flowers", "table": "t1",
                  "regularizer": "none"}]
    metrics = [make_run(tmp_path, "corrected", "base", s, acc=0.5 + s / 100) / "metrics.json"
               for s in (1, 3)]
    record = failures.record_path(tmp_path / "results" / "runs" / "corrected" / "base" / "seed2")
    failures.write_record(record, 4, "error: no space left on the device writing x.npz")
    runs = failures.with_failures(run_tables.collect_runs(metrics, [], [], described), [record],
                                  described)
    assert list(runs.seed) == [1, 2, 3] and list(runs.status) == ["ok", "failed", "ok"]
    failed = runs.iloc[1]
    assert failed.error == "no space left on the device writing x.npz" and np.isnan(failed.acc)
    s = run_tables.summarize(runs, described).iloc[0]
    assert (s.n_runs, s.n_ok, s.n_failed) == (3, 2, 1)
    assert s.acc_mean == pytest.approx(0.52)


@pytest.mark.slow
def test_workflow_goes_on_shows_the_failed_run_and_retries_it(tmp_path, unprivileged):
    """A run whose folder cannot be written: its job fails (no outputs kept), the other
    jobs go on (keep-going in the profile); the next `snakemake` tries it again and builds
    the tables with the run "failed" and its reason (as it was when that `snakemake`
    started); once fixed, the run is made and the tables follow."""
    import pandas as pd
    import yaml

    root = Path(__file__).resolve().parents[1]
    cfg = yaml.safe_load((root / ".test" / "config" / "config.yaml").read_text())
    cfg.update(select=["flowers_mlp", "office31_cnn4"], protocols=["corrected"], seeds=[1, 2])
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    bad = tmp_path / "results" / "runs" / "corrected" / "flowers_mlp" / "seed2"
    bad.mkdir(parents=True)
    (bad / "notes.txt").write_text("a file of the user's: Snakemake keeps the folder")
    lock(bad, 0o555)
    rel = bad.relative_to(tmp_path)

    def snakemake(*args):
        cmd = [*unprivileged, str(Path(sys.executable).with_name("snakemake")), "-s",
               str(root / "workflow" / "Snakefile"), "-d", str(tmp_path), "--cores", "2",
               "--configfile", str(tmp_path / "config.yaml"), *args]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env())
        return r, r.stdout + r.stderr

    def status():
        runs = pd.read_csv(tmp_path / "results/tables/runs.csv")
        return runs.set_index(["experiment", "seed"])

    r, out = snakemake()
    assert r.returncode != 0
    assert f"error: permission denied: {rel}/history.csv ({rel}: dr-xr-xr-x nobody:nogroup" in out
    assert "non-zero exit status 6" in out, out[-3000:]
    for seed, exp in ((1, "flowers_mlp"), (1, "office31_cnn4"), (2, "office31_cnn4")):
        assert (tmp_path / f"results/runs/corrected/{exp}/seed{seed}/metrics.json").exists()
    assert leftovers(bad) == [] and not (tmp_path / "results/tables/runs.csv").exists()
    record = tmp_path / "results/failures/corrected/flowers_mlp/seed2.json"
    assert json.loads(record.read_text())["exit_code"] == 6

    r, out = snakemake()                         # still unwritable: tried again, tables built
    assert r.returncode != 0 and "non-zero exit status 6" in out
    runs = status()
    assert runs.loc[("flowers_mlp", 2), "status"] == "failed"
    assert runs.loc[("flowers_mlp", 2), "error"].startswith(f"permission denied: {rel}/history.csv")
    assert (runs.drop(("flowers_mlp", 2)).status == "ok").all()
    summary = pd.read_csv(tmp_path / "results/tables/summary.csv").set_index("experiment")
    assert summary.loc["flowers_mlp", "n_failed"] == 1 and summary.loc["flowers_mlp", "n_ok"] == 1
    assert (tmp_path / "results/summary.md").exists()

    lock(bad, 0o755)
    shutil.chown(bad, "root", "root")
    r, out = snakemake()                         # fixed: the run is made
    assert r.returncode == 0, out[-3000:]
    assert json.loads((bad / "metrics.json").read_text())["status"] == "ok"
    r, out = snakemake()                         # and the tables follow
    assert r.returncode == 0, out[-3000:]
    assert len(status()) == 4 and (status().status == "ok").all()
    r, out = snakemake("-n")
    assert "Nothing to be done" in out, out[-2000:]
