# Stage 6: the report. `snakemake --report results/report.html` collects every output
# flagged with report() (tables, figures, the summary below), each with its caption.


report: "../report/workflow.rst"


rule summary:
    input:
        tables=expand("results/tables/{table}.md", table=TABLES),
        conclusions="results/tables/conclusions.md",
    output:
        report(
            "results/summary.md",
            caption="../report/summary_md.rst",
            category="Summary",
        ),
    params:
        titles={t: cc.table_title(config, t) for t in TABLES},
        protocols=PROTOCOLS,
        seeds=SEEDS,
        engine=ENGINE_VERSION,
        settings=json.dumps(
            {
                k: config[k]
                for k in ("image_size", "training", "flowers_dir", "office31_dir")
            },
            sort_keys=True,
        ),
    log:
        "results/logs/summary.log",
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    conda:
        "../envs/regstudy.yaml"
    script:
        "../scripts/summary.py"
