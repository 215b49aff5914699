"""What a results folder holds, read from the results themselves: the cache manifests
(results/data/*.manifest.json), the run folders' metrics.json and, where present, the
training jobs' benchmark files (their time and memory: pipeline.analysis.compute). The
workflow writes it to results/description.{json,md}; the report's front page shows it and
names every way in which the configuration given to the report command differs from it
(`mismatches`).
"""
from __future__ import annotations

import json
from pathlib import Path

from pipeline import provenance
from pipeline.atomic import write_text
from pipeline.analysis import compute

STANDIN_MARKER = "SYNTHETIC.json"   # pipeline.data.synth.MARKER, at a stand-in's root
TRAINING_KEYS = ("epochs", "batch_size", "learning_rate", "l1", "l2")


def _standin(manifest):
    root = Path(manifest.get("root", ""))
    ignored = {i.get("path") for i in manifest.get("ignored", [])}
    return STANDIN_MARKER in ignored or (root / STANDIN_MARKER).is_file()


def describe_results(manifests, metrics):
    """The description (a JSON-able dict) of the caches `manifests` and the runs whose
    metrics.json files are `metrics` (paths)."""
    datasets = {}
    for p in manifests:
        m = json.loads(Path(p).read_text())
        datasets[m["dataset"]] = {
            "source": "generated stand-in" if _standin(m) else "real",
            "root": m.get("root"),
            "image_size": list(m["size"]),
            "images": m.get("n_images"),
            "skipped": m.get("n_skipped", 0),
            "manifest": str(p),
            "detail": m.get("detail"),
        }
    runs, experiments, envs, kernels = [], {}, [], []
    for p in metrics:
        m = json.loads(Path(p).read_text())
        runs.append(m)
        e = experiments.setdefault(m["experiment"], {"dataset": m.get("dataset")})
        for k in TRAINING_KEYS:
            e.setdefault(k, [])
            if m.get(k) not in e[k]:
                e[k].append(m.get(k))
        env = provenance.describe(m.get("environment"))
        if env not in envs:
            envs.append(env)
        kernels.append(provenance.kernel(m.get("environment")))
    status = {}
    for m in runs:
        status[m.get("status", "?")] = status.get(m.get("status", "?"), 0) + 1
    return {
        "format": 1,
        "datasets": datasets,
        "runs": len(runs),
        "status": dict(sorted(status.items())),
        "protocols": sorted({m["protocol"] for m in runs}),
        "seeds": sorted({int(m["seed"]) for m in runs}),
        "experiments": experiments,
        "engine_versions": sorted({m.get("engine_version", "?") for m in runs}),
        "environments": envs,
        "blas_kernels": provenance.kernel_lines(
            kernels, provenance.kernel(provenance.environment())),
        "compute": compute.summarize(compute.job_rows(metrics)),
    }


def expected_from_config(config, engine_version):
    """What the results of `config` (a validated workflow config) would be described as:
    the keys of describe_results that a configuration determines."""
    from pipeline.plan import experiments as ex

    exps = ex.selected_experiments(config)
    size = int(config["image_size"])
    return {
        "datasets": {
            ds: {"source": "real" if config[f"{ds}_dir"] else "generated stand-in",
                 "root": config[f"{ds}_dir"] or None, "image_size": [size, size]}
            for ds in ex.datasets_used(config)
        },
        "protocols": sorted(config["protocols"]),
        "seeds": sorted(int(s) for s in config["seeds"]),
        "experiments": {
            n: {k: [ex.setting(config, n, k)] for k in TRAINING_KEYS} for n in exps
        },
        "engine_versions": [engine_version],
    }


def _source(d):
    if d["source"] == "real":
        return f"the real folder {d['root']}"
    return f"a generated stand-in ({d['root']})" if d.get("root") else "a generated stand-in"


def _size(s):
    return " x ".join(map(str, s))


def _seq(v):
    return ", ".join(map(str, v)) or "none"


def mismatches(described, expected):
    """Every difference between the results' description and a configuration's
    expectation, one sentence each ("results ..., configuration ..."); [] if none."""
    out = []
    for ds, want in expected["datasets"].items():
        have = described["datasets"].get(ds)
        if have is None:
            out.append(f"{ds}: no cache in the results, the configuration uses it")
            continue
        if have["image_size"] != want["image_size"]:
            out.append(f"{ds} image size: results {_size(have['image_size'])}, "
                       f"configuration {_size(want['image_size'])}")
        if have["source"] != want["source"] or (
                want["root"] and Path(want["root"]).resolve() != Path(have["root"]).resolve()):
            out.append(f"{ds} data: results from {_source(have)}, "
                       f"configuration {_source(want)}")
    for key in ("protocols", "seeds"):
        if described[key] != expected[key]:
            out.append(f"{key}: results {_seq(described[key])}, "
                       f"configuration {_seq(expected[key])}")
    have_e, want_e = described["experiments"], expected["experiments"]
    missing = [n for n in want_e if n not in have_e]
    if missing:
        out.append(f"experiments without runs in the results: {_seq(missing)}")
    extra = [n for n in have_e if n not in want_e]
    if extra:
        out.append(f"experiments in the results but not in the configuration: {_seq(extra)}")
    for n in want_e:
        if n in have_e:
            for k in TRAINING_KEYS:
                if have_e[n].get(k) != want_e[n][k]:
                    out.append(f"{n} {k}: results {_seq(have_e[n].get(k, []))}, "
                               f"configuration {_seq(want_e[n][k])}")
    if described["engine_versions"] != expected["engine_versions"]:
        out.append(f"engine version: results {_seq(described['engine_versions'])}, "
                   f"this code {_seq(expected['engine_versions'])}")
    return out


def results_against_config(path, config, engine_version):
    """{"lines": the description of the results at `path` (description.json) as list
    lines, "mismatch": mismatches with `config`}; None if there is no such file or it
    cannot be read (the next run rewrites it)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        described = json.loads(path.read_text())
        return {"lines": lines(described),
                "mismatch": mismatches(described, expected_from_config(config, engine_version))}
    except (ValueError, KeyError, TypeError, AttributeError):  # an older or broken file:
        return None                                             # rebuilt by the next run


def lines(d):
    """The description as Markdown list lines (also valid reStructuredText)."""
    out = []
    for ds, v in d["datasets"].items():
        where = "a generated stand-in" if v["source"] != "real" else "real images"
        out.append(f"- {ds}: {where} from ``{v['root']}``, {v['images']} images of "
                   f"{_size(v['image_size'])} pixels ({v['skipped']} skipped)"
                   + _detail(v.get("detail"), v["source"] != "real"))
    st = ", ".join(f"{k} {n}" for k, n in d["status"].items())
    out.append(f"- runs: {d['runs']} ({st}); protocols {_seq(d['protocols'])}; "
               f"seeds {_seq(d['seeds'])}")
    for key, label in (("epochs", "epochs"), ("batch_size", "batch size"),
                       ("learning_rate", "learning rate")):
        vals = sorted({v for e in d["experiments"].values() for v in e.get(key, [])
                       if v is not None})
        out.append(f"- {label}: {_seq(vals)}")
    out.append(f"- experiments: {_seq(d['experiments'])}")
    out.append(f"- engine version: {_seq(d['engine_versions'])}")
    for e in d["environments"]:
        out.append(f"- environment: {e}")
    out += [f"- {line}" for line in d.get("blas_kernels", [])]
    if d.get("compute"):
        out.append(compute.line(d["compute"]))
    return out


def _detail(d, standin):
    """The images' detail at their size (pipeline.data.detail), flagged when low."""
    if not d:
        return ""
    text = f"; detail {d['median']:.1f} grey levels ({d['factor']}x round trip, median)"
    if d.get("low") and not standin:
        text += (f", LOW (below {d['low_below']:g}: probably enlarged from a smaller copy "
                 f"or blurred; docs/data.md#detail-check)")
    return text


def write_description(manifests, metrics, out_json, out_md):
    """results/description.json and .md from the caches' manifests and the runs."""
    d = describe_results(manifests, metrics)
    write_text(out_json, json.dumps(d, indent=1, sort_keys=True) + "\n")
    md = ["# What these results are", "",
          "Read from the cache manifests (results/data/) and the run folders "
          "(results/runs/), not from a configuration.", "", *lines(d), ""]
    if d["compute"]:
        md += ["## Compute", "",
               "Each training job's wall seconds and peak memory (its benchmark file in "
               "results/benchmarks/train/) and CPU seconds (the kernel's count at the end "
               "of its log; the benchmark file's, sampled, for older jobs), split by the "
               "run's own clocks "
               "into training, evaluation (validation curves and the test) and the rest "
               "(start-up, loading, writing).", "", *compute.table(d["compute"]), ""]
    write_text(out_md, "\n".join(md))
    return d
