# Stage 5: figures, one of each kind per table.


rule figure_curves:
    input:
        history=table_runs("history.csv"),
        metrics=table_runs("metrics.json"),
    output:
        report(
            "results/figures/curves_{table}.png",
            caption="../report/curves.rst",
            category="Figures",
            subcategory="Training curves",
            labels={"table": "{table}"},
        ),
    params:
        title=lambda w: cc.table_title(config, w.table),
        experiments=table_experiments,
    log:
        "results/logs/figures/curves_{table}.log",
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    conda:
        "../envs/regstudy.yaml"
    script:
        "../scripts/figure.py"


rule figure_histograms:
    input:
        stats=table_runs("stats.json", seeds=SEEDS[:1]),
    output:
        report(
            "results/figures/histograms_{table}.png",
            caption="../report/histograms.rst",
            category="Figures",
            subcategory="Parameter histograms",
            labels={"table": "{table}"},
        ),
    params:
        title=lambda w: cc.table_title(config, w.table),
        experiments=table_experiments,
    log:
        "results/logs/figures/histograms_{table}.log",
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    conda:
        "../envs/regstudy.yaml"
    script:
        "../scripts/figure.py"


rule figure_predictions:
    input:
        predictions=table_runs("predictions.npz", seeds=SEEDS[:1]),
        metrics=table_runs("metrics.json", seeds=SEEDS[:1]),
        data=lambda w: expand(
            "results/data/{dataset}.npz",
            dataset=sorted(
                {dataset_of(e) for e in cc.experiments_in_table(config, w.table)}
            ),
        ),
    output:
        report(
            "results/figures/predictions_{table}.png",
            caption="../report/predictions.rst",
            category="Figures",
            subcategory="Sample predictions",
            labels={"table": "{table}"},
        ),
    params:
        title=lambda w: cc.table_title(config, w.table),
        experiments=table_experiments,
        samples=3,
    log:
        "results/logs/figures/predictions_{table}.log",
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    conda:
        "../envs/regstudy.yaml"
    script:
        "../scripts/figure.py"


rule figure_accuracy:
    input:
        summary="results/tables/summary.csv",
    output:
        report(
            "results/figures/accuracy_{table}.png",
            caption="../report/accuracy.rst",
            category="Figures",
            subcategory="Accuracy comparison",
            labels={"table": "{table}"},
        ),
    params:
        title=lambda w: cc.table_title(config, w.table),
        experiments=table_experiments,
        protocols=PROTOCOLS,
    log:
        "results/logs/figures/accuracy_{table}.log",
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    conda:
        "../envs/regstudy.yaml"
    script:
        "../scripts/figure.py"
