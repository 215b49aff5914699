# Stage 6: the report. `snakemake --report results/report.html` builds one self-contained
# HTML file from every output flagged with report() (the tables, the conclusions, the
# summary page, the figures), each with its caption from workflow/report/*.rst.
#
# What the results are (data sets, real or stand-in, image size, seeds, protocols, engine,
# environment) is read from the results, not from the configuration: rule describe writes
# results/description.{json,md} from the cache manifests and the runs' metrics.json. The
# front page shows that description, and every difference between it and the
# configuration given to this command (pipeline.analysis.describe.mismatches).
from pipeline.analysis import describe as _describe


rule describe:
    input:
        manifests=expand(MANIFEST, dataset=DATASETS),
        metrics=runs("metrics.json"),
    output:
        json="results/description.json",
        md=report(
            "results/description.md",
            caption="../report/description.rst",
            category="Summary",
        ),
    log:
        "results/logs/describe.log",
    conda:
        "../envs/regstudy.yaml"
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    script:
        "../scripts/describe.py"


# The results already in the working directory against this configuration (None before
# the first run). The front page's template sees only the config, so the check travels in
# it under a key that is not a setting (added after validation, read only by workflow.rst).
config["_results"] = _describe.results_against_config(
    "results/description.json", config, ENGINE_VERSION
)
if config["_results"] and config["_results"]["mismatch"]:
    print(
        "Note: the results in results/ were made with other settings than this "
        "configuration (a run rebuilds them; a report says so on its front page):\n  "
        + "\n  ".join(config["_results"]["mismatch"]),
        file=sys.stderr,
    )


report: "../report/workflow.rst"
