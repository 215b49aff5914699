# The study's tables (our protocols beside the seed study's single run), the conclusions
# check and the one-page summary.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # this checkout's src
import json

from pipeline.study.jobenv import log_to, pin_threads

pin_threads(snakemake.threads)
with log_to(snakemake.log[0]):
    from pipeline.study import tables

    spec = json.loads(snakemake.params.tables)
    protocols = list(snakemake.params.protocols)
    described = []
    for (name, t), csv, md, html in zip(spec.items(), snakemake.output.csv, snakemake.output.md,
                                        snakemake.output.html):
        assert Path(csv).stem == name, (csv, name)
        tables.write_study_table(snakemake.input.summary, t["experiments"], protocols, t["title"],
                                 csv, md, html)
        described += t["experiments"]
    tables.write_conclusions(
        summary_csv=snakemake.input.summary, runs_csv=snakemake.input.runs, described=described,
        titles={n: t["title"] for n, t in spec.items()}, protocols=protocols,
        out_md=snakemake.output.conclusions_md, out_html=snakemake.output.conclusions_html,
    )
    tables.write_summary(
        table_mds=list(snakemake.output.md), conclusions_md=snakemake.output.conclusions_md,
        protocols=protocols, seeds=list(snakemake.params.seeds), engine=snakemake.params.engine,
        settings=snakemake.params.settings, out=snakemake.output.summary_md,
        metrics=list(snakemake.input.metrics),
    )
