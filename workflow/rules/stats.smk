# Stage 3: parameter statistics of each run (near-zero count, mean, variance, histogram).


rule run_stats:
    input:
        params=f"{RUN}/params.npz",
        metrics=f"{RUN}/metrics.json",
    output:
        f"{RUN}/stats.json",
    log:
        STATS_LOG,
    conda:
        "../envs/regstudy.yaml"
    threads: res("default", "threads")
    resources:
        **SITE_RESOURCES,
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    script:
        "../scripts/run_stats.py"
