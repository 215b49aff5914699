# The study's tables (our protocols beside the seed study's single run), the conclusions
# (paired statistics; no verdict on a generated stand-in) and the one-page summary.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # this checkout's src
import json

from pipeline.runtime.jobs import job

with job(snakemake):
    from pipeline.data.manifest import is_standin
    from pipeline.report import conclusions, tables

    spec = json.loads(snakemake.params.tables)
    protocols = list(snakemake.params.protocols)
    manifests = [json.loads(Path(p).read_text()) for p in snakemake.input.manifests]
    standin = {m["dataset"] for m in manifests if is_standin(m)}
    print(f"generated stand-ins (not judged): {sorted(standin) or 'none'}")
    # each output by its name: the params' JSON is key-sorted, the outputs are in config order
    for csv, md, html in zip(snakemake.output.csv, snakemake.output.md, snakemake.output.html):
        name = Path(csv).stem
        t = spec[name]
        tables.write_study_table(
            snakemake.input.summary, t["experiments"], protocols, t["title"], csv, md, html,
            runs_csv=snakemake.input.runs,
            standin=any(d["dataset"] in standin for d in t["experiments"]))
    conclusions.write_conclusions(
        snakemake.input.runs, spec, protocols, list(snakemake.params.seeds),
        out_md=snakemake.output.conclusions_md, out_html=snakemake.output.conclusions_html,
        out_csv=snakemake.output.conclusions_csv, standin=standin,
        margin=float(snakemake.params.margin))
    conclusions.write_summary(
        table_mds=list(snakemake.output.md), conclusions_md=snakemake.output.conclusions_md,
        protocols=protocols, seeds=list(snakemake.params.seeds), engine=snakemake.params.engine,
        settings=snakemake.params.settings, out=snakemake.output.summary_md, standin=standin,
        metrics=list(snakemake.input.metrics),
    )
