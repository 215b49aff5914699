# Stage 7: the regularization paths (config `sweeps`, docs/sweeps.md). Each sweep's points
# are ordinary experiments (expanded in common.smk) and its table is an ordinary study
# table; here, from runs.csv: the value chosen on validation accuracy per sweep, its test
# accuracy against the base (results/tables/sweeps.*), one path figure per sweep and one
# figure per data set and regularizer family with its paths side by side. SWEEPS,
# SWEEP_OVERVIEWS: common.smk.
rule sweeps:
    input:
        runs="results/tables/runs.csv",
    output:
        csv="results/tables/sweeps.csv",
        md="results/tables/sweeps.md",
        html=report(
            "results/tables/sweeps.html",
            caption="../report/sweeps_table.rst",
            category="Sweeps",
            subcategory="Selection",
            labels={"table": "sweeps"},
        ),
        paths=[
            report(
                f"results/figures/sweep_{name}.png",
                caption="../report/sweep_path.rst",
                category="Sweeps",
                subcategory="Paths",
                labels={"sweep": name, "figure": "path"},
            )
            for name in SWEEPS
        ],
        overview=[
            report(
                f"results/figures/sweeps_{group}.png",
                caption="../report/sweeps_dataset.rst",
                category="Sweeps",
                subcategory="Paths by family",
                labels={"sweep": f"all ({group})", "figure": "paths"},
            )
            for group in SWEEP_OVERVIEWS
        ],
    log:
        "results/logs/tables/sweeps.log",
    conda:
        "../envs/regstudy.yaml"
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    params:
        sweeps=json.dumps(SWEEPS),
        overviews=json.dumps(SWEEP_OVERVIEWS),
        protocols=PROTOCOLS,
    script:
        "../scripts/sweeps.py"
