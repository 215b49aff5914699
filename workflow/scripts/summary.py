# One Markdown page: settings, every table, the conclusions.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # this checkout's package
from pipeline.study.jobenv import log_to, pin_threads

pin_threads(snakemake.threads)
with log_to(snakemake.log[0]):
    from pipeline.study import tables

    tables.write_summary(
        table_mds=list(snakemake.input.tables),
        conclusions_md=snakemake.input.conclusions,
        protocols=list(snakemake.params.protocols),
        seeds=list(snakemake.params.seeds),
        engine=snakemake.params.engine,
        settings=snakemake.params.settings,
        out=snakemake.output[0],
    )
