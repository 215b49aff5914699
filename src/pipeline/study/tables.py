"""Aggregation of run folders into the study's tables.

* ``collect_runs``: one row per run (runs.csv), accuracies as fractions as the engine
  writes them, parameter statistics from each run's stats.json;
* ``summarize``: mean and sample standard deviation (ddof=1) over the seeds of each
  experiment x protocol, over the runs that did not diverge; diverged runs are counted;
* ``write_study_table``: one of the study's tables, the seed study's single number beside
  each protocol's mean +- std (CSV with numbers, Markdown and HTML formatted);
* ``write_conclusions``: which of the study's readings hold, per protocol.

A diverged run (metrics.json ``status: "diverged"``) is never dropped silently: its row
says so, the summary counts it, and the tables print "diverged".
"""
from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import provenance
from pipeline.atomic import write_text

STAT_KEYS = ("count", "near_zero", "near_zero_frac", "mean", "var", "std")
HEAD_ORDER = ("domain", "object")


# ---------------------------------------------------------------------------------------
# runs


def run_key(path):
    """(protocol, experiment, seed) of a file in results/runs/{protocol}/{experiment}/seed{seed}/."""
    p = Path(path)
    seed = p.parent.name
    return p.parent.parent.parent.name, p.parent.parent.name, int(seed[4:]) if seed.startswith("seed") else seed


def _num(x):
    if x is None:
        return math.nan
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _history_final(history_csv):
    """Final-epoch train/validation accuracies and the number of epochs recorded."""
    out = {"epochs_done": 0}
    try:
        h = pd.read_csv(history_csv)
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return out
    out["epochs_done"] = int(len(h))
    if not len(h):
        return out
    last = h.iloc[-1]
    for col in h.columns:
        if col.startswith(("train_acc", "val_acc")):
            out[col + "_final"] = _num(last[col])
    return out


def collect_runs(metrics_paths, history_paths, stats_paths, described):
    """One row per run. `described`: list of {experiment, dataset, table, regularizer, ...}."""
    info = {d["experiment"]: d for d in described}
    hist = {run_key(p): p for p in history_paths}
    stats = {run_key(p): p for p in stats_paths}
    rows = []
    for mp in metrics_paths:
        key = run_key(mp)
        protocol, experiment, seed = key
        m = json.loads(Path(mp).read_text())
        d = info.get(experiment, {})
        status = m.get("status", "ok")
        row = {
            "experiment": experiment,
            "protocol": protocol,
            "seed": seed,
            "status": status,
            "dataset": m.get("dataset") or d.get("dataset"),
            "table": d.get("table"),
            "regularizer": d.get("regularizer"),
            "error": m.get("error", "") if status != "ok" else "",
            "diverged_epoch": m.get("diverged_epoch", m.get("epoch")) if status != "ok" else None,
        }
        acc = m.get("test_accuracy")
        if isinstance(acc, dict):
            for head in sorted(acc, key=lambda h: (HEAD_ORDER.index(h) if h in HEAD_ORDER else 9, h)):
                row[f"acc_{head}"] = _num(acc[head])
        else:
            row["acc"] = _num(acc)
        row.update({k: _num(m.get(k)) for k in ("train_seconds", "eval_seconds")})
        spe = m.get("seconds_per_epoch") or []
        row["seconds_per_epoch"] = float(np.mean(spe)) if len(spe) else math.nan
        if key in hist:
            row.update(_history_final(hist[key]))
        s = json.loads(Path(stats[key]).read_text()) if key in stats else (m.get("params") or {})
        for k in STAT_KEYS:
            row["param_" + k if k == "count" else k] = _num(s.get(k))
        row["epochs"] = m.get("epochs")
        row["l1"] = _num(m.get("l1"))
        row["l2"] = _num(m.get("l2"))
        row["engine_version"] = m.get("engine_version", "")
        if status != "ok":  # no score for a diverged run, whatever it wrote
            for k in list(row):
                if k.startswith("acc"):
                    row[k] = math.nan
        rows.append(row)
    df = pd.DataFrame(rows)
    if len(df):
        order = {e: i for i, e in enumerate(info)}
        df["_o"] = df["experiment"].map(lambda e: order.get(e, len(order)))
        df = df.sort_values(["_o", "protocol", "seed"], kind="stable").drop(columns="_o")
        df = df.reset_index(drop=True)
    return df


def metric_columns(df):
    skip = {"seed", "diverged_epoch", "epochs", "l1", "l2"}
    return [c for c in df.columns if c not in skip and pd.api.types.is_numeric_dtype(df[c])]


def summarize(runs, described):
    """Mean and sample std (ddof=1) over seeds per experiment x protocol (ok runs only)."""
    info = {d["experiment"]: d for d in described}
    rows = []
    metrics = metric_columns(runs)
    for (experiment, protocol), g in runs.groupby(["experiment", "protocol"], sort=False):
        ok = g[g["status"] == "ok"]
        d = info.get(experiment, {})
        row = {
            "experiment": experiment,
            "protocol": protocol,
            "dataset": g["dataset"].iloc[0],
            "table": d.get("table", g["table"].iloc[0]),
            "regularizer": d.get("regularizer", g["regularizer"].iloc[0]),
            "n_runs": int(len(g)),
            "n_ok": int(len(ok)),
            "n_diverged": int((g["status"] == "diverged").sum()),
            "n_failed": int((~g["status"].isin(["ok", "diverged"])).sum()),
            "seeds": " ".join(str(s) for s in g["seed"]),
        }
        for c in metrics:
            v = ok[c].astype(float).dropna()
            row[c + "_mean"] = float(v.mean()) if len(v) else math.nan
            row[c + "_std"] = float(v.std(ddof=1)) if len(v) > 1 else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def write_csv(df, path):
    write_text(path, df.to_csv(index=False, float_format="%.6g"))


# ---------------------------------------------------------------------------------------
# formatting


def fmt_ms(mean, std, digits=1, scale=1.0):
    """'31.1 ± 2.0'; one value if there is no spread; '-' if there is nothing."""
    if mean is None or not math.isfinite(mean):
        return "-"
    s = f"{mean * scale:.{digits}f}"
    if std is not None and math.isfinite(std):
        s += f" ± {std * scale:.{digits}f}"
    return s


def _status_note(n_ok, n_div, n_runs):
    if n_runs == 0:
        return "no runs"
    if n_div and n_ok == 0:
        return f"diverged ({n_div}/{n_runs})"
    if n_div:
        return f"{n_div}/{n_runs} diverged"
    return ""


def _cell(row, metric, digits, scale=1.0):
    if row is None:
        return "-"
    n_ok, n_div, n_runs = int(row["n_ok"]), int(row["n_diverged"]), int(row["n_runs"])
    note = _status_note(n_ok, n_div, n_runs)
    if n_ok == 0:
        return note or "-"
    s = fmt_ms(row.get(metric + "_mean"), row.get(metric + "_std"), digits, scale)
    return f"{s} ({note})" if note else s


def _study(value, digits=1):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def _heads(summary_rows):
    heads = set()
    for r in summary_rows:
        if r is None:
            continue
        heads |= {k[4:-5] for k in r.index if k.startswith("acc_") and k.endswith("_mean")
                  and math.isfinite(r[k])}
    return sorted(heads, key=lambda h: (HEAD_ORDER.index(h) if h in HEAD_ORDER else 9, h))


def study_table(summary, described, protocols):
    """(numbers, display): the numeric CSV frame and the formatted frame of one table."""
    summary = summary.set_index(["experiment", "protocol"]) if len(summary) else summary
    nums, disp = [], []
    for d in described:
        e = d["experiment"]
        ss = d.get("seed_study") or {}
        per = {p: (summary.loc[(e, p)] if len(summary) and (e, p) in summary.index else None)
               for p in protocols}
        dual = d.get("dataset") == "office31" or any(
            r is not None and "acc_domain_mean" in r.index and math.isfinite(r["acc_domain_mean"])
            for r in per.values())
        n = {"experiment": e, "regularizer": d.get("regularizer"), "dataset": d.get("dataset"),
             "study_run": ss.get("run", "")}
        f = {"experiment": e, "regularizer": d.get("regularizer")}
        # accuracy (in %)
        if dual:
            n["study_acc_domain"] = ss.get("accuracy_domain")
            n["study_acc_object"] = ss.get("accuracy_object")
            f["test acc % (domain+object): seed study"] = (
                f"{_study(ss.get('accuracy_domain'))}+{_study(ss.get('accuracy_object'))}"
                if "accuracy_domain" in ss else "-")
        else:
            n["study_acc"] = ss.get("accuracy")
            f["test acc %: seed study"] = _study(ss.get("accuracy"))
        for p in protocols:
            r = per[p]
            n[f"{p}_n_runs"] = int(r["n_runs"]) if r is not None else 0
            n[f"{p}_n_ok"] = int(r["n_ok"]) if r is not None else 0
            n[f"{p}_n_diverged"] = int(r["n_diverged"]) if r is not None else 0
            n[f"{p}_status"] = (_status_note(n[f"{p}_n_ok"], n[f"{p}_n_diverged"], n[f"{p}_n_runs"])
                                or "ok")
            metrics = ["acc_domain", "acc_object"] if dual else ["acc"]
            for m in metrics:
                for stat in ("mean", "std"):
                    v = r.get(f"{m}_{stat}") if r is not None else None
                    n[f"{p}_{m}_{stat}"] = v * 100 if v is not None and math.isfinite(v) else math.nan
            if dual:
                if r is None or int(r["n_ok"]) == 0:
                    f[f"test acc %: {p}"] = _cell(r, "acc_domain", 1, 100)
                else:
                    f[f"test acc %: {p}"] = (fmt_ms(r["acc_domain_mean"], r["acc_domain_std"], 1, 100)
                                            + " + " + _cell(r, "acc_object", 1, 100))
            else:
                f[f"test acc %: {p}"] = _cell(r, "acc", 1, 100)
        # train time
        n["study_train_seconds"] = ss.get("train_seconds")
        f["train s: seed study"] = _study(ss.get("train_seconds"), 0) if "train_seconds" in ss else "-"
        for p in protocols:
            r = per[p]
            for stat in ("mean", "std"):
                n[f"{p}_train_seconds_{stat}"] = r.get(f"train_seconds_{stat}") if r is not None else math.nan
            f[f"train s: {p}"] = _cell(r, "train_seconds", 1)
        # parameter statistics
        n["study_near_zero"] = ss.get("near_zero")
        n["study_near_zero_pct"] = ss.get("near_zero_pct")
        n["study_mean"] = ss.get("mean")
        n["study_sigma"] = ss.get("variance")
        f["near-0 params: seed study"] = (
            f"{ss['near_zero']:,} ({ss.get('near_zero_pct', math.nan):.1f}%)" if "near_zero" in ss else "-")
        for p in protocols:
            r = per[p]
            for stat in ("mean", "std"):
                for m in ("param_count", "near_zero", "near_zero_frac", "mean", "var", "std"):
                    v = r.get(f"{m}_{stat}") if r is not None else math.nan
                    n[f"{p}_{m}_{stat}"] = v
            f[f"near-0 %: {p}"] = _cell(r, "near_zero_frac", 1, 100)
        f["mean: seed study"] = _study(ss.get("mean"), 3) if "mean" in ss else "-"
        for p in protocols:
            f[f"mean: {p}"] = _cell(per[p], "mean", 3)
        f["sigma: seed study"] = _study(ss.get("variance"), 3) if "variance" in ss else "-"
        for p in protocols:
            f[f"sigma: {p}"] = _cell(per[p], "std", 3)
        nums.append(n)
        disp.append(f)
    return pd.DataFrame(nums), pd.DataFrame(disp)


def to_markdown(df):
    cols = list(df.columns)
    esc = lambda v: str(v).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(esc(c) for c in cols) + " |",
             "|" + "|".join("---" for _ in cols) + "|"]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(esc(r[c]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


HTML_STYLE = (
    "body{font-family:sans-serif;margin:1em}table{border-collapse:collapse;font-size:90%}"
    "th,td{border:1px solid #bbb;padding:3px 6px;text-align:right}th{background:#eee}"
    "td:first-child,td:nth-child(2){text-align:left}"
)


def to_html_page(title, df, notes=()):
    body = df.to_html(index=False, escape=True, border=0, na_rep="-")
    notes_html = "".join(f"<p>{html.escape(n)}</p>" for n in notes)
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{HTML_STYLE}</style></head><body><h2>{html.escape(title)}</h2>\n{body}\n"
            f"{notes_html}</body></html>\n")


def table_notes(summary, described, protocols):
    names = {d["experiment"] for d in described}
    sub = summary[summary["experiment"].isin(names)] if len(summary) else summary
    seeds = sorted({s for v in sub.get("seeds", []) for s in str(v).split()}, key=lambda s: (len(s), s))
    notes = [
        f"Our runs: mean ± sample standard deviation over the seeds {', '.join(seeds) or '-'} "
        f"(protocols: {', '.join(protocols)}); the seed study's numbers are single runs at 96x96, "
        "10 epochs.",
        "near-0 = share of weights and kernels with |w| <= 1e-5; sigma = their standard deviation "
        "(the seed study's 'variance' column is this sigma). Biases and batch-norm parameters are "
        "excluded.",
    ]
    if len(sub) and int(sub["n_diverged"].sum()):
        notes.append(f"diverged: {int(sub['n_diverged'].sum())} run(s) whose cost became NaN; they are "
                     "left out of the means and counted in the cells.")
    return notes


def write_study_table(summary_csv, described, protocols, title, out_csv, out_md, out_html):
    summary = pd.read_csv(summary_csv)
    nums, disp = study_table(summary, described, protocols)
    notes = table_notes(summary, described, protocols)
    write_csv(nums, out_csv)
    write_text(out_md, f"## {title}\n\n" + to_markdown(disp) + "\n" + "\n\n".join(notes) + "\n")
    write_text(out_html, to_html_page(title, disp, notes))
    return nums, disp


# ---------------------------------------------------------------------------------------
# conclusions


def _primary(dual):
    return ["acc_domain", "acc_object"] if dual else ["acc"]


def _verdict(diff, se, study_diff, n_min):
    if not math.isfinite(diff):
        return "no data"
    if n_min < 2 or not math.isfinite(se):
        return "one seed: cannot tell"
    significant = abs(diff) > 2 * se
    if study_diff is None or not math.isfinite(study_diff):
        return "differs (> 2 SE)" if significant else "within noise"
    if not significant:
        return "within noise" if abs(study_diff) > 0 else "holds (no difference)"
    return "holds" if np.sign(diff) == np.sign(study_diff) else "reversed"


def conclusions(summary, described, titles, protocols):
    """Rows: table, protocol, head, experiment, diff to baseline, SE, study diff, verdict;
    plus best/worst per table, protocol and head."""
    S = summary.set_index(["experiment", "protocol"]) if len(summary) else summary
    rows, rank = [], []
    by_table = {}
    for d in described:
        by_table.setdefault(d.get("table"), []).append(d)
    for table, ds in by_table.items():
        base = next((d for d in ds if (d.get("regularizer") or "").lower() == "none"), ds[0])
        dual = any(d.get("dataset") == "office31" for d in ds)
        for head in _primary(dual):
            skey = {"acc": "accuracy", "acc_domain": "accuracy_domain", "acc_object": "accuracy_object"}[head]
            study = {d["experiment"]: (d.get("seed_study") or {}).get(skey) for d in ds}
            known = {e: v for e, v in study.items() if v is not None}
            study_best = max(known, key=known.get) if known else None
            study_worst = min(known, key=known.get) if known else None
            for p in protocols:
                def get(e, col):
                    if not len(S) or (e, p) not in S.index:
                        return math.nan
                    v = S.loc[(e, p)].get(col)
                    return float(v) if v is not None else math.nan
                means = {d["experiment"]: get(d["experiment"], head + "_mean") for d in ds}
                ok = {e: v for e, v in means.items() if math.isfinite(v)}
                best = max(ok, key=ok.get) if ok else None
                worst = min(ok, key=ok.get) if ok else None
                diverged = [d["experiment"] for d in ds if get(d["experiment"], "n_diverged") > 0]
                rank.append({
                    "table": table, "title": titles.get(table, table), "protocol": p, "head": head,
                    "study_best": study_best, "best": best,
                    "best_agrees": (best == study_best) if study_best and best else None,
                    "study_worst": study_worst, "worst": worst,
                    "worst_agrees": (worst == study_worst) if study_worst and worst else None,
                    "ranking": " > ".join(f"{e} ({ok[e] * 100:.1f})" for e in sorted(ok, key=ok.get, reverse=True)),
                    "diverged": " ".join(diverged),
                })
                b = base["experiment"]
                for d in ds:
                    e = d["experiment"]
                    if e == b:
                        continue
                    m_e, m_b = get(e, head + "_mean"), get(b, head + "_mean")
                    s_e, s_b = get(e, head + "_std"), get(b, head + "_std")
                    n_e, n_b = get(e, "n_ok"), get(b, "n_ok")
                    diff = (m_e - m_b) * 100
                    se = math.sqrt(s_e ** 2 / n_e + s_b ** 2 / n_b) * 100 if min(n_e, n_b) >= 2 else math.nan
                    sd = (study[e] - study[b]) if study.get(e) is not None and study.get(b) is not None else None
                    rows.append({
                        "table": table, "protocol": p, "head": head, "experiment": e, "baseline": b,
                        "diff_pts": diff, "se_pts": se, "study_diff_pts": sd,
                        "verdict": ("diverged" if get(e, "n_ok") == 0 and get(e, "n_diverged") > 0
                                    else _verdict(diff, se, sd, min(n_e, n_b) if math.isfinite(min(n_e, n_b)) else 0)),
                    })
    return pd.DataFrame(rank), pd.DataFrame(rows)


def write_conclusions(summary_csv, runs_csv, described, titles, protocols, out_md, out_html):
    summary = pd.read_csv(summary_csv)
    rank, diffs = conclusions(summary, described, titles, protocols)
    md = ["# Which of the seed study's conclusions hold", ""]
    md.append("Accuracy differences are in percentage points against each table's unregularized "
              "baseline, with the standard error over seeds (SE). 'holds': same sign as the seed "
              "study and larger than 2 SE; 'reversed': opposite sign and larger than 2 SE; "
              "'within noise': not larger than 2 SE.")
    md.append("")
    html_parts = []
    for table in dict.fromkeys(rank["table"]) if len(rank) else []:
        title = titles.get(table, table)
        md += [f"## {title}", ""]
        r = rank[rank["table"] == table][["protocol", "head", "study_best", "best", "study_worst", "worst",
                                          "ranking", "diverged"]]
        md.append(to_markdown(r))
        dd = diffs[diffs["table"] == table] if len(diffs) else diffs
        if len(dd):
            show = dd[["protocol", "head", "experiment", "baseline"]].copy()
            show["diff (pts)"] = [f"{x:+.1f}" if math.isfinite(x) else "-" for x in dd["diff_pts"]]
            show["SE"] = [f"{x:.1f}" if math.isfinite(x) else "-" for x in dd["se_pts"]]
            show["seed study diff"] = [f"{x:+.1f}" if x is not None and math.isfinite(x) else "-"
                                       for x in dd["study_diff_pts"]]
            show["verdict"] = dd["verdict"].values
            md.append(to_markdown(show))
        else:
            show = None
        html_parts.append((title, r, show))
    write_text(out_md, "\n".join(md) + "\n")
    body = ""
    for title, r, show in html_parts:
        body += f"<h3>{html.escape(title)}</h3>" + r.to_html(index=False, border=0, na_rep="-")
        if show is not None:
            body += show.to_html(index=False, border=0, na_rep="-")
    write_text(out_html, (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Conclusions</title>"
        f"<style>{HTML_STYLE}</style></head><body><h2>Which of the seed study's conclusions hold</h2>"
        f"<p>{html.escape(md[2])}</p>{body}</body></html>\n"))
    return rank, diffs


def write_summary(table_mds, conclusions_md, protocols, seeds, engine, settings, out, metrics=()):
    s = json.loads(settings) if isinstance(settings, str) else settings
    tr = s.get("training", {})
    parts = [
        "# The regularizer study, rerun",
        "",
        f"- protocols: {', '.join(protocols)}; seeds: {', '.join(map(str, seeds))}",
        f"- engine version: {engine}",
        f"- images {s.get('image_size')}x{s.get('image_size')}; {tr.get('epochs')} epochs, batch size "
        f"{tr.get('batch_size')}, Adam, learning rate {tr.get('learning_rate')}",
        f"- flowers: {s.get('flowers_dir') or 'generated stand-in'}; "
        f"Office-31: {s.get('office31_dir') or 'generated stand-in'}",
        *provenance.summary_lines(metrics),
        "",
    ]
    for p in table_mds:
        parts.append(Path(p).read_text())
    concl = Path(conclusions_md).read_text().replace("\n## ", "\n### ")
    parts.append(concl.replace("# Which", "## Which", 1))
    write_text(out, "\n".join(parts))
