"""Where a study's compute went (pipeline.analysis.compute): job seconds, the split by the
runs' clocks, resumed runs kept out of the split, peak memory; in description.md."""
import json
import resource
import time

import pytest

from pipeline.runtime import jobs
from pipeline.runtime.jobs import USAGE_PREFIX
from pipeline.analysis import compute, describe

BENCH_HEAD = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def make_run(results, protocol, experiment, seed, job_s, cpu_s, rss, train_s, eval_s):
    run = results / "runs" / protocol / experiment / f"seed{seed}"
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps({
        "experiment": experiment, "protocol": protocol, "seed": seed, "status": "ok",
        "train_seconds": train_s, "eval_seconds": eval_s}))
    bench = results / "benchmarks" / "train" / protocol / experiment / f"seed{seed}.tsv"
    bench.parent.mkdir(parents=True, exist_ok=True)
    bench.write_text(BENCH_HEAD + f"{job_s}\t0:00:10\t{rss}\t1\t1\t1\t0\t0\t50\t{cpu_s}\n")
    return run / "metrics.json"


def test_job_seconds_split_and_peak(tmp_path):
    res = tmp_path / "results"
    paths = [make_run(res, "corrected", "flowers_mlp", 1, 20.0, 18.0, 250.5, 16.0, 1.0),
             make_run(res, "corrected", "flowers_mlp", 2, 30.0, 27.0, 251.0, 24.0, 2.0),
             make_run(res, "reference", "flowers_cnn1", 1, 100.0, 90.0, 290.0, 85.0, 9.0),
             # resumed: its clocks (two attempts) exceed its last job
             make_run(res, "reference", "flowers_cnn1", 2, 50.0, 45.0, 310.0, 70.0, 5.0)]
    nobench = res / "runs/corrected/flowers_mlp/seed3"
    nobench.mkdir()
    (nobench / "metrics.json").write_text(json.dumps({"experiment": "flowers_mlp"}))
    paths.append(nobench / "metrics.json")

    assert compute.benchmark_path(paths[0]) == \
        res / "benchmarks/train/corrected/flowers_mlp/seed1.tsv"
    s = compute.summarize(compute.job_rows(paths))
    t = s["total"]
    assert t["jobs"] == 4 and t["job_seconds"] == 200.0 and t["split_jobs"] == 3
    assert (t["train_seconds"], t["eval_seconds"], t["other_seconds"]) == (125.0, 12.0, 13.0)
    assert t["cpu_share"] == pytest.approx(180 / 200)
    assert t["peak_mb"] == 310.0 and t["peak_run"] == "reference/flowers_cnn1/seed2"
    mlp = s["experiments"]["flowers_mlp"]
    assert mlp["jobs"] == 2 and mlp["median_job_seconds"] == 25.0
    assert mlp["median_other_seconds"] == 3.5        # (3 + 4) / 2
    assert compute.line(s) == (
        "- compute: 4 training jobs, 200 job-seconds (training 83%, evaluation 8%, the rest "
        "9%, CPU 90% of wall (4 jobs' CPU sampled by Snakemake: an undercount)); peak "
        "memory 310 MB (reference/flowers_cnn1/seed2)")
    table = compute.table(s)
    assert table[2] == "| flowers_cnn1 | 2 | 150 | 75.0 | 85% | 9% | 6% (6.0) | 90% | 310 |"
    assert "1 resumed run(s)" in table[-1]
    assert compute.summarize(compute.job_rows(paths[-1:])) is None

    md, js = tmp_path / "d.md", tmp_path / "d.json"
    d = describe.write_description([], paths[:4], js, md)
    assert d["compute"]["total"]["jobs"] == 4
    text = md.read_text()
    assert "## Compute" in text and table[2] in text and compute.line(s) in text


def test_cpu_from_the_jobs_log(tmp_path):
    """The kernel's CPU count at the end of a job's log (the last one: a resumed job logs
    one per attempt) replaces the benchmark's sampled cpu_time."""
    res = tmp_path / "results"
    paths = [make_run(res, "corrected", "flowers_mlp", 1, 20.0, 11.0, 250.0, 16.0, 1.0),
             make_run(res, "corrected", "flowers_mlp", 2, 30.0, 15.0, 250.0, 24.0, 2.0)]
    log = compute.log_path(paths[0])
    assert log == res / "logs/train/corrected/flowers_mlp/seed1.log"
    log.parent.mkdir(parents=True)
    log.write_text("$ regstudy train {}\nEpoch 1\n"
                   f'{USAGE_PREFIX}{{"cpu_seconds": 7.0, "child_max_rss_mb": 240.0}}\n'
                   "$ regstudy train {}\nresumed\n"
                   f'{USAGE_PREFIX}{{"cpu_seconds": 19.5, "child_max_rss_mb": 241.0}}\n')
    rows = compute.job_rows(paths)
    assert [(r["cpu_s"], r["cpu_counted"]) for r in rows] == [(19.5, True), (15.0, False)]
    t = compute.summarize(rows)["total"]
    assert t["cpu_share"] == pytest.approx(34.5 / 50) and t["cpu_sampled"] == 1
    assert "CPU 69% of wall (1 jobs' CPU sampled by Snakemake" in compute.line({"total": t})


def test_run_child_logs_the_kernels_count(tmp_path):
    """run_child ends the log with the job's CPU seconds, the child's included: a child
    that spins for 0.4 CPU-seconds is counted (the benchmark's sampler would miss it)."""
    log = tmp_path / "job.log"

    def spin():
        t = time.process_time()
        while time.process_time() - t < 0.4:
            pass
        return 0
    before = sum(r.ru_utime + r.ru_stime for r in map(
        resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))
    jobs.run_child(spin, "regstudy train", log)
    usage = compute.read_usage(log)
    # this process's CPU counts too (a job's parent is fresh; pytest's is not)
    assert before + 0.4 <= usage["cpu_seconds"] < before + 2.0
    assert usage["child_max_rss_mb"] > 1.0
    assert log.read_text().splitlines()[0] == "$ regstudy train"
