# Stage 4: aggregation over seeds and the study's tables, both protocols side by side.


rule collect_runs:
    input:
        metrics=runs("metrics.json"),
        history=runs("history.csv"),
        stats=runs("stats.json"),
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
    params:
        experiments=all_experiments_described(),
        protocols=PROTOCOLS,
        seeds=SEEDS,
    log:
        "results/logs/tables/collect_runs.log",
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    conda:
        "../envs/regstudy.yaml"
    script:
        "../scripts/collect_runs.py"


rule study_table:
    input:
        summary="results/tables/summary.csv",
    output:
        csv="results/tables/{table}.csv",
        md="results/tables/{table}.md",
        html=report(
            "results/tables/{table}.html",
            caption="../report/table.rst",
            category="Tables",
            subcategory="Study tables",
            labels={"table": "{table}"},
        ),
    params:
        title=lambda w: cc.table_title(config, w.table),
        experiments=table_experiments,
        protocols=PROTOCOLS,
    log:
        "results/logs/tables/{table}.log",
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    conda:
        "../envs/regstudy.yaml"
    script:
        "../scripts/study_table.py"


rule conclusions:
    input:
        summary="results/tables/summary.csv",
        runs="results/tables/runs.csv",
    output:
        md="results/tables/conclusions.md",
        html=report(
            "results/tables/conclusions.html",
            caption="../report/conclusions.rst",
            category="Tables",
            subcategory="Conclusions",
        ),
    params:
        experiments=all_experiments_described(),
        titles={t: cc.table_title(config, t) for t in TABLES},
        protocols=PROTOCOLS,
    log:
        "results/logs/tables/conclusions.log",
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    conda:
        "../envs/regstudy.yaml"
    script:
        "../scripts/conclusions.py"
