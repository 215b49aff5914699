# Stage 4: aggregation over seeds, the study's tables (both protocols side by side) and
# the conclusions (paired statistics per table x protocol x head; a table on a generated
# stand-in, as its cache manifest says, gets no verdict).


rule collect_runs:
    input:
        metrics=waited_for(runs("metrics.json")),
        history=waited_for(runs("history.csv")),
        stats=waited_for(runs("stats.json")),
        failures=failure_records(),
    output:
        runs=report(
            "results/tables/runs.csv",
            caption="../report/runs.rst",
            category="Tables",
            subcategory="Data",
        ),
        summary=report(
            "results/tables/summary.csv",
            caption="../report/summary.rst",
            category="Tables",
            subcategory="Data",
        ),
    log:
        "results/logs/tables/collect_runs.log",
    conda:
        "../envs/regstudy.yaml"
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    params:
        experiments=all_experiments_described(),
    script:
        "../scripts/collect_runs.py"


rule study_tables:
    input:
        summary="results/tables/summary.csv",
        runs="results/tables/runs.csv",
        # the environment of the runs, for summary.md (failed runs have none)
        metrics=waited_for(runs("metrics.json")),
        manifests=expand(MANIFEST, dataset=DATASETS),
    output:
        csv=expand("results/tables/{table}.csv", table=TABLES),
        md=expand("results/tables/{table}.md", table=TABLES),
        html=[
            report(
                f"results/tables/{table}.html",
                caption="../report/table.rst",
                category="Tables",
                subcategory="Study tables",
                labels={"table": ex.table_title(config, table)},
            )
            for table in TABLES
        ],
        conclusions_md="results/tables/conclusions.md",
        conclusions_csv="results/tables/conclusions.csv",
        conclusions_html=report(
            "results/tables/conclusions.html",
            caption="../report/conclusions.rst",
            category="Tables",
            subcategory="Conclusions",
            labels={"table": "conclusions"},
        ),
        summary_md=report(
            "results/summary.md",
            caption="../report/summary_md.rst",
            category="Summary",
        ),
    log:
        "results/logs/tables/study_tables.log",
    conda:
        "../envs/regstudy.yaml"
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    params:
        tables=json.dumps(
            {
                t: {
                    "title": ex.table_title(config, t),
                    "experiments": [
                        ex.describe(config, e)
                        for e in ex.experiments_in_table(config, t)
                    ],
                }
                for t in TABLES
            },
            sort_keys=True,
        ),
        protocols=PROTOCOLS,
        seeds=SEEDS,
        margin=ex.equivalence_margin(config),
        engine=ENGINE_VERSION,
        settings=json.dumps(
            {
                k: config[k]
                for k in ("image_size", "training", "flowers_dir", "office31_dir")
            },
            sort_keys=True,
        ),
    script:
        "../scripts/study_tables.py"
